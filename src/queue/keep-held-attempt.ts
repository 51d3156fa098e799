// A variant's attempt on the queue waits for its issue's verdict, which is reached here.
import type { TaskResult } from '../pool/types.js';
import { afterRemoteTask, type RemoteTaskContext } from './after-remote-task.js';

/**
 * A variant's attempt a worker ran, kept here as `autoCleanup: false` keeps a task: its pushed
 * branch a worktree of this manager, its log here. The gate, the score and the landing of its issue
 * (src/pool/variants/) then run on it as on a local attempt, and the losers are archived here. No
 * merge, pull request or hand-back: only the winner lands, through the landing here.
 */
export async function keepHeldAttempt(
  result: TaskResult,
  context: Omit<RemoteTaskContext, 'autoCleanup' | 'onConflict' | 'pullRequest' | 'handBack' | 'check'>,
): Promise<TaskResult> {
  // One that failed is kept here when its worker pushed its work (`--keep`); else its worker archived it.
  if (result.status !== 'success' && !result.push?.commit) return result;
  return afterRemoteTask(result, {
    ...context,
    autoCleanup: false,
    onConflict: 'keep',
    pullRequest: undefined,
  });
}

/** The targets the winners of a batch's variants moved here (index of the result, target). */
export function landedVariants(results: readonly TaskResult[]): [number, string][] {
  const landed: [number, string][] = [];
  for (const [index, result] of results.entries()) {
    const merge = result.variants !== undefined && result.status === 'success' ? result.merge : undefined;
    if (merge && merge.status !== 'up-to-date') landed.push([index, merge.into]);
  }
  return landed;
}
