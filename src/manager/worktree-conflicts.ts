import type { WorktreeInfo } from '../core/types.js';
import { ConflictRadar, type RadarTask } from '../radar/conflict-radar.js';
import type { Overlap } from '../telemetry/events.js';
import type { ManagerContext } from './context.js';
import { listWorktrees } from './list-worktrees.js';

/** Radars kept per manager context, so a second call only recomputes what moved. */
const radars = new WeakMap<ManagerContext, ConflictRadar>();

/**
 * Overlapping work among this tool's live worktrees (idle ones hold no task): every pair whose
 * branches (with their uncommitted changes) changed the same files since their base, or whose tips
 * would not merge cleanly.
 */
export async function worktreeConflicts(
  ctx: ManagerContext,
  options: { signal?: AbortSignal } = {},
): Promise<Overlap[]> {
  const worktrees = await listWorktrees(ctx, options.signal);
  let radar = radars.get(ctx);
  if (!radar) {
    // Asked for now: each call sees the worktrees' uncommitted changes as they are.
    radar = new ConflictRadar(ctx.repo.root, { statusIntervalMs: 0 });
    radars.set(ctx, radar);
  }
  const scan = await radar.scan(radarTasks(worktrees), options.signal);
  return [...scan.overlaps];
}

/** Worktrees as radar tasks; the list is oldest first, so creation order says who started first. */
export function radarTasks(worktrees: readonly WorktreeInfo[]): RadarTask[] {
  return worktrees
    .filter((worktree) => worktree.status !== 'idle' && worktree.issueNumber > 0)
    .map((worktree, order) => ({
      ref: { issue: worktree.issueNumber, worktreeId: worktree.id, branch: worktree.branchName },
      baseCommit: worktree.baseCommit,
      order,
      path: worktree.path,
    }));
}
