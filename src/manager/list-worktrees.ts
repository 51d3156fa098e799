import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { WorktreeInfo } from '../core/types.js';
import { runGit } from '../git/run-git.js';
import { type GitWorktreeEntry, listGitWorktrees } from '../git/worktree-list.js';
import { safeLog } from '../log.js';
import { type ManagerContext, releaseSlot } from './context.js';
import { foreignReason } from './removal-refusals.js';

/** A registry record whose worktree no longer exists in git or on disk. */
export interface VanishedWorktree {
  readonly record: WorktreeInfo;
  readonly reason: string;
}

/** Registry records checked against git: which are live, which vanished, which name no worktree of ours. */
export async function readWorktrees(
  ctx: ManagerContext,
  signal?: AbortSignal,
): Promise<{
  records: WorktreeInfo[];
  live: WorktreeInfo[];
  vanished: VanishedWorktree[];
  foreign: VanishedWorktree[];
  git: GitWorktreeEntry[];
}> {
  const [records, git] = await Promise.all([ctx.registry.read(), listGitWorktrees(ctx.repo.root, signal)]);
  const byPath = new Map(git.map((entry) => [entry.path, entry]));
  const live: WorktreeInfo[] = [];
  const vanished: VanishedWorktree[] = [];
  const foreign: VanishedWorktree[] = [];
  for (const record of records) {
    const entry = byPath.get(record.path);
    // A tampered record may name any folder: it is left alone, never reconciled or removed.
    const notOurs = foreignReason(ctx, record, entry && { known: true, reason: entry.locked });
    if (notOurs !== undefined) foreign.push({ record, reason: notOurs });
    else if (!entry)
      vanished.push({ record, reason: 'git no longer knows this worktree (pruned or removed by hand)' });
    else if (entry.prunable !== undefined || !existsSync(record.path)) {
      vanished.push({ record, reason: `its folder is gone (${entry.prunable || 'missing'})` });
    } else live.push(record);
  }
  return { records, live, vanished, foreign, git };
}

/**
 * Lists the worktrees this tool created, oldest first. Records whose worktree vanished (folder
 * deleted, `git worktree prune`) are reconciled: dropped from the registry, their stale git admin
 * entry removed; their branches are kept, since they may hold commits.
 */
export async function listWorktrees(ctx: ManagerContext, signal?: AbortSignal): Promise<WorktreeInfo[]> {
  // No record, nothing to check against git: a batch's checks cost no git process then.
  if ((await ctx.registry.read()).length === 0) return [];
  const { records, live, vanished, foreign } = await readWorktrees(ctx, signal);
  warnForeign(ctx, foreign);
  if (vanished.length === 0) return live;
  const gone = new Set((await reconcileVanished(ctx, vanished)).map((v) => v.record.id));
  const notOurs = new Set(foreign.map((f) => f.record.id));
  // Those that only looked vanished (another process was midway) are live after all.
  return records.filter((record) => !gone.has(record.id) && !notOurs.has(record.id));
}

/** Says once per read which registry records name no worktree of ours (they are left alone). */
export function warnForeign(ctx: ManagerContext, foreign: readonly VanishedWorktree[]): void {
  for (const { record, reason } of foreign) {
    safeLog(
      ctx.logger,
      'warn',
      { worktreeId: record.id, path: record.path, reason },
      'registry record names no worktree of ours; left alone',
    );
  }
}

/**
 * Drops vanished records (re-checked under the lock, since another process may have acted).
 * Returns those that were still vanished there, which are the ones reconciled.
 */
export async function reconcileVanished(
  ctx: ManagerContext,
  vanished: readonly VanishedWorktree[],
): Promise<VanishedWorktree[]> {
  return ctx.lock.run(async () => {
    // Read before the lock, a create or removal in flight elsewhere can look vanished; under the
    // lock no process of ours is midway, so only what is still vanished now is acted on.
    const suspects = new Set(vanished.map((v) => v.record.id));
    const confirmed = (await readWorktrees(ctx)).vanished.filter((v) => suspects.has(v.record.id));
    const ids = new Set(confirmed.map((v) => v.record.id));
    for (const { record, reason } of confirmed) {
      // `worktree remove` of a missing folder only drops git's admin entry; scoped to our own path.
      await runGit(['worktree', 'remove', '--force', '--force', record.path], { cwd: ctx.repo.root }).catch(
        () => {},
      );
      // A removal that died midway had archived the work first: what is left of its folder goes.
      if (record.removal) await rm(record.path, { recursive: true, force: true });
      releaseSlot(ctx, record.id);
      safeLog(
        ctx.logger,
        'warn',
        { worktreeId: record.id, branch: record.branchName, reason },
        'worktree vanished',
      );
    }
    await ctx.registry.mutate((records) => records.filter((r) => !ids.has(r.id)));
    return confirmed;
  });
}
