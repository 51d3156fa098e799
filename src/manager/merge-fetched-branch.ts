import type { MergeResult, MergeWorktreeOptions } from '../core/types.js';
import type { ManagerContext } from './context.js';
import { recordedMerge } from './merge-push.js';

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
  const eventBase = {
    worktreeId: task.worktreeId ?? '',
    issueNumber: task.issueNumber,
    branch: task.branchName,
    ...(options.batchId !== undefined ? { batchId: options.batchId } : {}),
  };
  return recordedMerge(ctx, eventBase, task.worktreeId ?? '', {
    source,
    // The task's branch, not the temporary ref it was fetched into, names the merge.
    sourceName: task.branchName,
    into: options.into,
    intoGiven: false,
    options,
  });
}
