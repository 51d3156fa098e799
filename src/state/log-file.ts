import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Mode of a log file: it holds command output (tokens, paths), so only the owner reads it. */
export const LOG_FILE_MODE = 0o600;
/** Mode of a folder created for log files. */
export const LOG_DIR_MODE = 0o700;

/**
 * Creates `path` (and its missing folders, mode 0700) as an empty log file with mode 0600 whatever
 * the umask, or sets 0600 on an existing one; later appends keep the mode. Call it before the
 * first write to a log file. Returns `path`.
 */
export async function openLogFile(path: string): Promise<string> {
  await mkdir(dirname(path), { recursive: true, mode: LOG_DIR_MODE });
  const handle = await open(path, 'a', LOG_FILE_MODE);
  try {
    // open's mode is masked by the umask and ignored for an existing file: set it explicitly.
    await handle.chmod(LOG_FILE_MODE);
  } finally {
    await handle.close();
  }
  return path;
}
