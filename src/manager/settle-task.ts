import type { TaskStage } from '../core/task.js';
import type { TaskResult } from '../core/task-result.js';
import type { MergeResult } from '../core/types.js';
import { type BatchRecord, updateBatchRecord } from '../state/batch-records.js';
import { readTaskLog } from '../state/task-log-records.js';

/** What a later operation did for a batch task that had not succeeded. */
export interface LaterOutcome {
  /** The operation: a merge, or a landing (check, then merge). */
  readonly by: 'merge' | 'land';
  /** The stages it completes: only a task that ended unsuccessful at one of them is settled. */
  readonly stage: TaskStage | readonly TaskStage[];
  readonly merge: MergeResult;
}

/**
 * Rewrites the batch record of the task that ran in `worktreeId` when a later operation completed
 * the stage it had failed at: the task becomes `success` (or, when the batch also asked for a push
 * or a pull request, fails at `push` instead: that never happened), with `settledLater` saying
 * what it was before. The one place a task's outcome changes after its batch. Returns the new
 * result, or undefined when no batch task is settled (none ran there, or it had not failed there).
 */
export async function settleTaskLater(
  stateDir: string,
  worktreeId: string,
  outcome: LaterOutcome,
): Promise<TaskResult | undefined> {
  const log = await readTaskLog(stateDir, worktreeId);
  if (!log) return undefined;
  let settled: TaskResult | undefined;
  await updateBatchRecord(stateDir, log.batchId, (current) => {
    const index = current?.results.findIndex((result) => result.worktreeId === worktreeId) ?? -1;
    const result = current?.results[index];
    if (
      !current ||
      !result ||
      result.status === 'success' ||
      !([] as TaskStage[]).concat(outcome.stage).includes(result.stage)
    ) {
      return undefined;
    }
    // A merge into another branch than the batch's target completes nothing the batch asked for.
    if (current.target.merge !== undefined && outcome.merge.into !== current.target.merge) return undefined;
    // An "up-to-date" merge of a task that committed nothing merged none of its work.
    if (outcome.merge.status === 'up-to-date' && result.error.code === 'NOTHING_COMMITTED') return undefined;
    settled = settledResult(current, result, outcome);
    const results = current.results.map((r, i) => (i === index && settled ? settled : r));
    return { ...current, results };
  });
  return settled;
}

function settledResult(record: BatchRecord, result: TaskResult, outcome: LaterOutcome): TaskResult {
  if (result.status === 'success') return result;
  const { stage, error, status, ...fields } = result;
  const settledLater = {
    at: new Date().toISOString(),
    by: outcome.by,
    previous: { status, stage, error },
  };
  const pending = record.target.push ?? (record.options.pullRequest ? 'origin' : undefined);
  if (pending !== undefined) {
    return {
      ...fields,
      merge: outcome.merge,
      settledLater,
      status: 'failed',
      stage: 'push',
      error: {
        message: `merged later by ${outcome.by}, but the batch also asked for a push to ${pending}, which never ran`,
      },
    };
  }
  return { ...fields, merge: outcome.merge, settledLater, status: 'success' };
}
