import { metConflict, taskStarted } from '../telemetry/batch-stats.js';
import type { Overlap } from '../telemetry/events.js';
import type { PoolExecutionResult, TaskResult } from './types.js';

/** Aggregates per-task results (kept in input order; a batch record's) into the batch result. */
export function summarise<T>(
  batchId: string,
  results: readonly TaskResult<T>[],
  totalDurationMs: number,
  overlaps: readonly Overlap[] = [],
): PoolExecutionResult<T> {
  const count = (status: TaskResult['status']) => results.filter((r) => r.status === status).length;
  const successCount = count('success');
  return {
    batchId,
    totalTasks: results.length,
    results,
    totalDurationMs,
    successCount,
    failedCount: count('failed'),
    timeoutCount: count('timeout'),
    cancelledCount: count('cancelled'),
    notStartedCount: results.filter((r) => !taskStarted(r)).length,
    allSuccessful: successCount === results.length,
    successRate: results.length === 0 ? 0 : (successCount / results.length) * 100,
    conflicts: {
      met: results.filter(metConflict).length,
      resolved: results.filter((r) => r.status === 'success' && metConflict(r)).length,
    },
    overlaps,
  };
}
