import { isMiyabiError, MiyabiError, toError } from '../errors.js';
import type { WorktreeInfo } from '../manager/types.js';
import type { WorktreeManager } from '../manager/worktree-manager.js';
import { startTaskSpan } from '../telemetry/otel-spans.js';
import type { TaskError, TaskExecutor, TaskResult, TaskStatus, WorktreeTask } from './types.js';

/** Why a task's signal was aborted: its own timeout, or the batch (fail-fast or caller abort). */
export class TaskAbort extends Error {
  constructor(
    readonly kind: 'timeout' | 'cancelled',
    message: string,
  ) {
    super(message);
  }
}

export interface TaskRun {
  readonly manager: WorktreeManager;
  readonly task: WorktreeTask;
  readonly executor: TaskExecutor;
  readonly batchId: string;
  readonly batchSignal: AbortSignal;
  readonly timeoutMs: number;
  readonly abortGraceMs: number;
  readonly autoCleanup: boolean;
  /** Called as the worktree changes hands, so the pool can report statuses. */
  readonly onWorktree: (worktree: WorktreeInfo, status: WorktreeInfo['status'] | 'removed') => void;
}

type ExecutorOutcome =
  | { kind: 'value'; value: unknown }
  | { kind: 'error'; error: unknown }
  | { kind: 'abandoned' };

/**
 * One whole task lifecycle: create the worktree, run the executor under a timeout that aborts its
 * signal (and settles the task even if the executor ignores it), then mark and clean up.
 */
export async function runTask(run: TaskRun): Promise<TaskResult> {
  const started = performance.now();
  const { manager, task, batchId } = run;
  const elapsed = () => Math.round(performance.now() - started);
  if (run.batchSignal.aborted) return cancelledBeforeStart(task, run.batchSignal, elapsed());

  const controller = new AbortController();
  const onBatchAbort = () => controller.abort(run.batchSignal.reason);
  run.batchSignal.addEventListener('abort', onBatchAbort, { once: true });
  const span = startTaskSpan({
    issueNumber: task.issueNumber,
    batchId,
    ...(task.agentType ? { attributes: { 'miyabi.agent.type': task.agentType } } : {}),
  });
  let finalOutcome: TaskStatus = 'failed';
  let finalError: TaskError | undefined;
  try {
    let worktree: WorktreeInfo;
    const createSpan = span.child('create');
    try {
      worktree = await manager.createWorktree(task.issueNumber, {
        signal: controller.signal,
        batchId,
        ...(task.branchName !== undefined ? { branchName: task.branchName } : {}),
        ...(task.baseBranch !== undefined ? { baseBranch: task.baseBranch } : {}),
      });
      createSpan.end();
    } catch (error) {
      createSpan.end(error);
      finalOutcome = controller.signal.aborted ? 'cancelled' : 'failed';
      finalError = describeError(error, controller.signal);
      return {
        issueNumber: task.issueNumber,
        worktreeId: '',
        status: finalOutcome,
        durationMs: elapsed(),
        error: finalError,
        cleanedUp: false,
      };
    }
    run.onWorktree(worktree, 'active');
    span.setWorktree({ id: worktree.id, branchName: worktree.branchName });

    const timer = setTimeout(
      () => controller.abort(new TaskAbort('timeout', `timed out after ${run.timeoutMs} ms`)),
      run.timeoutMs,
    );
    const execStarted = performance.now();
    manager.ctx.telemetry.record({
      type: 'execute-start',
      worktreeId: worktree.id,
      issueNumber: task.issueNumber,
      branch: worktree.branchName,
      batchId,
    });
    const executeSpan = span.child('execute');
    const outcome = await settleExecutor(run, worktree, controller.signal);
    clearTimeout(timer);
    const { status, error, output } = classify(outcome, controller.signal);
    executeSpan.end(error ? new Error(error.message) : undefined);
    finalOutcome = status;
    finalError = error;
    manager.ctx.telemetry.record({
      type: 'execute-complete',
      worktreeId: worktree.id,
      issueNumber: task.issueNumber,
      branch: worktree.branchName,
      batchId,
      durationMs: Math.round(performance.now() - execStarted),
      success: status === 'success',
      status,
    });
    // A failed or timed-out execution is an error of the run; a cancellation is the caller's choice.
    if (error && (status === 'failed' || status === 'timeout')) {
      manager.ctx.telemetry.record({
        type: 'error',
        worktreeId: worktree.id,
        issueNumber: task.issueNumber,
        branch: worktree.branchName,
        batchId,
        operation: 'execute',
        message: error.message,
        ...(error.code !== undefined ? { code: error.code } : {}),
      });
    }

    const finalStatus = status === 'success' ? 'completed' : 'failed';
    const base = {
      issueNumber: task.issueNumber,
      worktreeId: worktree.id,
      status,
      worktreePath: worktree.path,
      branchName: worktree.branchName,
      ...(error ? { error } : {}),
      ...(output !== undefined ? { output } : {}),
    };
    try {
      const marked = await manager.updateStatus(worktree.id, finalStatus);
      run.onWorktree(marked, finalStatus);
      if (!run.autoCleanup) return { ...base, durationMs: elapsed(), cleanedUp: false };
      // An executor that ignored its signal may still be writing there: never delete under it.
      if (outcome.kind === 'abandoned') {
        const message = `${error?.message ?? 'abandoned'}; the executor did not stop within ${run.abortGraceMs} ms, so its worktree was kept (reclaim it with cleanupAll)`;
        return { ...base, error: { ...error, message }, durationMs: elapsed(), cleanedUp: false };
      }
      const removed = await span.step('cleanup', () => manager.removeWorktree(worktree.id, { batchId }));
      run.onWorktree(marked, 'removed');
      return {
        ...base,
        durationMs: elapsed(),
        cleanedUp: removed.worktreeRemoved,
        ...(removed.archived ? { archiveRef: removed.archived.ref } : {}),
      };
    } catch (cleanupError) {
      // The task's own outcome stands; the worktree stays for `cleanup` to reclaim.
      return {
        ...base,
        durationMs: elapsed(),
        cleanedUp: false,
        error: error ?? describeError(cleanupError, undefined),
      };
    }
  } finally {
    run.batchSignal.removeEventListener('abort', onBatchAbort);
    span.end(finalOutcome, finalError ? new Error(finalError.message) : undefined);
  }
}

/** Runs the executor; once the signal aborts it gets `abortGraceMs` to settle, then it is abandoned. */
async function settleExecutor(
  run: TaskRun,
  worktree: WorktreeInfo,
  signal: AbortSignal,
): Promise<ExecutorOutcome> {
  const execution: Promise<ExecutorOutcome> = Promise.resolve()
    .then(() =>
      run.executor(worktree, run.task, {
        signal,
        worktree,
        task: run.task,
        batchId: run.batchId,
        timeoutMs: run.timeoutMs,
      }),
    )
    .then(
      (value): ExecutorOutcome => ({ kind: 'value', value }),
      (error: unknown): ExecutorOutcome => ({ kind: 'error', error }),
    );
  let graceTimer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const abandoned = new Promise<ExecutorOutcome>((resolve) => {
    onAbort = () => {
      graceTimer = setTimeout(() => resolve({ kind: 'abandoned' }), run.abortGraceMs);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([execution, abandoned]);
  } finally {
    clearTimeout(graceTimer);
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

function classify(
  outcome: ExecutorOutcome,
  signal: AbortSignal,
): { status: TaskStatus; error?: TaskError; output?: unknown } {
  if (signal.aborted) {
    // Whatever the executor did after its signal aborted, the abort decides the outcome.
    const reason = signal.reason;
    if (reason instanceof TaskAbort && reason.kind === 'timeout') {
      return { status: 'timeout', error: { message: reason.message, code: 'TIMEOUT' } };
    }
    return { status: 'cancelled', error: { message: abortMessage(reason), code: 'CANCELLED' } };
  }
  if (outcome.kind === 'value') return { status: 'success', output: outcome.value };
  if (outcome.kind === 'error') return { status: 'failed', error: describeError(outcome.error, undefined) };
  return { status: 'failed', error: { message: 'executor was abandoned' } };
}

function cancelledBeforeStart(task: WorktreeTask, signal: AbortSignal, durationMs: number): TaskResult {
  return {
    issueNumber: task.issueNumber,
    worktreeId: '',
    status: 'cancelled',
    durationMs,
    error: { message: `not started: ${abortMessage(signal.reason)}`, code: 'CANCELLED' },
    cleanedUp: false,
  };
}

function abortMessage(reason: unknown): string {
  if (reason instanceof Error) return reason.message;
  return reason === undefined ? 'aborted' : String(reason);
}

/** A thrown value (of any type) as plain data. */
export function describeError(error: unknown, signal: AbortSignal | undefined): TaskError {
  if (signal?.aborted && !(isMiyabiError(error) && error.code !== 'CANCELLED')) {
    return { message: abortMessage(signal.reason), code: 'CANCELLED' };
  }
  const err = toError(error);
  if (err instanceof MiyabiError) return { message: err.message, code: err.code, hint: err.hint };
  const code = (err as { code?: unknown }).code;
  return { message: err.message, ...(typeof code === 'string' ? { code } : {}) };
}
