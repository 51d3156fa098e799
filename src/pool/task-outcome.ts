import type { Landing, TaskResources, TaskUsage } from '../core/task-result.js';
import type { MergeResult, PushResult } from '../core/types.js';
import { isMiyabiError, MiyabiError, toError } from '../errors.js';
import type { PullRequestResult } from '../github/pull-request.js';
import type { PrepareResult } from '../setup/prepare-worktree.js';
import type { TaskStage } from '../telemetry/events.js';
import type { ResolveAttempt, TaskError, TaskPause, TaskResult, TaskStatus } from './types.js';

/** Why a task's signal was aborted: its own timeout, or the batch (fail-fast or caller abort). */
export class TaskAbort extends Error {
  constructor(
    readonly kind: 'timeout' | 'cancelled',
    message: string,
  ) {
    super(message);
  }
}

/** A task's processes went above `maxMemory` and were killed: the task fails with `MEMORY_LIMIT`. */
export class MemoryLimitAbort extends Error {
  readonly code = 'MEMORY_LIMIT';
}

export type ExecutorOutcome =
  | { kind: 'value'; value: unknown }
  | { kind: 'error'; error: unknown }
  | { kind: 'abandoned' };

/** How far a task got: filled in stage by stage, then turned into the one {@link TaskResult}. */
export interface Progress {
  status: TaskStatus;
  stage?: TaskStage;
  error?: TaskError;
  output?: unknown;
  resources?: TaskResources;
  usage?: TaskUsage;
  prepare?: PrepareResult;
  merge?: MergeResult;
  landing?: Landing;
  push?: PushResult;
  pr?: PullRequestResult;
  uncommitted?: readonly string[];
  resolveAttempts?: ResolveAttempt[];
  pause?: TaskPause;
}

/** Marks the task ended at `stage`: timed out or cancelled if its signal says so, else failed. */
export function fail(
  progress: Progress,
  stage: TaskStage,
  error: unknown,
  signal: AbortSignal | undefined,
): void {
  progress.stage = stage;
  const reason: unknown = signal?.aborted ? signal.reason : undefined;
  if (reason instanceof TaskAbort && reason.kind === 'timeout') {
    progress.status = 'timeout';
    progress.error = { message: reason.message, code: 'TIMEOUT' };
  } else if (signal?.aborted || isMiyabiError(error, 'CANCELLED')) {
    progress.status = 'cancelled';
    progress.error = describeError(error, signal);
  } else {
    // A setup that ran out of its own budget is a timeout too.
    progress.status = isMiyabiError(error, 'TIMEOUT') ? 'timeout' : 'failed';
    progress.error = describeError(error, undefined);
  }
}

export function classify(
  outcome: ExecutorOutcome,
  signal: AbortSignal,
): { status: TaskStatus; error?: TaskError; output?: unknown } {
  if (signal.aborted) {
    // Whatever the executor did after its signal aborted, the abort decides the outcome.
    const reason = signal.reason;
    if (reason instanceof MemoryLimitAbort) {
      return {
        status: 'failed',
        error: describeError(new MiyabiError('MEMORY_LIMIT', reason.message), undefined),
      };
    }
    if (reason instanceof TaskAbort && reason.kind === 'timeout') {
      return { status: 'timeout', error: { message: reason.message, code: 'TIMEOUT' } };
    }
    return { status: 'cancelled', error: { message: abortMessage(reason), code: 'CANCELLED' } };
  }
  if (outcome.kind === 'value') return { status: 'success', output: outcome.value };
  if (outcome.kind === 'error') return { status: 'failed', error: describeError(outcome.error, undefined) };
  return { status: 'failed', error: { message: 'executor was abandoned' } };
}

export function abortMessage(reason: unknown): string {
  if (reason instanceof Error) return reason.message;
  return reason === undefined ? 'aborted' : String(reason);
}

/** A thrown value (of any type) as plain data; conflicting paths of a `MERGE_CONFLICT` included. */
export function describeError(error: unknown, signal: AbortSignal | undefined): TaskError {
  if (signal?.aborted && !(isMiyabiError(error) && error.code !== 'CANCELLED')) {
    return { message: abortMessage(signal.reason), code: 'CANCELLED' };
  }
  const err = toError(error);
  if (err instanceof MiyabiError) {
    return {
      message: err.message,
      code: err.code,
      hint: err.hint,
      // Only when it names a step: a plain-text hint reads the same everywhere.
      ...(err.hintParts.some((part) => typeof part !== 'string') ? { hintParts: err.hintParts } : {}),
      ...(err.conflicts ? { conflicts: err.conflicts.map((conflict) => conflict.path) } : {}),
    };
  }
  const code = (err as { code?: unknown }).code;
  return { message: err.message, ...(typeof code === 'string' ? { code } : {}) };
}
