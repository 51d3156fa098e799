import { mergeBranch } from '../git/merge.js';
import type { ManagerContext } from './context.js';
import { recordFailure } from './record-failure.js';
import type { MergeResult, MergeWorktreeOptions } from './types.js';

/** Which task a branch without a worktree here belongs to (a queue task's, fetched from the remote). */
export interface FetchedBranchTask {
  readonly issueNumber: number;
  /** The task's branch name (events and the result name it). */
  readonly branchName: string;
  /** The worker's worktree id, when known. */
  readonly worktreeId?: string;
}

/**
 * Merges a local branch that has no worktree here into `into` exactly as `mergeWorktree` does
 * (merge-tree, compare-and-swap, checkout fast-forwarded only when clean), with the same events.
 */
export async function mergeFetchedBranch(
  ctx: ManagerContext,
  source: string,
  task: FetchedBranchTask,
  options: MergeWorktreeOptions & { readonly into: string },
): Promise<MergeResult> {
  const started = performance.now();
  const eventBase = {
    worktreeId: task.worktreeId ?? '',
    issueNumber: task.issueNumber,
    branch: task.branchName,
    ...(options.batchId !== undefined ? { batchId: options.batchId } : {}),
  };
  ctx.telemetry.record({ type: 'merge-start', ...eventBase, into: options.into });
  let outcome: Awaited<ReturnType<typeof mergeBranch>>;
  try {
    outcome = await mergeBranch({
      root: ctx.repo.root,
      source,
      into: options.into,
      ...(options.strategy ? { strategy: options.strategy } : {}),
      ...(options.message ? { message: options.message } : {}),
      signal: options.signal,
      withLock: ctx.lock.run,
    });
  } catch (error) {
    throw recordFailure(ctx, 'merge', eventBase, started, error);
  }
  ctx.telemetry.record({
    type: 'merge-complete',
    ...eventBase,
    into: outcome.into,
    status: outcome.status,
    commit: outcome.commit,
    durationMs: Math.round(performance.now() - started),
  });
  return {
    id: task.worktreeId ?? '',
    branchName: task.branchName,
    into: outcome.into,
    strategy: outcome.strategy,
    status: outcome.status,
    commit: outcome.commit,
    previousCommit: outcome.previousCommit,
    updatedCheckout: outcome.updatedCheckout,
    changedFiles: outcome.changedFiles,
  };
}
