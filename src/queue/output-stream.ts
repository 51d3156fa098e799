import type { Redis } from 'ioredis';

/**
 * How a remote task's output travels: one Redis Stream per batch, one entry per chunk of whole lines
 * of the worker's task log, in the order they were written. The worker appends (`XADD`), the
 * submitter reads (`XREAD BLOCK`), trims what it has written to its own log, and deletes the stream
 * when the batch ends.
 */
export interface OutputChunk {
  readonly issueNumber: number;
  /** The issue's variant the job runs (absent: the issue's only attempt). */
  readonly variant?: number | undefined;
  /** The job's attempt (0 for the first): a retried job's output starts again from its header. */
  readonly attempt: number;
  /** 0, 1, 2, … per attempt: a gap says the stream's bound dropped chunks the submitter had not read. */
  readonly seq: number;
  readonly worker: string;
  readonly host: string;
  /** The worker's worktree id (what `logs <id>` finds the task by). */
  readonly worktreeId: string;
  readonly branch: string;
  /** Whole lines, each ending in `\n`, as the worker's log has them. */
  readonly text: string;
}

/** Characters of output in one entry at most: with `STREAM_MAX_ENTRIES`, what bounds the stream. */
export const CHUNK_MAX_CHARS = 4_096;
/**
 * Entries a batch's stream keeps at most (`MAXLEN ~`): reached only when the submitter stops
 * reading (it trims what it read), so a batch's output holds at most ~20 MiB of Redis memory.
 */
export const STREAM_MAX_ENTRIES = 5_000;
/** A stream no submitter deletes (it crashed) expires after this, as finished jobs do. */
export const STREAM_TTL_MS = 86_400_000;

/** The stream of `batchId`'s output on queue `queueName`. */
export function outputStreamKey(queueName: string, batchId: string): string {
  return `miyabi:${queueName}:output:${batchId}`;
}

/** Appends one chunk, bounded, and keeps the stream's expiry ahead of it. */
export async function appendChunk(
  redis: Redis,
  queueName: string,
  batchId: string,
  chunk: OutputChunk,
): Promise<void> {
  const key = outputStreamKey(queueName, batchId);
  await redis
    .multi()
    .xadd(
      key,
      'MAXLEN',
      '~',
      STREAM_MAX_ENTRIES,
      '*',
      'i',
      String(chunk.issueNumber),
      // A variant's output goes to its own log: `v` only when there is one (older readers skip it).
      ...(chunk.variant !== undefined ? ['v', String(chunk.variant)] : []),
      'a',
      String(chunk.attempt),
      's',
      String(chunk.seq),
      'w',
      chunk.worker,
      'h',
      chunk.host,
      'id',
      chunk.worktreeId,
      'b',
      chunk.branch,
      't',
      chunk.text,
    )
    .pexpire(key, STREAM_TTL_MS)
    .exec();
}

/** An entry's fields back as a chunk; undefined for an entry this version does not read. */
export function parseChunk(fields: readonly string[]): OutputChunk | undefined {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i] as string, fields[i + 1] as string);
  const issueNumber = Number(map.get('i'));
  const attempt = Number(map.get('a'));
  const seq = Number(map.get('s'));
  const text = map.get('t');
  if (!Number.isSafeInteger(issueNumber) || !Number.isSafeInteger(attempt) || !Number.isSafeInteger(seq))
    return undefined;
  if (text === undefined) return undefined;
  const variant = map.has('v') ? Number(map.get('v')) : undefined;
  if (variant !== undefined && !(Number.isSafeInteger(variant) && variant > 0)) return undefined;
  return {
    issueNumber,
    ...(variant !== undefined ? { variant } : {}),
    attempt,
    seq,
    worker: map.get('w') ?? '',
    host: map.get('h') ?? '',
    worktreeId: map.get('id') ?? '',
    branch: map.get('b') ?? '',
    text,
  };
}
