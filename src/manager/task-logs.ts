import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as delay } from 'node:timers/promises';
import { attemptName } from '../core/attempt.js';
import { MiyabiError } from '../errors.js';
import { readRunningBatchRecords } from '../state/batch-records.js';
import { isOwnerAlive } from '../state/owner.js';
import { readTaskLog, readTaskLogs, type TaskLog } from '../state/task-log-records.js';
import { parseIssueOrId } from './validate.js';

export interface FollowLogOptions {
  /** Ends the iteration (quietly) when aborted. */
  readonly signal?: AbortSignal;
  /** Keep reading until the task ends (`false`: what the log holds now, then stop). @default true */
  readonly follow?: boolean;
  /** Time between two looks at a running task's log. @default 200 */
  readonly pollMs?: number;
}

/** Options of `logFile` (and `followLog`'s first look). */
export interface FindTaskLogOptions {
  /**
   * For an issue that a running batch has yet to start: wait until it starts and give its log (never
   * an earlier batch's). `NOT_FOUND` when that batch ends without starting it. @default false
   */
  readonly wait?: boolean;
  /** Ends the wait with `CANCELLED`. */
  readonly signal?: AbortSignal;
  /** Called once when the wait begins, with the batch that will run the issue. */
  readonly onWait?: (batchId: string) => void;
  /** Time between two looks while waiting. @default 200 */
  readonly pollMs?: number;
}

/** Ids and issues named in a NOT_FOUND, at most. */
const NAMED_IN_HINT = 10;

/**
 * The log of a pool task: `issueOrId` is a worktree id (also of a removed worktree), or an issue
 * number (`42`, `#42`: its most recent task). `NOT_FOUND` lists the task ids it knows;
 * `INVALID_ARGUMENT` for neither (`-1`, `../x`).
 */
export async function findTaskLog(
  stateDir: string,
  issueOrId: string | number,
  options: FindTaskLogOptions = {},
): Promise<TaskLog> {
  const { issue, id, variant } = parseIssueOrId(issueOrId);
  const text = id ?? String(issue);
  // A variant's log is named for it (`issue-42-v2.log`); an issue's own, for the issue.
  const ofAttempt = (record: TaskLog) =>
    variant === undefined ||
    basename(record.logFile) === `${attemptName({ issueNumber: record.issueNumber, variant })}.log`;
  if (issue !== undefined && variant === undefined && options.wait) {
    const started = await waitForStart(stateDir, issue, options);
    if (started) return started;
  }
  const found =
    issue === undefined
      ? await readTaskLog(stateDir, text)
      : (await readTaskLogs(stateDir))
          .filter((record) => record.issueNumber === issue && ofAttempt(record))
          .at(-1);
  if (found) return found;
  const known = await readTaskLogs(stateDir);
  const named = known
    .slice(-NAMED_IN_HINT)
    .map((record) => `${record.worktreeId} (#${record.issueNumber})`)
    .join(', ');
  throw new MiyabiError(
    'NOT_FOUND',
    issue === undefined ? `no task log for worktree id '${text}'` : `no task log for issue ${issue}`,
    {
      hint:
        known.length === 0
          ? 'No batch task has run here yet (logs are kept for the tasks of run / executeParallel).'
          : `Known task logs${known.length > NAMED_IN_HINT ? ' (most recent)' : ''}: ${named}.`,
      details: {
        ...(issue === undefined ? { id: text } : { issueNumber: issue }),
        known: known.map((record) => ({ worktreeId: record.worktreeId, issueNumber: record.issueNumber })),
      },
    },
  );
}

/**
 * The log of `issue`'s task in the newest running batch that plans it, once that task starts;
 * undefined when no running batch plans the issue (the most recent log is then the one to show).
 */
async function waitForStart(
  stateDir: string,
  issue: number,
  options: FindTaskLogOptions,
): Promise<TaskLog | undefined> {
  let waitingFor: string | undefined;
  for (;;) {
    // The running batch that will run the issue: its record lists the issues from the start.
    const plan = (await readRunningBatchRecords(stateDir)).filter((r) => r.issues.includes(issue)).at(-1);
    const batchId = plan?.id ?? waitingFor;
    const started =
      batchId === undefined
        ? undefined
        : (await readTaskLogs(stateDir)).find((r) => r.issueNumber === issue && r.batchId === batchId);
    if (started) return started;
    if (!plan) {
      if (waitingFor === undefined) return undefined;
      throw new MiyabiError('NOT_FOUND', `issue ${issue} did not start: batch ${waitingFor} ended first`, {
        hint: 'It was cancelled before it started (fail-fast, an interrupt, or a task that stopped the batch).',
        details: { issueNumber: issue, batchId: waitingFor },
      });
    }
    if (waitingFor !== plan.id) {
      waitingFor = plan.id;
      options.onWait?.(plan.id);
    }
    try {
      await delay(options.pollMs ?? 200, undefined, { signal: options.signal });
    } catch {
      throw new MiyabiError('CANCELLED', `stopped waiting for issue ${issue} to start`, {
        details: { issueNumber: issue, batchId: plan.id },
      });
    }
  }
}

/** True once the task ended, or the process that ran it is gone (killed: it will never say so). */
export function taskEnded(record: TaskLog): boolean {
  return record.endedAt !== undefined || !isOwnerAlive(record.owner);
}

/**
 * The task's log as text chunks, from its first byte: with `follow` (the default) new output as it
 * is written, until the task ends (then the rest is read and the iteration ends), or `signal` aborts.
 */
export async function* followTaskLog(
  stateDir: string,
  start: TaskLog,
  options: FollowLogOptions = {},
): AsyncGenerator<string, void, undefined> {
  const follow = options.follow ?? true;
  const pollMs = options.pollMs ?? 200;
  const decoder = new StringDecoder('utf8');
  let record = start;
  let offset = 0;
  for (;;) {
    if (options.signal?.aborted) return;
    // Whether it ended is read before the file: what it wrote before ending is then all there.
    const ended = !follow || taskEnded(record);
    const bytes = await readFrom(record.logFile, offset);
    if (bytes === undefined) {
      if (offset === 0 && ended) throw logGone(record);
    } else if (bytes.length > 0) {
      offset += bytes.length;
      const text = decoder.write(bytes);
      if (text !== '') yield text;
    }
    if (ended) {
      const rest = decoder.end();
      if (rest !== '') yield rest;
      // A run killed outright never wrote the closing line: say so in its place.
      if (record.endedAt === undefined && !isOwnerAlive(record.owner)) yield killedRunLine(record);
      return;
    }
    try {
      await delay(pollMs, undefined, { signal: options.signal });
    } catch {
      return;
    }
    record = (await readTaskLog(stateDir, record.worktreeId)) ?? record;
  }
}

/** The closing line of a task whose run died before the task ended (`kill -9`, a crash, a reboot). */
function killedRunLine(record: TaskLog): string {
  return `# miyabi-worktree: ended without a closing record: the process that ran it (pid ${record.owner.pid} on ${record.owner.host}) is gone\n`;
}

/** The bytes of `path` from `offset` to its end; undefined when it does not exist. */
export async function readFrom(path: string, offset: number): Promise<Buffer | undefined> {
  const handle = await open(path, 'r').catch(() => undefined);
  if (!handle) return undefined;
  try {
    const { size } = await handle.stat();
    if (size <= offset) return Buffer.alloc(0);
    const buffer = Buffer.alloc(size - offset);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

function logGone(record: TaskLog): MiyabiError {
  return new MiyabiError('NOT_FOUND', `the log of ${record.worktreeId} is gone: ${record.logFile}`, {
    hint: 'Old batch logs are deleted as new batches start (logRetention); raise it to keep more.',
    details: { worktreeId: record.worktreeId, logFile: record.logFile },
  });
}
