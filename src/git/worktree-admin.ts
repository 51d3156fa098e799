import { readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';

/**
 * The lock of a linked worktree whose admin folder is `<commonDir>/worktrees/<name>` (git names it
 * after the folder's basename), readable even when the worktree's folder is gone.
 */
export async function readAdminLockReason(commonDir: string, name: string): Promise<string | undefined> {
  return readFile(join(commonDir, 'worktrees', name, 'locked'), 'utf8').then(
    (text) => text.trim(),
    () => undefined,
  );
}

/**
 * The lock of a linked worktree, read from its admin folder (`.git` file -> gitdir -> `locked`)
 * without spawning git. `undefined` when the worktree is not locked or its folder is gone.
 */
export async function readWorktreeLockReason(worktreePath: string): Promise<string | undefined> {
  let pointer: string;
  try {
    pointer = await readFile(join(worktreePath, '.git'), 'utf8');
  } catch {
    return undefined;
  }
  const match = /^gitdir: (.+)$/m.exec(pointer);
  if (!match?.[1]) return undefined;
  const adminDir = isAbsolute(match[1]) ? match[1] : resolve(worktreePath, match[1]);
  try {
    return (await readFile(join(adminDir, 'locked'), 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/** Prefix of the `git worktree lock` reason this tool writes, so others' pruning leaves ours alone. */
export const OWN_LOCK_PREFIX = 'miyabi-worktree';

/** The reason our worktrees are locked with: who owns them (`git worktree list` shows it). */
export function ownLockReason(owner: { readonly pid: number; readonly host: string }): string {
  return `${OWN_LOCK_PREFIX} pid=${owner.pid} host=${owner.host}`;
}

/** True for a lock this tool took (not one a user or another tool set). */
export function isOwnLock(reason: string | undefined): boolean {
  return reason?.startsWith(`${OWN_LOCK_PREFIX} pid=`) ?? false;
}
