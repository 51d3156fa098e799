import type { WorktreeManager } from '../../manager/worktree-manager.js';
import type { TaskResult } from '../../pool/types.js';
import type { WorktreeEvent } from '../../telemetry/events.js';
import type { ProgressRenderer, TaskProgress, TaskState } from '../render/progress.js';

/** Keeps one {@link TaskProgress} per task from the manager's events and the executor's reports. */
export interface ProgressTracker {
  /** Moves a task to a state (the executor reports `setup` and `running`). */
  set(issueNumber: number, state: TaskState): void;
  /** A line of a task's output, shown as its last line. */
  output(issueNumber: number, line: string): void;
  /** Final states from the pool's results; draws them and stops listening. */
  finish(results: readonly TaskResult[]): void;
  /** Stops listening without a final draw (the batch never started). */
  dispose(): void;
}

/**
 * Follows a batch: `creating` on `create-start`, `cleanup` and then the outcome on
 * `execute-complete` / `cleanup-complete`, `failed` or `cancelled` when a create fails; the
 * executor reports `setup` and `running`. Every change is handed to `renderer`.
 */
export function createProgressTracker(
  manager: WorktreeManager,
  issues: readonly number[],
  renderer: ProgressRenderer,
  options: { readonly autoCleanup: boolean; readonly now?: () => number },
): ProgressTracker {
  const now = options.now ?? Date.now;
  const tasks = new Map<number, TaskProgress>(
    issues.map((issueNumber) => [issueNumber, { issueNumber, state: 'queued' }]),
  );
  // How each task's execution ended, shown once its cleanup is done.
  const outcomes = new Map<number, TaskState>();
  const snapshot = () => [...tasks.values()];
  const patch = (issueNumber: number, change: Partial<TaskProgress>) => {
    const current = tasks.get(issueNumber);
    if (!current) return;
    const state = change.state ?? current.state;
    tasks.set(issueNumber, {
      ...current,
      ...change,
      ...(current.startedAt === undefined && state !== 'queued' ? { startedAt: now() } : {}),
      ...(isFinal(state) && current.endedAt === undefined ? { endedAt: now() } : {}),
    });
    renderer.update(snapshot());
  };
  const onEvent = (event: WorktreeEvent) => {
    const issue = event.issueNumber;
    if (issue === undefined || !tasks.has(issue)) return;
    switch (event.type) {
      case 'create-start':
        return patch(issue, { state: 'creating' });
      case 'execute-complete': {
        outcomes.set(issue, event.status);
        return patch(issue, { state: options.autoCleanup ? 'cleanup' : event.status });
      }
      case 'cleanup-complete':
        return patch(issue, { state: outcomes.get(issue) ?? 'success' });
      case 'error':
        if (event.operation === 'create') {
          return patch(issue, {
            state: event.code === 'CANCELLED' ? 'cancelled' : 'failed',
            lastLine: event.message,
          });
        }
        if (event.operation === 'cleanup') return patch(issue, { state: outcomes.get(issue) ?? 'failed' });
        return;
      default:
        return;
    }
  };
  manager.on('event', onEvent);
  let listening = true;
  const dispose = () => {
    if (listening) manager.off('event', onEvent);
    listening = false;
  };
  return {
    set: (issueNumber, state) => patch(issueNumber, { state }),
    output: (issueNumber, line) => {
      if (line.trim() !== '') patch(issueNumber, { lastLine: line });
    },
    finish(results) {
      dispose();
      for (const result of results) {
        const current = tasks.get(result.issueNumber);
        if (!current) continue;
        const lastLine = result.error?.message ?? current.lastLine;
        tasks.set(result.issueNumber, {
          ...current,
          state: result.status,
          startedAt: current.startedAt ?? now() - result.durationMs,
          endedAt: current.endedAt ?? now(),
          ...(lastLine !== undefined ? { lastLine } : {}),
        });
      }
      renderer.done(snapshot());
    },
    dispose,
  };
}

function isFinal(state: TaskState): boolean {
  return state === 'success' || state === 'failed' || state === 'timeout' || state === 'cancelled';
}
