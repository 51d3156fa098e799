import type { TaskResult } from '../core/task-result.js';
import type { Overlap } from './events.js';
import type { TelemetryStats } from './stats.js';

/**
 * True when a task started: it got a worktree, or ended for a reason of its own (a create that
 * failed). A task cancelled before its worktree existed (fail-fast, an interrupt) never started.
 */
export function taskStarted(result: TaskResult<unknown>): boolean {
  return !(result.status === 'cancelled' && result.worktreeId === '');
}

/** True when the task's merge met a conflict: handed to a resolver, unresolved, or merged later. */
export function metConflict(result: TaskResult<unknown>): boolean {
  return (
    (result.resolveAttempts?.length ?? 0) > 0 ||
    result.error?.code === 'MERGE_CONFLICT' ||
    result.settledLater?.previous.error?.code === 'MERGE_CONFLICT'
  );
}

/**
 * The report's figures from task results (one batch's, or several batches' together): executed =
 * tasks that started, failed = every other outcome of a started task, errors = tasks that did not
 * succeed, success rate = succeeded / tasks. The one place these are computed.
 */
export function statsOfResults(
  results: readonly TaskResult<unknown>[],
  overlaps: readonly Overlap[] = [],
): TelemetryStats {
  const count = (predicate: (result: TaskResult<unknown>) => boolean) => results.filter(predicate).length;
  const started = results.filter(taskStarted);
  const succeeded = count((r) => r.status === 'success');
  const totalExecutionMs = started.reduce((sum, r) => sum + r.durationMs, 0);
  return {
    tasks: results.length,
    // A reused worktree was made by an earlier task.
    creates: count((r) => r.worktreeId !== '' && r.reusedWorktree !== true),
    executions: started.length,
    successfulExecutions: succeeded,
    failedExecutions: started.length - succeeded,
    notStarted: results.length - started.length,
    followUpFailures: count((r) => r.status !== 'success' && isFollowUp(r.stage)),
    mergeConflicts: count(metConflict),
    conflictsResolved: count((r) => r.status === 'success' && metConflict(r)),
    pullRequests: count((r) => r.pr !== undefined),
    checksFailed: count(
      (r) => r.error?.code === 'CHECK_FAILED' || r.settledLater?.previous.error?.code === 'CHECK_FAILED',
    ),
    overlapWarnings: overlaps.filter((o) => o.files.length > 0 || o.conflict).length,
    overlapConflicts: overlaps.filter((o) => o.conflict).length,
    cleanups: count((r) => r.cleanedUp),
    errors: results.length - succeeded,
    totalExecutionMs,
    averageExecutionMs: started.length > 0 ? totalExecutionMs / started.length : 0,
    successRate: results.length > 0 ? (succeeded / results.length) * 100 : 0,
  };
}

function isFollowUp(stage: string | undefined): boolean {
  return stage === 'check' || stage === 'merge' || stage === 'push' || stage === 'pr' || stage === 'cleanup';
}
