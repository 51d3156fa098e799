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
    // A reused worktree was made by an earlier task; each variant of an issue made its own.
    creates: results.reduce(
      (sum, r) =>
        sum +
        (r.variants
          ? r.variants.filter((v) => v.worktreeId !== '').length
          : Number(r.worktreeId !== '' && r.reusedWorktree !== true)),
      0,
    ),
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
    ...variantsOf(results),
    overlapWarnings: overlaps.filter((o) => o.files.length > 0 || o.conflict).length,
    overlapConflicts: overlaps.filter((o) => o.conflict).length,
    cleanups: count((r) => r.cleanedUp),
    errors: results.length - succeeded,
    totalExecutionMs,
    averageExecutionMs: started.length > 0 ? totalExecutionMs / started.length : 0,
    successRate: results.length > 0 ? (succeeded / results.length) * 100 : 0,
    ...resourcesOf(results),
    ...usageOf(results),
  };
}

/** How many attempts the issues with variants made, when any did. */
function variantsOf(results: readonly TaskResult<unknown>[]): Pick<TelemetryStats, 'variants'> {
  const issues = results.filter((r) => r.variants !== undefined);
  if (issues.length === 0) return {};
  return {
    variants: {
      attempts: issues.reduce((sum, r) => sum + (r.variants?.length ?? 0), 0),
      issues: issues.length,
    },
  };
}

/** The highest memory peak of the measured tasks (and whose), and their CPU seconds together. */
function resourcesOf(results: readonly TaskResult<unknown>[]): Pick<TelemetryStats, 'resources'> {
  const measured = results.filter((r) => r.resources !== undefined);
  if (measured.length === 0) return {};
  const peak = measured.reduce((a, b) =>
    (b.resources?.peakRssBytes ?? 0) > (a.resources?.peakRssBytes ?? 0) ? b : a,
  );
  const cpuSeconds = measured.reduce((sum, r) => sum + (r.resources?.cpuSeconds ?? 0), 0);
  return {
    resources: {
      peakRssBytes: peak.resources?.peakRssBytes ?? 0,
      peakIssueNumber: peak.issueNumber,
      cpuSeconds: Math.round(cpuSeconds * 100) / 100,
      memoryLimited: measured.filter((r) => r.resources?.memoryLimit !== undefined).length,
    },
  };
}

/** The tokens and cost the agents reported, summed over the tasks that wrote a usage file. */
function usageOf(results: readonly TaskResult<unknown>[]): Pick<TelemetryStats, 'usage'> {
  const reported = results.flatMap((r) => (r.usage ? [r.usage] : []));
  if (reported.length === 0) return {};
  const sum = (key: 'inputTokens' | 'outputTokens' | 'costUsd') =>
    reported.reduce((total, usage) => total + (usage[key] ?? 0), 0);
  return {
    usage: {
      tasks: reported.length,
      inputTokens: sum('inputTokens'),
      outputTokens: sum('outputTokens'),
      // Cents of cents: floating sums must not print 0.30000000000000004.
      costUsd: Math.round(sum('costUsd') * 10_000) / 10_000,
    },
  };
}

function isFollowUp(stage: string | undefined): boolean {
  return stage === 'check' || stage === 'merge' || stage === 'push' || stage === 'pr' || stage === 'cleanup';
}
