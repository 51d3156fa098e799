import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { MiyabiError, type MiyabiErrorCode } from '../errors.js';
import type { RemoteQueue } from './remote-queue.js';

/**
 * How long a task that workers refuse may wait for one that takes it, when the submitter set no
 * `queueTimeoutMs`: then it fails with their reasons.
 */
export const DEFAULT_REFUSAL_TIMEOUT_MS = 10 * 60_000;

/** How soon a refused job is offered again (to whichever worker is free). */
export const REFUSAL_RETRY_MS = 1_000;

/** The hash of a job's refusals: worker name → `{ code, message, host }` as JSON. */
export function refusalsKey(queueId: string, jobId: string): string {
  return `miyabi:queue:${queueId}:refusals:${jobId}`;
}

export interface Refusal {
  readonly worker: string;
  readonly host: string;
  readonly code: string;
  readonly message: string;
}

/** Every refusal recorded for a job, in worker-name order. */
export async function readRefusals(redis: Redis, queueId: string, jobId: string): Promise<Refusal[]> {
  const all = await redis.hgetall(refusalsKey(queueId, jobId));
  return Object.entries(all)
    .sort(([a], [b]) => a.localeCompare(b))
    .flatMap(([worker, text]) => {
      try {
        const value = JSON.parse(text) as { host?: unknown; code?: unknown; message?: unknown };
        return [
          {
            worker,
            host: typeof value.host === 'string' ? value.host : '',
            code: typeof value.code === 'string' ? value.code : 'QUEUE_PAYLOAD',
            message: typeof value.message === 'string' ? value.message : '',
          },
        ];
      } catch {
        return [];
      }
    });
}

/** `; refused by w1 (CODE: …); …` for a job some worker refused, else empty. */
export async function refusalNote(redis: Redis, queueId: string, jobId: string): Promise<string> {
  const refusals = await readRefusals(redis, queueId, jobId).catch(() => []);
  return refusals.length > 0 ? `; refused by ${describeRefusals(refusals)}` : '';
}

/** The refusals in one line: `w1 (NOT_FOUND: …); w2 (COMMAND_NOT_ALLOWED: …)`. */
export function describeRefusals(refusals: readonly Refusal[]): string {
  return refusals.map((r) => `${r.worker} (${r.code}: ${r.message})`).join('; ');
}

/**
 * Records this worker's refusal of a job and says whether the job is now refused for good: every
 * connected worker of its queue has refused it, or it has waited `timeoutMs` since it was enqueued.
 * Then the error to fail it with names every refusal; otherwise undefined (delay it for the others).
 */
export async function recordRefusal(
  redis: Redis,
  queue: Queue,
  target: RemoteQueue,
  job: { readonly id?: string | undefined; readonly timestamp: number },
  refusal: Refusal,
  timeoutMs: number,
): Promise<MiyabiError | undefined> {
  const queueId = target.id;
  const key = refusalsKey(queueId, job.id ?? '');
  const { worker, ...rest } = refusal;
  await redis.multi().hset(key, worker, JSON.stringify(rest)).expire(key, 86_400).exec();
  const refusals = await readRefusals(redis, queueId, job.id ?? '');
  const refusedBy = new Set(refusals.map((r) => r.worker));
  // How BullMQ names a named worker's connection (`Queue.getWorkers` lists them).
  const named = `${target.prefix}:${Buffer.from(target.bullName).toString('base64')}:w:`;
  const connected = (await queue.getWorkers())
    .map((client) => String(client.rawname ?? ''))
    .filter((raw) => raw.startsWith(named))
    .map((raw) => raw.slice(named.length));
  const everyone = connected.every((name) => refusedBy.has(name));
  const expired = Date.now() - job.timestamp >= timeoutMs;
  if (!everyone && !expired) return undefined;
  const why = everyone
    ? `every connected worker refused the task`
    : `no worker took the task within ${Math.round(timeoutMs / 1000)} s (--queue-timeout)`;
  return new MiyabiError(refusal.code as MiyabiErrorCode, `${why}: ${describeRefusals(refusals)}`, {
    hint: 'Start a worker that can run it (its clone can fetch the base, its --allow lists the program, its version reads the job), or upgrade the workers.',
    details: { refusals },
  });
}
