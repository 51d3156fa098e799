import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { MiyabiError } from '../index.js';

/**
 * Checks where an HTML report is to be written, before any work starts: its folder must exist and
 * be writable, and the path must not be a folder (an existing file is replaced). Returns the
 * absolute path. `INVALID_ARGUMENT` naming `optionName` otherwise; nothing is created.
 */
export async function checkHtmlReportPath(file: string, optionName = 'html'): Promise<string> {
  const refuse = (problem: string, hint: string, cause?: unknown) =>
    new MiyabiError('INVALID_ARGUMENT', `${optionName}: ${file} ${problem}`, {
      hint,
      details: { option: optionName, path: file },
      ...(cause !== undefined ? { cause } : {}),
    });
  if (typeof file !== 'string' || file.trim() === '') {
    throw new MiyabiError('INVALID_ARGUMENT', `${optionName} needs a file path`, {
      hint: 'e.g. report.html',
      details: { option: optionName },
    });
  }
  const path = resolve(file);
  const found = await stat(path).catch((error: NodeJS.ErrnoException) => error);
  if (!(found instanceof Error) && found.isDirectory()) {
    throw refuse('is a folder', 'Name a file inside it, e.g. <folder>/report.html.');
  }
  const folder = dirname(path);
  const parent = await stat(folder).catch((error: NodeJS.ErrnoException) => error);
  if (parent instanceof Error) {
    if (parent.code === 'ENOENT') {
      throw refuse(
        `is in a folder that does not exist (${folder})`,
        'Create the folder first, or name a file in an existing one.',
        parent,
      );
    }
    throw refuse(
      `cannot be written (${parent.message})`,
      'Name a file in a folder you can write to.',
      parent,
    );
  }
  if (!parent.isDirectory())
    throw refuse(`is inside a file, not a folder (${folder})`, 'Name a file in a folder.');
  await access(folder, constants.W_OK | constants.X_OK).catch((error: unknown) => {
    throw refuse(
      `cannot be written: ${folder} is not writable`,
      'Name a file in a folder you can write to.',
      error,
    );
  });
  return path;
}
