import type { Redis } from 'ioredis';

/** The pub/sub channel on which a submitter tells workers to stop a batch's running jobs. */
export function cancelChannel(queueName: string): string {
  return `miyabi:queue:${queueName}:cancel`;
}

/** Set (with a day's expiry) when a batch is cancelled: a job taken after the message still sees it. */
export function cancelledKey(queueName: string, batchId: string): string {
  return `miyabi:queue:${queueName}:cancelled:${batchId}`;
}

export interface CancelMessage {
  readonly batchId: string;
  readonly reason: string;
  /** Only these jobs of the batch (a variant's siblings stopped at `variantsStopAt`); absent: all of them. */
  readonly jobIds?: readonly string[];
}

/** Marks the batch cancelled (not when only some of its jobs are), then tells every worker listening. */
export async function publishCancel(redis: Redis, queueName: string, message: CancelMessage): Promise<void> {
  if (message.jobIds === undefined)
    await redis.set(cancelledKey(queueName, message.batchId), message.reason, 'EX', 86_400);
  await redis.publish(cancelChannel(queueName), JSON.stringify(message));
}

/** The reason a batch was cancelled, or undefined while it is not. */
export async function cancelledReason(
  redis: Redis,
  queueName: string,
  batchId: string,
): Promise<string | undefined> {
  return (await redis.get(cancelledKey(queueName, batchId))) ?? undefined;
}

/** Parses a message of the channel; anything else is ignored. */
export function parseCancel(text: string): CancelMessage | undefined {
  try {
    const value = JSON.parse(text) as Partial<CancelMessage>;
    if (typeof value.batchId !== 'string' || typeof value.reason !== 'string') return undefined;
    const jobIds = Array.isArray(value.jobIds)
      ? value.jobIds.filter((id): id is string => typeof id === 'string')
      : undefined;
    return { batchId: value.batchId, reason: value.reason, ...(jobIds ? { jobIds } : {}) };
  } catch {
    return undefined;
  }
}
