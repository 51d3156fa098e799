import type { QueueWorker, QueueWorkerOptions } from './worker.js';

export type { QueueWorker, QueueWorkerOptions, WorkerActivity } from './worker.js';

/**
 * Starts a queue worker (see {@link QueueWorkerOptions}): BullMQ and the Redis client load only
 * here, so programs that never use the queue never pay for them.
 */
export async function startWorker(options: QueueWorkerOptions): Promise<QueueWorker> {
  const { startWorker: start } = await import('./worker.js');
  return start(options);
}
