import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { MiyabiError } from '../errors.js';

/** How long a lease outlives its submitter's last heartbeat. */
export const ISSUE_LEASE_TTL_MS = 30_000;

/**
 * How often the submitter's heartbeat renews its lease and stamps its batch as seen: well below
 * the shortest `orphanTimeoutMs` a worker accepts, so a live submitter never looks gone.
 */
export const BATCH_HEARTBEAT_MS = 1_000;

/** How long a batch's last-seen stamp outlives its submitter: workers judge orphans from it meanwhile. */
const SEEN_TTL_MS = 7 * 86_400_000;

/** The key of one batch's last heartbeat (Redis server time, ms): the submitter's liveness. */
export function batchSeenKey(queueId: string, batchId: string): string {
  return `miyabi:queue:${queueId}:batch:${batchId}:seen`;
}

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

// Stamps the batch as seen now (the last key is its seen key), in the server's clock, which workers read too.
const STAMP = `
local now = redis.call('TIME')
redis.call('SET', KEYS[#KEYS], tostring(now[1] * 1000 + math.floor(now[2] / 1000)), 'PX', ARGV[3])`;

// All or nothing: returns the index (1-based) of the first key another batch holds, else takes every
// key. A key the same batch holds (a resumed batch's lease, its killed submitter's) is taken over.
const TAKE = `
local batch = cjson.decode(ARGV[1]).batchId
for i = 1, #KEYS - 1 do
  local held = redis.call('GET', KEYS[i])
  if held and held ~= ARGV[1] then
    local ok, holder = pcall(cjson.decode, held)
    if not ok or type(holder) ~= 'table' or holder.batchId ~= batch then return {i, held} end
  end
end
for i = 1, #KEYS - 1 do redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[2]) end
${STAMP}
return 0`;

// Only the holder's own keys: a lease that expired and was taken by another batch is left to it.
const RENEW = `
local kept = 0
for i = 1, #KEYS - 1 do
  if redis.call('GET', KEYS[i]) == ARGV[1] then redis.call('PEXPIRE', KEYS[i], ARGV[2]); kept = kept + 1 end
end
if kept > 0 then
${STAMP}
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
 * enqueued: an issue another live batch holds is `ISSUE_BUSY` naming that batch and its host (the
 * same batch's, left by its killed submitter, is taken over: `run --resume`). A heartbeat renews it
 * while this process lives and stamps the batch as seen (workers cancel the jobs of a batch not
 * seen for their `orphanTimeoutMs`); a crashed submitter's lease expires after `ttlMs`.
 */
export async function takeIssueLease(
  redis: Redis,
  queueId: string,
  issues: readonly number[],
  batchId: string,
  ttlMs = ISSUE_LEASE_TTL_MS,
): Promise<IssueLease> {
  const keys = [
    ...[...new Set(issues)].sort((a, b) => a - b).map((issue) => issueLeaseKey(queueId, issue)),
    batchSeenKey(queueId, batchId),
  ];
  const holder: LeaseHolder = { batchId, host: hostname(), pid: process.pid };
  const value = JSON.stringify(holder);
  const seenTtl = String(SEEN_TTL_MS);
  const taken = (await redis.eval(TAKE, keys.length, ...keys, value, String(ttlMs), seenTtl)) as
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
      renewing = redis
        .eval(RENEW, keys.length, ...keys, value, String(ttlMs), seenTtl)
        .catch(() => undefined);
    },
    Math.max(1, Math.min(BATCH_HEARTBEAT_MS, Math.floor(ttlMs / 3))),
  );
  // The lease never keeps a process alive on its own.
  heartbeat.unref();
  return {
    async release() {
      clearInterval(heartbeat);
      await renewing;
      // The seen key stays (it expires on its own): a job of this batch left in the queue is an orphan.
      const leased = keys.slice(0, -1);
      await redis.eval(RELEASE, leased.length, ...leased, value).catch(() => undefined);
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
