import { appendFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { attemptKey } from '../core/attempt.js';
import { type Logger, safeLog, silentLogger } from '../log.js';
import { type TaskLogHooks, taskLogFile, taskLogHooks } from '../pool/task-log-hooks.js';
import type { TaskResult } from '../pool/types.js';
import { openLogFile } from '../state/log-file.js';
import { closeRedis, connectRedis } from './connection.js';
import { type OutputChunk, outputStreamKey, parseChunk } from './output-stream.js';
import type { QueueTaskProgress } from './types.js';

/** A batch's remote output as it lands in the submitter's per-task logs. */
export interface RemoteOutput {
  /** Resolves once every chunk in the stream now is in its task's log here (a job's output precedes its result). */
  caughtUp(): Promise<void>;
  /**
   * Writes the task's closing line from its final result (after the merge here) and records its end,
   * as a local task's log ends (once: later calls only name the log); returns the result naming
   * this log. A task no worker ran has none.
   */
  ended(result: TaskResult): Promise<TaskResult>;
  /** Stops reading and deletes the batch's stream. */
  close(): Promise<void>;
}

export interface RemoteOutputOptions {
  /** Redis URL: a connection of its own blocks on the stream. */
  readonly connection: string;
  /** The batch's other connection, for the reads that must not wait behind the blocking one. */
  readonly redis: Redis;
  readonly queueName: string;
  readonly batchId: string;
  /** The submitter's state folder (its task-log records). */
  readonly stateDir: string;
  /** The pool's `logDir`, resolved. */
  readonly logDir: string;
  readonly logger?: Logger;
  /** The last line of each chunk, for the live view. */
  readonly onProgress?: (update: QueueTaskProgress) => void;
}

interface TaskOutput {
  readonly logFile: string;
  readonly hooks: TaskLogHooks;
  /** The worker's worktree: `logs <id>` finds the task by its id. */
  readonly worktree: { readonly id: string; readonly branchName: string };
  recorded: boolean;
  attempt: number;
  nextSeq: number;
  closed: boolean;
}

const HEADER = '# miyabi-worktree: issue ';
/** Wait before reading again after a failed read (never a busy loop on an error Redis keeps giving). */
const RETRY_MS = 500;

/**
 * Reads the batch's output stream from its start (`XREAD BLOCK`) and appends each chunk to its task's
 * log at `<logDir>/<batchId>/issue-<n>.log`, recorded as a local task's is, so `logs [-f]`, `--log-dir`
 * and the report find it; trims what it wrote, so Redis holds only what is not read yet.
 */
export async function readRemoteOutput(options: RemoteOutputOptions): Promise<RemoteOutput> {
  const logger = options.logger ?? silentLogger;
  const key = outputStreamKey(options.queueName, options.batchId);
  const reader = await connectRedis(options.connection, { logger });
  // Keyed by attempt (`42`, `42/v2`): each variant's output has its own log.
  const tasks = new Map<string, TaskOutput>();
  let readTo = '0-0';
  let stopped = false;
  const waiters: { readonly id: string; readonly resolve: () => void }[] = [];
  const wake = () => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const waiter = waiters[i];
      if (waiter && (stopped || compareIds(readTo, waiter.id) >= 0)) {
        waiters.splice(i, 1);
        waiter.resolve();
      }
    }
  };

  // A chunk's text as its log takes it: after the worker's line on an attempt's first, after a
  // note where chunks are missing.
  const accept = async (chunk: OutputChunk): Promise<{ task: TaskOutput; text: string }> => {
    const attempt = { issueNumber: chunk.issueNumber, variant: chunk.variant };
    let task = tasks.get(attemptKey(attempt));
    if (!task) {
      const logFile = await openLogFile(taskLogFile(options.logDir, options.batchId, attempt));
      task = {
        logFile,
        hooks: taskLogHooks(options.stateDir, {
          issueNumber: chunk.issueNumber,
          batchId: options.batchId,
          logFile,
        }),
        worktree: { id: chunk.worktreeId, branchName: chunk.branch },
        recorded: false,
        attempt: chunk.attempt,
        nextSeq: chunk.seq + 1,
        closed: false,
      };
      tasks.set(attemptKey(attempt), task);
      return { task, text: withWorker(chunk.text, chunk) };
    }
    let text = chunk.text;
    if (chunk.attempt !== task.attempt) {
      // A retried job (its worker died or failed): its output starts again, from its own header.
      task.attempt = chunk.attempt;
      task.nextSeq = 0;
      text = withWorker(text, chunk);
    }
    if (chunk.seq > task.nextSeq) {
      text = `# miyabi-worktree: ${chunk.seq - task.nextSeq} chunk(s) of output were dropped from the queue's stream before they were read here\n${text}`;
    }
    task.nextSeq = Math.max(task.nextSeq, chunk.seq + 1);
    return { task, text };
  };
  // One append per task for all its chunks of one read; its record once its first text is there.
  const write = async (entries: readonly [string, string[]][]) => {
    const texts = new Map<TaskOutput, string>();
    const last = new Map<TaskOutput, OutputChunk>();
    for (const [, fields] of entries) {
      const chunk = parseChunk(fields);
      if (!chunk) continue;
      const { task, text } = await accept(chunk);
      texts.set(task, (texts.get(task) ?? '') + text);
      last.set(task, chunk);
    }
    for (const [task, text] of texts) {
      await appendFile(task.logFile, text).catch(() => {});
      if (!task.recorded) {
        task.recorded = true;
        await task.hooks.started(task.worktree);
      }
      const chunk = last.get(task);
      if (chunk) progress(chunk);
    }
  };
  const progress = (chunk: OutputChunk) => {
    if (!options.onProgress) return;
    const line = chunk.text
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('# miyabi-worktree:') && !l.startsWith('# in /'))
      .at(-1);
    if (line !== undefined) {
      options.onProgress({
        issueNumber: chunk.issueNumber,
        ...(chunk.variant !== undefined ? { variant: chunk.variant } : {}),
        worker: chunk.worker,
        host: chunk.host,
        line: line.slice(0, 500),
      });
    }
  };

  const loop = (async () => {
    while (!stopped) {
      let reply: [string, [string, string[]][]][] | null;
      try {
        reply = (await reader.xread('COUNT', 500, 'BLOCK', 0, 'STREAMS', key, readTo)) as typeof reply;
      } catch (error) {
        if (stopped) break;
        // ioredis resends after a reconnection; any other failure is logged and reading goes on.
        safeLog(logger, 'warn', { error: String(error) }, 'cannot read task output from the queue');
        await delay(RETRY_MS);
        continue;
      }
      const entries = reply?.[0]?.[1] ?? [];
      await write(entries).catch(() => {});
      readTo = entries.at(-1)?.[0] ?? readTo;
      // What is written here leaves Redis: the stream holds only unread output.
      if (reply) await reader.xtrim(key, 'MINID', readTo).catch(() => {});
      wake();
    }
    wake();
  })();

  return {
    async caughtUp() {
      if (stopped) return;
      const last = (await options.redis.xrevrange(key, '+', '-', 'COUNT', 1).catch(() => []))[0]?.[0];
      if (last === undefined || compareIds(readTo, last) >= 0) return;
      await new Promise<void>((resolve) => {
        waiters.push({ id: last, resolve });
      });
    },
    async ended(result) {
      const task = tasks.get(attemptKey(result));
      if (!task) return result;
      const local = { ...result, logFile: task.logFile } as TaskResult;
      if (!task.closed) {
        task.closed = true;
        await task.hooks.ended(local);
      }
      return local;
    },
    async close() {
      stopped = true;
      reader.disconnect();
      await loop;
      await closeRedis(reader);
      await options.redis.del(key).catch(() => {});
    },
  };
}

/** The first chunk of an attempt with a line naming its worker after the log's header. */
function withWorker(text: string, chunk: OutputChunk): string {
  const line = `# on worker ${chunk.worker} (host ${chunk.host}), attempt ${chunk.attempt + 1}\n`;
  if (!text.startsWith(HEADER)) return `${line}${text}`;
  // The header is two lines: the task, then `# in <the worker's path>`.
  const second = text.indexOf('\n', text.indexOf('\n') + 1) + 1;
  return second === 0 ? `${text}${line}` : `${text.slice(0, second)}${line}${text.slice(second)}`;
}

/** Stream ids (`<ms>-<seq>`) in order. */
function compareIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am - bm || as - bs;
}
