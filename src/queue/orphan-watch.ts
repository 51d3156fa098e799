import type { Redis } from 'ioredis';
import { formatDuration } from '../config/duration.js';
import { MiyabiError } from '../errors.js';
import { batchSeenKey } from './issue-lease.js';

/** A worker's default `orphanTimeoutMs`: 10 minutes. @default 600_000 */
export const DEFAULT_ORPHAN_TIMEOUT_MS = 600_000;

// Milliseconds since the batch's last heartbeat, in the server's clock (the one the submitter stamps with).
const GONE_FOR = `
local seen = redis.call('GET', KEYS[1])
if not seen then return -1 end
local now = redis.call('TIME')
return now[1] * 1000 + math.floor(now[2] / 1000) - tonumber(seen)`;

/**
 * How long the submitter of `batchId` has been gone: milliseconds since its last heartbeat, or
 * undefined when the batch has no stamp (a submitter of an earlier version, or a stamp long
 * expired): such a batch is never judged orphaned.
 */
export async function batchGoneForMs(
  redis: Redis,
  queueId: string,
  batchId: string,
): Promise<number | undefined> {
  const gone = Number(await redis.eval(GONE_FOR, 1, batchSeenKey(queueId, batchId)));
  return Number.isFinite(gone) && gone >= 0 ? gone : undefined;
}

/** The error a job of an orphaned batch fails with (not retried; `run --resume` runs it again). */
export function orphanedError(batchId: string, goneForMs: number, timeoutMs: number): MiyabiError {
  return new MiyabiError(
    'BATCH_ORPHANED',
    `batch ${batchId}'s submitter has been gone for ${formatDuration(goneForMs)} (orphan timeout ${formatDuration(timeoutMs)}): its job is cancelled, its work kept on the remote's task branch`,
    {
      hint: ['At the submitter, ', { call: 'resumeBatch', id: batchId }, ' continues the batch.'],
      details: { batchId },
    },
  );
}

/**
 * Watches the batches of a worker's running jobs: `onOrphaned` is called, at each look, for each
 * batch whose submitter has been gone longer than `timeoutMs` (the caller cancels the jobs it has
 * not cancelled yet). Looks every quarter of the timeout (at most every 5 s); a Redis error skips a
 * look, never judges a batch orphaned.
 */
export function watchOrphans(options: {
  readonly redis: Redis;
  readonly queueId: string;
  readonly timeoutMs: number;
  readonly batches: () => Iterable<string>;
  readonly onOrphaned: (batchId: string, goneForMs: number) => void;
}): { stop(): void } {
  let looking = false;
  const look = async () => {
    if (looking) return;
    looking = true;
    try {
      for (const batchId of new Set(options.batches())) {
        const gone = await batchGoneForMs(options.redis, options.queueId, batchId).catch(() => undefined);
        if (gone !== undefined && gone > options.timeoutMs) options.onOrphaned(batchId, gone);
      }
    } finally {
      looking = false;
    }
  };
  const timer = setInterval(() => void look(), Math.min(5_000, Math.max(250, options.timeoutMs / 4)));
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
    },
  };
}
