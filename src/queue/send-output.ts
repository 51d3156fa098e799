import { StringDecoder } from 'node:string_decoder';
import type { Redis } from 'ioredis';
import { type Logger, safeLog } from '../log.js';
import { readFrom } from '../manager/task-logs.js';
import { CLOSING_PREFIX } from '../pool/closing-line.js';
import { readTaskLog } from '../state/task-log-records.js';
import type { WorktreeEvent } from '../telemetry/events.js';
import { appendChunk, CHUNK_MAX_CHARS } from './output-stream.js';

/** Sends one job's task log, as the worker's pool writes it, to the batch's output stream. */
export interface OutputSender {
  /** Told of the task's lifecycle events here: the first of its worktree names the task's log. */
  onEvent(event: WorktreeEvent): void;
  /**
   * Sends the rest of the log (all but the closing line this worker's pool wrote: the submitter
   * writes the task's own, after its merge) and stops; resolves once Redis has every chunk, so the
   * job's result never overtakes its output. Idempotent.
   */
  finish(): Promise<void>;
}

export interface SendOutputOptions {
  readonly redis: Redis;
  readonly queueName: string;
  readonly batchId: string;
  readonly issueNumber: number;
  /** The issue's variant the job runs (absent: the issue's only attempt). */
  readonly variant?: number | undefined;
  readonly attempt: number;
  readonly worker: string;
  readonly host: string;
  /** The worker's state folder, where its pool records each task's log file. */
  readonly stateDir: string;
  readonly logger: Logger;
  /** Time between two looks at the log while the task runs. @default 200 */
  readonly pollMs?: number;
}

/** Tails the job's task log from its first byte and sends whole lines, in order, as they are written. */
export function sendTaskOutput(options: SendOutputOptions): OutputSender {
  const decoder = new StringDecoder('utf8');
  let worktreeId = '';
  let branch = '';
  let poolBatchId: string | undefined;
  let logFile: string | undefined;
  let offset = 0;
  // Decoded text not sent yet: a partial last line, or a held-back closing line.
  let pending = '';
  let seq = 0;
  let sending: Promise<void> = Promise.resolve();
  let warned = false;
  let timer: NodeJS.Timeout | undefined;
  let looking: Promise<void> = Promise.resolve();
  let finished: Promise<void> | undefined;

  const send = (text: string) => {
    for (const piece of pieces(text)) {
      const chunk = {
        issueNumber: options.issueNumber,
        ...(options.variant !== undefined ? { variant: options.variant } : {}),
        attempt: options.attempt,
        seq: seq++,
        worker: options.worker,
        host: options.host,
        worktreeId,
        branch,
        text: piece,
      };
      sending = sending
        .then(() => appendChunk(options.redis, options.queueName, options.batchId, chunk))
        .catch((error: unknown) => {
          // Best effort: the task goes on, and the submitter's log says chunks are missing.
          if (warned) return;
          warned = true;
          safeLog(options.logger, 'warn', { error: String(error) }, 'cannot send task output to the queue');
        });
    }
  };

  const read = async () => {
    if (logFile === undefined && worktreeId !== '') {
      // The record of this task's run (a reused worktree's id also names its earlier tasks').
      const record = await readTaskLog(options.stateDir, worktreeId).catch(() => undefined);
      if (record && record.batchId === poolBatchId) logFile = record.logFile;
    }
    if (logFile === undefined) return;
    const bytes = (await readFrom(logFile, offset)) ?? Buffer.alloc(0);
    offset += bytes.length;
    pending += decoder.write(bytes);
    const end = pending.lastIndexOf('\n') + 1;
    if (end === 0) return;
    let whole = pending.slice(0, end);
    // The pool's closing line may be the last line so far: held back until `finish` knows.
    const last = whole.lastIndexOf('\n', whole.length - 2) + 1;
    if (whole.startsWith(CLOSING_PREFIX, last)) whole = whole.slice(0, last);
    pending = pending.slice(whole.length);
    if (whole !== '') send(whole);
  };
  const look = () => {
    looking = looking.then(read).catch(() => undefined);
    return looking;
  };

  return {
    onEvent(event) {
      if (worktreeId !== '' || finished || event.type === 'slot-wait' || event.type === 'create-start')
        return;
      if (event.worktreeId === '') return;
      worktreeId = event.worktreeId;
      branch = event.branch ?? '';
      poolBatchId = event.batchId;
      timer = setInterval(() => void look(), options.pollMs ?? 200);
      timer.unref();
    },
    finish() {
      finished ??= (async () => {
        clearInterval(timer);
        await looking;
        await look();
        pending += decoder.end();
        // The rest: a last line without its newline gets one; this worker's closing line is dropped.
        const lines = pending === '' ? [] : pending.replace(/\n$/, '').split('\n');
        if (lines.at(-1)?.startsWith(CLOSING_PREFIX)) lines.pop();
        pending = '';
        if (lines.length > 0) send(`${lines.join('\n')}\n`);
        await sending;
      })();
      return finished;
    },
  };
}

/** `text` (whole lines) cut into entries of at most `CHUNK_MAX_CHARS`, at line ends when a line fits. */
function pieces(text: string): string[] {
  const out: string[] = [];
  let rest = text;
  while (rest.length > CHUNK_MAX_CHARS) {
    const cut = rest.lastIndexOf('\n', CHUNK_MAX_CHARS - 1) + 1;
    // A line longer than an entry is cut, never inside a surrogate pair.
    const high = /[\uD800-\uDBFF]/.test(rest.charAt(CHUNK_MAX_CHARS - 1));
    const at = cut > 0 ? cut : CHUNK_MAX_CHARS - (high ? 1 : 0);
    out.push(rest.slice(0, at));
    rest = rest.slice(at);
  }
  if (rest !== '') out.push(rest);
  return out;
}
