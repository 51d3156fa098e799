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
  const filePath = join(repoRoot, CONFIG_FILE_NAME);
  const packagePath = join(repoRoot, 'package.json');
  const fileText = await readOptional(filePath, CONFIG_FILE_NAME);
  if (fileText !== null) {
    const data = await parseJsonText(fileText, CONFIG_FILE_NAME);
    const { parseConfig } = await import('./config-schema.js');
    const config = parseConfig(data, CONFIG_FILE_NAME);
    const warnings = (await packageHasKey(packagePath))
      ? [`package.json "${PACKAGE_JSON_KEY}" is ignored because ${CONFIG_FILE_NAME} exists`]
      : [];
    return { config, source: filePath, warnings };
  }
  const packageText = await readOptional(packagePath, 'package.json');
  if (packageText === null) return { config: DEFAULT_CONFIG, source: null, warnings: [] };
  const manifest = await parseJsonText(packageText, 'package.json');
  if (!isRecord(manifest) || !(PACKAGE_JSON_KEY in manifest)) {
    return { config: DEFAULT_CONFIG, source: null, warnings: [] };
  }
  const { parseConfig } = await import('./config-schema.js');
  const config = parseConfig(manifest[PACKAGE_JSON_KEY], 'package.json', [PACKAGE_JSON_KEY]);
  return { config, source: packagePath, warnings: [] };
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

async function packageHasKey(path: string): Promise<boolean> {
  try {
    const manifest: unknown = JSON.parse(await readFile(path, 'utf8'));
    return isRecord(manifest) && PACKAGE_JSON_KEY in manifest;
  } catch {
    // Only used for a warning: an unreadable package.json does not matter here.
    return false;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
