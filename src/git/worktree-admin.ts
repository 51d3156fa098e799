import { readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';

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
