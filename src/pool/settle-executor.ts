import type { WorktreeInfo } from '../core/types.js';
import type { TaskRun } from './run-task.js';
import type { ExecutorOutcome } from './task-outcome.js';
import type { TaskExecutor } from './types.js';

/** Runs the executor; once the signal aborts it gets `abortGraceMs` to settle, then it is abandoned. */
export async function settleExecutor(
  executor: TaskExecutor,
  run: TaskRun,
  worktree: WorktreeInfo,
  context: {
    signal: AbortSignal;
    env: Readonly<Record<string, string>>;
    conflicts?: readonly string[];
  },
  setOutput: (output: unknown) => void,
): Promise<ExecutorOutcome> {
  const { signal } = context;
  const execution: Promise<ExecutorOutcome> = Promise.resolve()
    .then(() =>
      executor(worktree, run.task, {
        signal,
        worktree,
        task: run.task,
        batchId: run.batchId,
        timeoutMs: run.timeoutMs,
        logFile: run.logFile,
        env: context.env,
        conflicts: context.conflicts ?? [],
        setOutput,
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
