/** How a pool sends its tasks to workers through BullMQ on Redis instead of running them here. */
export interface PoolQueueOptions {
  /** Redis URL (`redis://host:port`, `rediss://` for TLS, `redis://:password@host:port`). */
  readonly connection: string;
  /** The BullMQ queue's name; workers must use the same. @default 'miyabi' */
  readonly name?: string;
  /** The shared remote workers clone, fetch the base from and push task branches to. @default 'origin' */
  readonly remote?: string;
  /**
   * How long a task may wait for a worker to take it; still waiting then, it is taken off the queue
   * and ends `cancelled` with code `TIMEOUT`. @default undefined (no bound)
   */
  readonly queueTimeoutMs?: number;
  /** Attempts per task: a failed attempt (worker error, not the command's failure) is retried from the base. @default 2 */
  readonly attempts?: number;
  /**
   * Shared secret that signs each job (HMAC-SHA256 over the payload's bytes, its batch id and an
   * expiry); workers started with the same `secret` refuse any job not signed with it
   * (`QUEUE_UNTRUSTED`). Never sent, logged or stored. @default undefined (jobs unsigned)
   */
  readonly secret?: string;
  /**
   * Workers push the archives they make of a task's work (`refs/miyabi/archive/…`) to the remote,
   * and this side fetches them, so `restoreWorktree(id)` works here. Opt-in: it publishes unfinished
   * work to the shared remote. Without it a result's `archivedOn` names the worker and its clone.
   * @default false
   */
  readonly shareArchives?: boolean;
  /** Told how many workers are connected, at start and whenever it changes. */
  readonly onWorkers?: (connected: number) => void;
  /** Told when a worker takes a task, and the last line of each piece of its output as it arrives here. */
  readonly onProgress?: (update: QueueTaskProgress) => void;
}

export interface QueueTaskProgress {
  readonly issueNumber: number;
  /** The issue's variant the job runs (absent: the issue's only attempt). */
  readonly variant?: number | undefined;
  readonly worker: string;
  readonly host: string;
  /** Absent when the update only says the worker took the task. */
  readonly line?: string;
}

export const DEFAULT_QUEUE_NAME = 'miyabi';
