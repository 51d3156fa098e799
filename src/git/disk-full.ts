import { statfs } from 'node:fs/promises';
import { MiyabiError } from '../errors.js';

// Below this much space for unprivileged writes, a git "unable to write" is a full disk.
const FULL_BELOW_BYTES = 4 * 1024 * 1024;

/**
 * A git failure that a full disk caused, said plainly: git often reports only `error: unable to
 * write file x`, so the message gets "No space left on device" (with the space left on the disk
 * holding `path`) and the hint says what to do. Call it before any rollback frees space again.
 * Anything else is returned as is.
 */
export async function explainDiskFull(error: unknown, path: string): Promise<unknown> {
  if (!(error instanceof MiyabiError) || !error.git) return error;
  const { stderr } = error.git;
  const saysSo = /No space left on device|ENOSPC/i.test(stderr);
  if (!saysSo && !/unable to write|write error|short write|failed to write|could not write/i.test(stderr))
    return error;
  const free = await statfs(path).then(
    (stats) => stats.bavail * stats.bsize,
    () => undefined,
  );
  if (!saysSo && (free === undefined || free >= FULL_BELOW_BYTES)) return error;
  const room = free === undefined ? '' : ` (${formatBytes(free)} free on the disk holding ${path})`;
  const message = /No space left on device/i.test(error.message)
    ? `${error.message}${room}`
    : `${error.message}: No space left on device${room}`;
  return new MiyabiError(error.code, message, {
    cause: error,
    git: error.git,
    hint: `The disk holding ${path} is full: free some space there, then try again. What this call wrote was undone.`,
    ...(error.details ? { details: error.details } : {}),
  });
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
