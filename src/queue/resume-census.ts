import { Queue } from 'bullmq';
import { closeRedis, connectRedis } from './connection.js';
import { leftJobFate } from './reattach-batch.js';
import { remoteUrl } from './remote-git.js';
import { remoteQueue } from './remote-queue.js';
import { DEFAULT_QUEUE_NAME } from './types.js';

/** Where `run --resume`'s unfinished queue tasks stand: enqueued again, or their left jobs collected or awaited. */
export interface QueueResumeCensus {
  /** Enqueued again (no job left, or an orphaned or cancelled one). */
  readonly send: readonly number[];
  /** Their jobs finished after the submitter died: results collected, not run again. */
  readonly collect: readonly number[];
  /** Their jobs still wait or run on a worker: awaited, not sent again. */
  readonly await: readonly number[];
}

/**
 * Looks (without changing anything) at the jobs a killed submitter left for `issues` of `batchId`,
 * judged as the resume's `reattachJob` judges them, so what `run --resume` says it sends is what it sends.
 */
export async function queueResumeCensus(options: {
  readonly repoPath: string;
  readonly connection: string;
  readonly name?: string | undefined;
  readonly remote: string;
  readonly batchId: string;
  readonly issues: readonly number[];
}): Promise<QueueResumeCensus> {
  const url = await remoteUrl(options.repoPath, options.remote);
  const target = remoteQueue(options.name ?? DEFAULT_QUEUE_NAME, url);
  const redis = await connectRedis(options.connection);
  const queue = new Queue(target.bullName, { connection: redis, prefix: target.prefix });
  queue.on('error', () => undefined);
  const census = { send: [] as number[], collect: [] as number[], await: [] as number[] };
  try {
    for (const issue of options.issues) {
      const job = await queue.getJob(`${options.batchId}-${issue}`);
      const fate = job ? await leftJobFate(job) : 'again';
      census[fate === 'again' ? 'send' : fate].push(issue);
    }
  } finally {
    await queue.close().catch(() => undefined);
    await closeRedis(redis);
  }
  return census;
}
