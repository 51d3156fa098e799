import { MiyabiError } from '../errors.js';

// What the file system says when the state folder cannot be used as one: a file or folder in the
// way, no permission, an immutable or read-only file system.
const WHY: Readonly<Record<string, string>> = {
  EISDIR: 'it is a folder where a file belongs',
  ENOTDIR: 'a part of its path is a file where a folder belongs',
  EEXIST: 'it is a file where a folder belongs',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted (an immutable or protected folder)',
  EROFS: 'the file system is read-only',
  ELOOP: 'a symbolic link loop is in the way',
};

/** True for a file system error that {@link stateUnavailable} turns into `STATE_UNAVAILABLE`. */
export function isStateUnavailable(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && code in WHY;
}

/**
 * The state folder's file system errors (`EISDIR`, `ENOTDIR`, `EPERM`, ...) as a
 * `STATE_UNAVAILABLE` error naming `path` and the folder to repair; anything else is returned as is.
 */
export function stateUnavailable(error: unknown, path: string, stateDir: string): unknown {
  if (!isStateUnavailable(error)) return error;
  const code = (error as NodeJS.ErrnoException).code as string;
  return new MiyabiError('STATE_UNAVAILABLE', `cannot use ${path}: ${WHY[code]} (${code})`, {
    cause: error,
    hint: `miyabi-worktree keeps its state in ${stateDir}: make it a folder this user can write (move aside whatever is in the way), then try again.`,
    details: { path, stateDir, errno: code },
  });
}

/** Runs `fn`, turning the state folder's file system errors into `STATE_UNAVAILABLE`. */
export async function withStateErrors<T>(path: string, stateDir: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw stateUnavailable(error, path, stateDir);
  }
}
