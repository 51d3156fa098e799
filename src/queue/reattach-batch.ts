import type { Job, Queue } from 'bullmq';
import type { TaskResult } from '../pool/types.js';
import { decodeFailure, type WireResult } from './wire.js';

/** Failures that ended a job without a result of its task: a resume runs the task again. */
const RUN_AGAIN = new Set(['BATCH_ORPHANED', 'CANCELLED']);

/**
 * For `run --resume` of a queue batch: the job a killed submitter left for a task, if it is to be
 * awaited rather than run again. Finished meanwhile (its result is in BullMQ) or still waiting or
 * running: the job, so its result is collected and the submitter's follow-ups done here. Lost (no
 * such job), cancelled (an orphan, the batch's cancel) or failed without a worker's result (BullMQ's
 * own reasons: stalled too often): removed, and undefined, so the task is enqueued again.
 */
export async function reattachJob(queue: Queue, jobId: string): Promise<Job | undefined> {
  const job = await queue.getJob(jobId);
  if (!job) return undefined;
  if ((await leftJobFate(job)) !== 'again') return job;
  // A job a worker holds cannot be removed: it is awaited instead.
  const removed = await job.remove().then(
    () => true,
    () => false,
  );
  return removed ? undefined : job;
}

/**
 * What a resume does with a job a killed submitter left (see {@link reattachJob}): `collect` its
 * result (finished meanwhile), `await` it (waiting or running), or run its task `again`.
 */
export async function leftJobFate(job: Job): Promise<'collect' | 'await' | 'again'> {
  const state = await job.getState();
  if (state === 'completed') {
    const result = job.returnvalue as WireResult | null | undefined;
    return result && result.status !== 'cancelled' ? 'collect' : 'again';
  }
  if (state === 'failed') {
    const failure = decodeFailure(job.failedReason);
    return failure.worker !== undefined && !RUN_AGAIN.has(failure.code ?? '') ? 'collect' : 'again';
  }
  return state === 'unknown' ? 'again' : 'await';
}

/**
 * The result of a task whose merge a killed submitter made (its intent's commit is in the target)
 * when BullMQ no longer has its job: a success that is not run, nor merged, again.
 */
export function mergedBeforeResume(issueNumber: number, branchName: string): TaskResult {
  return { issueNumber, worktreeId: '', status: 'success', durationMs: 0, cleanedUp: false, branchName };
}
