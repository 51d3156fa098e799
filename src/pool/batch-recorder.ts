import { randomBytes } from 'node:crypto';
import type { WorktreeManager } from '../manager/worktree-manager.js';
import { type BatchOptions, type BatchRecord, updateBatchRecord } from '../state/batch-records.js';
import { currentOwner } from '../state/owner.js';
import type { Overlap } from '../telemetry/events.js';
import type { TaskResult, WorktreeTask } from './types.js';
import type { ResolvedPoolConfig } from './worktree-pool.js';

/** Keeps a batch's record on disk as its tasks end: what every count of the batch derives from. */
export interface BatchRecorder {
  /** Adds one task's result (best effort: a record that cannot be written never fails the task). */
  taskEnded(result: TaskResult): Promise<void>;
  /** Writes the final record and returns it (in memory as well, should the write fail). */
  finish(
    results: readonly TaskResult[],
    overlaps: readonly Overlap[],
    totalDurationMs: number,
  ): Promise<BatchRecord>;
}

/** A new batch's id: `batch-<time, base 36>-<6 hex>`, for local and queue batches alike. */
export function newBatchId(): string {
  return `batch-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** Writes the record of a batch that starts (`endedAt` absent) and returns its recorder. */
export async function startBatchRecord(
  manager: WorktreeManager,
  batchId: string,
  tasks: readonly WorktreeTask[],
  config: ResolvedPoolConfig,
  startedAt: Date = new Date(),
): Promise<BatchRecorder> {
  const base = manager.baseBranch;
  const issues = tasks.map((task) => task.issueNumber);
  let record: BatchRecord = {
    version: 1,
    id: batchId,
    startedAt: startedAt.toISOString(),
    owner: currentOwner(),
    base: { branch: base },
    target: {
      ...(config.merge ? { merge: config.merge.into ?? base } : {}),
      ...(config.push ? { push: config.push.remote ?? 'origin' } : {}),
    },
    options: batchOptions(config),
    issues,
    results: [],
    overlaps: [],
    updatedAt: new Date().toISOString(),
  };
  const save = (change: (current: BatchRecord) => BatchRecord) => {
    record = change(record);
    return updateBatchRecord(manager.stateDir, batchId, (onDisk) => change(onDisk ?? record)).then(
      (written) => {
        if (written) record = written;
      },
      () => {},
    );
  };
  // On disk before any task starts: `logs -f <issue>` waits on the running batch's issues.
  await save((current) => current);
  // Writes in the order tasks end; one at a time.
  let chain: Promise<void> = Promise.resolve();
  const order = (results: readonly TaskResult[]) =>
    [...results].sort((a, b) => issues.indexOf(a.issueNumber) - issues.indexOf(b.issueNumber));
  return {
    taskEnded(result) {
      chain = chain.then(() =>
        save((current) =>
          current.results.some((r) => r.issueNumber === result.issueNumber)
            ? current
            : { ...current, results: order([...current.results, result]) },
        ),
      );
      return chain;
    },
    async finish(results, overlaps, totalDurationMs) {
      chain = chain.then(() =>
        save((current) => ({
          ...current,
          endedAt: new Date().toISOString(),
          // A later `merge` in another process may already have settled a task: keep what it wrote.
          results: order(
            results.map(
              (result) =>
                current.results.find((r) => r.issueNumber === result.issueNumber && r.settledLater) ?? result,
            ),
          ),
          overlaps,
          totalDurationMs,
        })),
      );
      await chain;
      return record;
    },
  };
}

function batchOptions(config: ResolvedPoolConfig): BatchOptions {
  const merge = config.merge;
  return {
    maxConcurrency: config.maxConcurrency,
    timeoutMs: config.timeoutMs,
    failFast: config.failFast,
    autoCleanup: config.autoCleanup,
    reuse: config.reuse,
    existingBranches: config.existingBranches,
    onConflict: typeof config.onConflict === 'object' ? 'resolve' : config.onConflict,
    ...(merge
      ? {
          merge: {
            ...(merge.into !== undefined ? { into: merge.into } : {}),
            ...(merge.strategy !== undefined ? { strategy: merge.strategy } : {}),
          },
        }
      : {}),
    ...(config.push ? { push: { remote: config.push.remote ?? 'origin' } } : {}),
    pullRequest: config.pullRequest !== undefined,
    ...(config.queue ? { queue: config.queue.name ?? 'miyabi' } : {}),
  };
}
