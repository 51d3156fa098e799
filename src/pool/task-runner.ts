import type { TaskResult, WorktreeTask } from './types.js';

/** One task as the pool hands it to a runner, once its turn comes. */
export interface RunnerTask {
  readonly task: WorktreeTask;
  readonly batchId: string;
  /** Aborted by fail-fast, the caller's abort or the radar: the runner ends the task `cancelled`. */
  readonly signal: AbortSignal;
}

/**
 * Where a task runs: here (`local`) or on a queue's workers (`queue`). The pool alone validates the
 * options, schedules (its `maxConcurrency`), enforces fail-fast and cancel, records and summarises the
 * batch; a runner only runs one task to its result, and closes whatever it opened for the batch.
 */
export interface TaskRunner {
  /** Runs one task to its result: never rejects for the task's own failure. */
  run(task: RunnerTask): Promise<TaskResult>;
  /**
   * Called once after every task ended, with their results in input order (also when the batch
   * failed): the batch-wide follow-ups (a queue pushes the targets it merged into) and closing.
   * Returns the final results.
   */
  finish(results: readonly TaskResult[]): Promise<readonly TaskResult[]>;
  /** Closes what the runner opened, when the batch ends before `finish` (a thrown error). */
  close(): Promise<void>;
}
