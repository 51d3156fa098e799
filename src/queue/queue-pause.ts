import type { Redis } from 'ioredis';
import type { PauseGate } from '../pool/pause-gate.js';

/** A batch's pause of one program, as a worker that met a usage limit sets it in Redis. */
export interface BatchPause {
  /** Epoch ms: when the program's tasks may start again (the key expires then). */
  readonly until: number;
  /** The task that met the limit. */
  readonly worktreeId: string;
  readonly issueNumber: number;
  readonly branch: string;
}

/** `miyabi:queue:<queue>:pause:<batch>:<program>`: set while the batch's tasks of that program wait. */
export function batchPauseKey(queueId: string, batchId: string, program: string): string {
  return `miyabi:queue:${queueId}:pause:${batchId}:${encodeURIComponent(program)}`;
}

/** Sets (or lengthens, never shortens) the batch's pause of `program`, expiring at its reset. */
export async function setBatchPause(
  redis: Redis,
  queueId: string,
  batchId: string,
  program: string,
  pause: BatchPause,
): Promise<void> {
  const current = await readBatchPause(redis, queueId, batchId, program);
  if (current && current.until >= pause.until) return;
  const key = batchPauseKey(queueId, batchId, program);
  await redis.multi().set(key, JSON.stringify(pause)).pexpireat(key, Math.ceil(pause.until)).exec();
}

/** The batch's pause of `program` while it lasts, else undefined. */
export async function readBatchPause(
  redis: Redis,
  queueId: string,
  batchId: string,
  program: string,
): Promise<BatchPause | undefined> {
  const text = await redis.get(batchPauseKey(queueId, batchId, program));
  if (text === null) return undefined;
  try {
    const value = JSON.parse(text) as Partial<BatchPause>;
    if (typeof value.until !== 'number' || value.until <= Date.now()) return undefined;
    return {
      until: value.until,
      worktreeId: typeof value.worktreeId === 'string' ? value.worktreeId : '',
      issueNumber: typeof value.issueNumber === 'number' ? value.issueNumber : 0,
      branch: typeof value.branch === 'string' ? value.branch : '',
    };
  } catch {
    return undefined;
  }
}

/**
 * At the submitter, before a task's job is enqueued: a pause of its program that a worker set in
 * Redis closes the pool's gate (the one gate a local pause closes too), and the task waits there.
 * The events' `task-paused` usually closed it already; this covers a pause whose event has not
 * arrived yet (or was missed while the connection dropped).
 */
export async function honourBatchPause(
  at: { readonly redis: Redis; readonly queueId: string; readonly batchId: string },
  gate: PauseGate,
  program: string,
  signal: AbortSignal,
): Promise<void> {
  const pause = await readBatchPause(at.redis, at.queueId, at.batchId, program).catch(() => undefined);
  if (!pause) return;
  gate.pause(program, pause.until, {
    worktreeId: pause.worktreeId,
    ...(pause.issueNumber > 0 ? { issueNumber: pause.issueNumber } : {}),
    ...(pause.branch !== '' ? { branch: pause.branch } : {}),
  });
  await gate.whenOpen(program, signal);
}

/** A job paused at a usage limit, as its worker left it for whichever worker takes it next. */
export interface PausedJob {
  /** Pauses of the task so far. */
  readonly count: number;
  /** Time paused before this pause, in ms. */
  readonly totalMs: number;
  /** Time the task's attempts ran (against its timeout), in ms. */
  readonly spentMs: number;
  /** Epoch ms: when this pause began and when it ends. */
  readonly pausedAt: number;
  readonly until: number;
  /** The commit the task's branch was at, and whether the paused ref adds its uncommitted files on top. */
  readonly head: string;
  readonly snapshot: boolean;
  /** The worker that paused it, and the worktree there (continued when that worker takes it again). */
  readonly worker: string;
  readonly worktreeId: string;
}

function pausedJobKey(queueId: string, jobId: string): string {
  return `miyabi:queue:${queueId}:paused-job:${jobId}`;
}

/** Keeps a paused job's state until a day after its reset. */
export async function savePausedJob(
  redis: Redis,
  queueId: string,
  jobId: string,
  state: PausedJob,
): Promise<void> {
  const key = pausedJobKey(queueId, jobId);
  const keepMs = Math.max(0, state.until - Date.now()) + 86_400_000;
  await redis.set(key, JSON.stringify(state), 'PX', Math.ceil(keepMs));
}

/** The state of a job paused earlier, or undefined for a job that never paused. */
export async function readPausedJob(
  redis: Redis,
  queueId: string,
  jobId: string,
): Promise<PausedJob | undefined> {
  const text = await redis.get(pausedJobKey(queueId, jobId));
  if (text === null) return undefined;
  const value = JSON.parse(text) as Record<string, unknown>;
  const numbers = ['count', 'totalMs', 'spentMs', 'pausedAt', 'until'] as const;
  const strings = ['head', 'worker', 'worktreeId'] as const;
  if (
    numbers.some((key) => typeof value[key] !== 'number') ||
    strings.some((key) => typeof value[key] !== 'string') ||
    typeof value.snapshot !== 'boolean' ||
    !/^[0-9a-f]{40}(?:[0-9a-f]{24})?$/.test(String(value.head))
  ) {
    return undefined;
  }
  return value as unknown as PausedJob;
}

/** Forgets a job's pause state (the job ended). */
export async function clearPausedJob(redis: Redis, queueId: string, jobId: string): Promise<void> {
  await redis.del(pausedJobKey(queueId, jobId));
}
