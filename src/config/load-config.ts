import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MiyabiError } from '../errors.js';
import { CONFIG_FILE_NAME, DEFAULT_CONFIG, type LoadedConfig, PACKAGE_JSON_KEY } from './config-types.js';
import { parseJsonText } from './parse-json-text.js';

/**
 * Reads the configuration of the repository at `repoRoot` (the main worktree root).
 *
 * Looks for `miyabi-worktree.config.json`, else a `"miyabi-worktree"` key in `package.json`. When
 * both exist the dedicated file wins and the key is ignored (a warning says so). Neither → the
 * defaults and `source: null`. The validator (zod) is loaded only when there is something to validate.
 *
 * @throws MiyabiError `INVALID_CONFIG` naming the file, and the key path or the JSON position.
 */
export async function loadConfig(repoRoot: string): Promise<LoadedConfig> {
  return loadConfigFrom(
    (name) => readOptional(join(repoRoot, name), name),
    (name) => join(repoRoot, name),
  );
}

/**
 * {@link loadConfig} over any source of the two files: `read` gives a file's text, or null when it
 * does not exist (a queue worker reads them at a job's commit); `where` names it as the `source`.
 */
export async function loadConfigFrom(
  read: (name: string) => Promise<string | null>,
  where: (name: string) => string,
): Promise<LoadedConfig> {
  const fileText = await read(CONFIG_FILE_NAME);
  const packageText = await read('package.json');
  if (fileText !== null) {
    const data = await parseJsonText(fileText, CONFIG_FILE_NAME);
    const { parseConfig } = await import('./config-schema.js');
    const config = parseConfig(data, CONFIG_FILE_NAME);
    const warnings =
      packageText !== null && textHasKey(packageText)
        ? [`package.json "${PACKAGE_JSON_KEY}" is ignored because ${CONFIG_FILE_NAME} exists`]
        : [];
    return { config, source: where(CONFIG_FILE_NAME), warnings };
  }
  if (packageText === null) return { config: DEFAULT_CONFIG, source: null, warnings: [] };
  const manifest = await parseJsonText(packageText, 'package.json');
  if (!isRecord(manifest) || !(PACKAGE_JSON_KEY in manifest)) {
    return { config: DEFAULT_CONFIG, source: null, warnings: [] };
  }
  const { parseConfig } = await import('./config-schema.js');
  const config = parseConfig(manifest[PACKAGE_JSON_KEY], 'package.json', [PACKAGE_JSON_KEY]);
  return { config, source: where('package.json'), warnings: [] };
}

async function readOptional(path: string, label: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new MiyabiError('INVALID_CONFIG', `${label}: cannot be read: ${(error as Error).message}`, {
      cause: error,
      hint: `Make ${label} a readable file, or remove it.`,
      details: { file: label },
    });
  }
}

function textHasKey(text: string): boolean {
  try {
    const manifest: unknown = JSON.parse(text);
    return isRecord(manifest) && PACKAGE_JSON_KEY in manifest;
  } catch {
    // Only used for a warning: an unreadable package.json does not matter here.
    return false;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
