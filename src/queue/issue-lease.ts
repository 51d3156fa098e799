import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { MiyabiError } from '../errors.js';

/** How long a lease outlives its submitter's last heartbeat (renewed every third of it). */
export const ISSUE_LEASE_TTL_MS = 30_000;

/** The key of one issue's lease in one remote's queue. */
export function issueLeaseKey(queueId: string, issueNumber: number): string {
  return `miyabi:queue:${queueId}:lease:issue-${issueNumber}`;
}

/** Who holds a lease: stored as its value. */
export interface LeaseHolder {
  readonly batchId: string;
  readonly host: string;
  readonly pid: number;
}

// All or nothing: returns the index (1-based) of the first key another holder has, else takes every key.
const TAKE = `
for i, key in ipairs(KEYS) do
  local held = redis.call('GET', key)
  if held and held ~= ARGV[1] then return {i, held} end
end
for _, key in ipairs(KEYS) do redis.call('SET', key, ARGV[1], 'PX', ARGV[2]) end
return 0`;

// Only the holder's own keys: a lease that expired and was taken by another batch is left to it.
const RENEW = `
local kept = 0
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then redis.call('PEXPIRE', key, ARGV[2]); kept = kept + 1 end
end
return kept`;

const RELEASE = `
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then redis.call('DEL', key) end
end
return 0`;

export interface IssueLease {
  /** Stops the heartbeat and deletes the keys this batch still holds. */
  release(): Promise<void>;
}

/**
 * Takes a lease on a batch's issues in its remote's queue, all or none, before anything is
 * enqueued: an issue another live batch holds is `ISSUE_BUSY` naming that batch and its host. A
 * heartbeat renews it while this process lives; a crashed submitter's lease expires after `ttlMs`.
 */
export async function takeIssueLease(
  redis: Redis,
  queueId: string,
  issues: readonly number[],
  batchId: string,
  ttlMs = ISSUE_LEASE_TTL_MS,
): Promise<IssueLease> {
  const keys = [...new Set(issues)].sort((a, b) => a - b).map((issue) => issueLeaseKey(queueId, issue));
  const holder: LeaseHolder = { batchId, host: hostname(), pid: process.pid };
  const value = JSON.stringify(holder);
  const taken = (await redis.eval(TAKE, keys.length, ...keys, value, String(ttlMs))) as
    | number
    | [number, string];
  if (Array.isArray(taken)) {
    const issue = Number(keys[taken[0] - 1]?.split('issue-').pop());
    const other = parseHolder(taken[1]);
    throw new MiyabiError(
      'ISSUE_BUSY',
      `issue ${issue} is busy: batch ${other.batchId} on host ${other.host} (pid ${other.pid}) runs it on queue ${queueId}`,
      {
        hint: `Wait for that batch to end (its lease ends with it, or ${Math.round(ttlMs / 1000)} s after its submitter stopped), or leave issue ${issue} out.`,
        details: { issueNumber: issue, lease: true, holder: other, queue: queueId },
      },
    );
  }
  let renewing: Promise<unknown> = Promise.resolve();
  const heartbeat = setInterval(
    () => {
      renewing = redis.eval(RENEW, keys.length, ...keys, value, String(ttlMs)).catch(() => undefined);
    },
    Math.max(1, Math.floor(ttlMs / 3)),
  );
  // The lease never keeps a process alive on its own.
  heartbeat.unref();
  return {
    async release() {
      clearInterval(heartbeat);
      await renewing;
      await redis.eval(RELEASE, keys.length, ...keys, value).catch(() => undefined);
    },
  };
}

function parseHolder(text: string): LeaseHolder {
  try {
    const value = JSON.parse(text) as Partial<LeaseHolder>;
    return {
      batchId: String(value.batchId ?? 'unknown'),
      host: String(value.host ?? 'unknown'),
      pid: Number(value.pid ?? 0),
    };
  } catch {
    return { batchId: 'unknown', host: 'unknown', pid: 0 };
  }
}
