import { appendFile, open } from 'node:fs/promises';
import type { TaskPause } from '../core/task-result.js';
import { isMiyabiError, MiyabiError } from '../errors.js';
import { recogniseUsageLimit, type UsageLimitHit, usageLimitBackoffMs } from '../process/usage-limits.js';
import type { WorktreeEventInput } from '../telemetry/events.js';
import type { PauseGate } from './pause-gate.js';
import type { TaskDeadline } from './task-deadline.js';
import type { TaskExecutor } from './types.js';

/** The pool's side of usage-limit pauses, shared by the batch's tasks. */
export interface UsageLimitSettings {
  readonly gate: PauseGate;
  /** The program the tasks run (argv[0]); `''` for a function executor. */
  readonly program: string;
  readonly pauseOn: readonly RegExp[];
}

/** One task's side: its time budget, its events, and where its pauses are summed up. */
export interface TaskPauseHooks {
  readonly deadline: TaskDeadline;
  readonly record: (event: WorktreeEventInput) => void;
  readonly eventBase: {
    readonly worktreeId: string;
    readonly issueNumber: number;
    readonly branch: string;
    readonly batchId: string;
  };
  readonly onPause: (pause: TaskPause) => void;
}

// Enough for 20 lines of any agent's output.
const TAIL_BYTES = 16 * 1024;

/**
 * `executor`, made to wait out usage limits: when its command exits non-zero and the last 20 lines
 * of the task's log say a provider's limit was hit, the task pauses (its timeout clock stopped, the
 * pool starting no new task of the same program) until the reset, then runs again in the same
 * worktree with `MIYABI_RESUMED=1` and `MIYABI_ATTEMPT`. A reset beyond `pauseMax` fails it with
 * `USAGE_LIMIT` (its worktree kept).
 */
export function withUsageLimitPauses(
  executor: TaskExecutor,
  settings: UsageLimitSettings,
  hooks: TaskPauseHooks,
): TaskExecutor {
  return async (worktree, task, ctx) => {
    let attempt = 1;
    let count = 0;
    let totalMs = 0;
    for (;;) {
      const env =
        attempt === 1
          ? { ...ctx.env, MIYABI_ATTEMPT: '1' }
          : { ...ctx.env, MIYABI_RESUMED: '1', MIYABI_ATTEMPT: String(attempt) };
      try {
        return await executor(worktree, task, { ...ctx, env });
      } catch (error) {
        if (ctx.signal.aborted) throw error;
        const now = Date.now();
        const hit = await usageLimitOf(error, ctx.logFile, settings.pauseOn, now);
        if (!hit) throw error;
        count++;
        const until = hit.resetAt ?? now + usageLimitBackoffMs(count);
        hooks.onPause({ count, totalMs, until: new Date(until).toISOString() });
        if (!settings.gate.fits(until)) throw usageLimitError(hit, until, error, hooks.eventBase.batchId);
        const since = performance.now();
        settings.gate.pause(settings.program, until, hooks.eventBase);
        hooks.record({
          type: 'task-paused',
          ...hooks.eventBase,
          until: new Date(until).toISOString(),
          source: hit.source,
          text: hit.text,
          count,
        });
        await appendFile(
          ctx.logFile,
          `# miyabi-worktree: usage limit (${hit.source}: ${hit.text}); paused until ${new Date(until).toISOString()}\n`,
        );
        hooks.deadline.pause();
        await settings.gate.whenOpen(settings.program, ctx.signal);
        hooks.deadline.resume();
        const waited = Math.round(performance.now() - since);
        totalMs += waited;
        hooks.onPause({ count, totalMs, until: new Date(until).toISOString() });
        // Cancelled while paused: the abort decides the outcome.
        if (ctx.signal.aborted) throw error;
        attempt++;
        hooks.record({ type: 'task-resumed', ...hooks.eventBase, durationMs: waited, attempt });
        await appendFile(ctx.logFile, `# miyabi-worktree: resumed (attempt ${attempt})\n`);
      }
    }
  };
}

/**
 * The usage limit a failed executor met: only a command that ran to a non-zero exit, only in the last
 * lines of its log. Shared by the local pause and a queue worker's (src/queue/job-pause.ts).
 */
export async function usageLimitOf(
  error: unknown,
  logFile: string,
  pauseOn: readonly RegExp[],
  now: number,
): Promise<UsageLimitHit | undefined> {
  if (!exitedNonZero(error)) return undefined;
  return recogniseUsageLimit(await readTail(logFile), { now }, pauseOn);
}

/** A command that ran to a non-zero exit (not one killed, nor another failure). */
function exitedNonZero(error: unknown): boolean {
  if (!isMiyabiError(error, 'COMMAND_FAILED')) return false;
  const exitCode = error.details?.exitCode;
  return typeof exitCode === 'number' && exitCode !== 0;
}

function usageLimitError(hit: UsageLimitHit, until: number, cause: unknown, batchId: string): MiyabiError {
  return new MiyabiError(
    'USAGE_LIMIT',
    `usage limit (${hit.source}: ${hit.text}) resets at ${new Date(until).toISOString()}, beyond the batch's pauseMax`,
    {
      cause,
      details: { source: hit.source, until: new Date(until).toISOString() },
      // Named by its batch: `run --resume <id>` in the CLI, resumeBatch('<id>') in the library.
      hint: [
        "The provider's usage limit resets after pauseMax: its worktree was kept; ",
        { call: 'resumeBatch', id: batchId },
        ' continues it after the reset.',
      ],
    },
  );
}

/** The last bytes of the task's log: the command's output ends it. */
async function readTail(file: string): Promise<string> {
  const handle = await open(file, 'r').catch(() => undefined);
  if (!handle) return '';
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    return buffer.toString('utf8');
  } finally {
    await handle.close();
  }
}
