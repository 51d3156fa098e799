import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import { MiyabiError } from '../../index.js';

/**
 * Refuses a command whose program is not there, before any worktree is made: a bare name must be
 * an executable file in a `PATH` folder (as `spawn` looks it up), an absolute path an executable
 * file. A relative path with a folder (`./x.sh`) or a placeholder is found only in the worktree.
 *
 * @throws MiyabiError `COMMAND_NOT_FOUND` naming the program and the `PATH` searched.
 */
export async function assertCommandExists(
  program: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<void> {
  if (program.includes('{')) return;
  if (isAbsolute(program)) {
    if (await isExecutableFile(program)) return;
    throw notFound(program, `${program} is not an executable file`);
  }
  if (program.includes('/')) return;
  const folders = (env.PATH ?? '').split(delimiter).filter((folder) => folder !== '');
  for (const folder of folders) {
    if (await isExecutableFile(join(folder, program))) return;
  }
  throw notFound(program, `${program} is in no folder of PATH`);
}

async function isExecutableFile(path: string): Promise<boolean> {
  const found = await stat(path).catch(() => undefined);
  if (!found?.isFile()) return false;
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

function notFound(program: string, why: string): MiyabiError {
  return new MiyabiError('COMMAND_NOT_FOUND', `command not found: ${why}; nothing was started`, {
    hint: 'Check the command after --: install it, or give its full path.',
    details: { command: program },
  });
}
