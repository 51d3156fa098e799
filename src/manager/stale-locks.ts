import type { StaleLockInfo } from '../core/types.js';
import type { GitWorktreeEntry } from '../git/worktree-list.js';
import { listGitWorktrees } from '../git/worktree-list.js';
import { safeLog } from '../log.js';
import { reclaimStaleGitLocks } from '../state/stale-git-locks.js';
import type { ManagerContext } from './context.js';

/**
 * Deletes the `*.lock` files a killed git process left in the repository (a dry run only finds
 * them); kept while any git process runs in one of its checkouts. The caller holds the repository
 * lock unless dry-running, so no git process of ours is writing. Each one is logged.
 */
export async function reclaimStaleLocks(
  ctx: ManagerContext,
  options: { dryRun: boolean; worktrees?: readonly GitWorktreeEntry[] },
): Promise<StaleLockInfo[]> {
  const worktrees = options.worktrees ?? (await listGitWorktrees(ctx.repo.root).catch(() => []));
  const repoFolders = [ctx.repo.root, ctx.repo.commonDir, ...worktrees.map((entry) => entry.path)];
  const locks = await reclaimStaleGitLocks(ctx.repo.commonDir, { repoFolders, dryRun: options.dryRun });
  for (const lock of locks) safeLog(ctx.logger, 'warn', { ...lock }, 'stale git lock file');
  return locks;
}

/** Under the repository lock: deletes the stale lock files; true when there were any (a merge then tries again). */
export async function reclaimedAny(ctx: ManagerContext): Promise<boolean> {
  return (await reclaimStaleLocks(ctx, { dryRun: false })).some((lock) => lock.action === 'removed');
}
