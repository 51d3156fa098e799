import { readdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isMiyabiError } from '../errors.js';
import { runGit } from '../git/run-git.js';
import { safeLog } from '../log.js';
import { isOwnerAlive } from '../state/owner.js';
import { reclaimStaleGitLocks } from '../state/stale-git-locks.js';
import type { ManagerContext } from './context.js';
import { readWorktrees, reconcileVanished } from './list-worktrees.js';
import { planRemoval, removeWorktree } from './remove-worktree.js';
import type { CleanupReport, RemoveResult } from './types.js';

const OUR_FOLDER = /^issue-\d+-[0-9a-f]{8}$/;

/**
 * Removes every worktree this tool created (archiving whatever would be lost), reconciles vanished
 * ones and reclaims what a crashed process left in our folder. Worktrees of live processes that are
 * still `active`, and worktrees this tool did not create, are left alone. `dryRun` reports only.
 */
export async function cleanupAll(
  ctx: ManagerContext,
  options: { dryRun?: boolean; signal?: AbortSignal } = {},
): Promise<CleanupReport> {
  const dryRun = options.dryRun ?? false;
  const { live, vanished, git } = await readWorktrees(ctx, options.signal);
  const removed: RemoveResult[] = [];
  const skipped: { id: string; path: string; reason: string }[] = [];
  const gone = !dryRun && vanished.length > 0 ? await reconcileVanished(ctx, vanished) : vanished;
  const reconciled = gone.map(({ record, reason }) => ({ id: record.id, path: record.path, reason }));

  for (const record of live) {
    options.signal?.throwIfAborted();
    // Another live process is working in it right now; its own cleanup will handle it.
    if (record.status === 'active' && record.owner.pid !== process.pid && isOwnerAlive(record.owner)) {
      skipped.push({
        id: record.id,
        path: record.path,
        reason: `active in live process ${record.owner.pid}`,
      });
      continue;
    }
    try {
      removed.push(dryRun ? await planRemoval(ctx, record) : await removeWorktree(ctx, record.id, {}));
    } catch (error) {
      const reason = isMiyabiError(error) ? `${error.code}: ${error.message}` : String(error);
      skipped.push({ id: record.id, path: record.path, reason });
    }
  }

  // Admin entries in our folder with no record: a process died between `worktree add` and the registry write.
  const known = new Set([...live, ...vanished.map((v) => v.record)].map((r) => r.path));
  const orphans = git.filter(
    (entry) => !entry.isMain && entry.path.startsWith(`${ctx.worktreeDir}/`) && !known.has(entry.path),
  );
  for (const entry of orphans) {
    const name = entry.path.slice(ctx.worktreeDir.length + 1);
    if (!OUR_FOLDER.test(name)) continue;
    if (!dryRun && !(await reclaimOrphan(ctx, entry.path))) continue;
    reconciled.push({
      id: name,
      path: entry.path,
      reason: 'left by an interrupted create (no registry record)',
    });
  }
  if (!dryRun) await removeEmptyStrays(ctx);
  // Under our lock no process of ours writes metadata; a live git process in any checkout keeps them.
  const repoFolders = [ctx.repo.root, ctx.repo.commonDir, ...git.map((entry) => entry.path)];
  const findLocks = () => reclaimStaleGitLocks(ctx.repo.commonDir, { repoFolders, dryRun });
  const staleLocks = dryRun ? await findLocks() : await ctx.lock.run(findLocks);
  for (const lock of staleLocks) safeLog(ctx.logger, 'warn', { ...lock }, 'stale git lock file');
  return { dryRun, removed, skipped, reconciled, staleLocks };
}

/**
 * Removes an interrupted create's worktree; its branch is kept (it may already hold commits).
 * False when it was no orphan after all: a create in flight elsewhere records it under the same
 * lock as its `worktree add`, so the registry is read again once the lock is ours.
 */
async function reclaimOrphan(ctx: ManagerContext, path: string): Promise<boolean> {
  return ctx.lock.run(async () => {
    if ((await ctx.registry.read()).some((record) => record.path === path)) return false;
    await runGit(['worktree', 'remove', '--force', '--force', path], { cwd: ctx.repo.root }).catch(
      (error: unknown) =>
        safeLog(ctx.logger, 'warn', { path, err: String(error) }, 'could not reclaim an orphaned worktree'),
    );
    return true;
  });
}

/** Folders in our worktree dir that git does not know and that are empty (a crash before `add`). */
async function removeEmptyStrays(ctx: ManagerContext): Promise<void> {
  const names = await readdir(ctx.worktreeDir).catch(() => [] as string[]);
  for (const name of names) {
    if (!OUR_FOLDER.test(name)) continue;
    const path = join(ctx.worktreeDir, name);
    const inside = await readdir(path).catch(() => null);
    if (inside && inside.length === 0) await rmdir(path).catch(() => {});
  }
}
