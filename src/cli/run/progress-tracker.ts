import type { TaskResult, WorktreeEvent, WorktreeManager } from '../../index.js';
import { formatBytes, taskStarted } from '../../internal.js';
import { overlapLine } from '../render/overlaps.js';
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
 * Follows a batch through the manager's events: `creating`, `setup`, `running`, `merging`,
 * `pushing`, `cleanup`, then the final status of `task-complete` — the same value the result, the
 * table and the exit code carry. A create that fails shows `failed` or `cancelled` at once. Every
 * change is handed to `renderer`.
 */
export function createProgressTracker(
  manager: WorktreeManager,
  issues: readonly number[],
  renderer: ProgressRenderer,
  options: { readonly now?: () => number } = {},
): ProgressTracker {
  const now = options.now ?? Date.now;
  const tasks = new Map<number, TaskProgress>(
    issues.map((issueNumber) => [issueNumber, { issueNumber, state: 'queued' }]),
  );
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
    // The radar's news goes above the live view (or as a line of its own off a terminal).
    if (event.type === 'overlap') {
      if (tasks.has(event.a.issue) && tasks.has(event.b.issue)) renderer.notice(overlapLine(event));
      return;
    }
    const issue = event.issueNumber;
    if (issue === undefined || !tasks.has(issue)) return;
    if (event.type === 'check-start') {
      // Its state and where it is checked at once (the state alone would drop the line).
      const ahead = `${event.ahead} ahead${event.together ? `, ${event.together} together` : ''}`;
      return patch(issue, { state: 'checking', lastLine: `checking on top of ${event.into} (${ahead})` });
    }
    const state = STATE_OF_EVENT[event.type];
    if (state) return patch(issue, { state });
    if (event.type === 'task-complete') return patch(issue, { state: event.status });
    if (event.type === 'memory-wait') {
      // On its row, and as a line of its own (off a terminal rows show only state changes).
      renderer.notice(`#${issue} ${memoryWaitLine(event)}`);
      return patch(issue, { lastLine: memoryWaitLine(event) });
    }
    if (event.type === 'check-complete' && !event.ok) {
      return patch(issue, {
        lastLine: event.timedOut ? 'check timed out' : `check failed (exit ${event.exitCode})`,
      });
    }
    if (event.type === 'task-paused') {
      return patch(issue, {
        state: 'paused',
        lastLine: `usage limit (${event.source}): paused until ${event.until}`,
      });
    }
    if (event.type === 'merge-complete' || event.type === 'push-complete') {
      return patch(issue, {
        lastLine: event.type === 'merge-complete' ? mergeLine(event) : `pushed to ${event.remote}`,
      });
    }
    if (event.type === 'error') {
      if (event.operation === 'create') {
        return patch(issue, {
          state: event.code === 'CANCELLED' ? 'cancelled' : 'failed',
          lastLine: event.message,
        });
      }
      if (event.operation !== 'execute')
        patch(issue, { lastLine: `${event.operation} failed: ${event.code ?? event.message}` });
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
          ...(taskStarted(result) ? {} : { notStarted: true }),
        });
      }
      renderer.done(snapshot());
    },
    dispose,
  };
}

// The stage each event starts; `task-complete` gives the final state.
const STATE_OF_EVENT: Partial<Record<WorktreeEvent['type'], TaskState>> = {
  'create-start': 'creating',
  'setup-start': 'setup',
  'execute-start': 'running',
  'check-start': 'checking',
  // After a usage limit (`task-paused`, with its reset time) the task runs again in its worktree.
  'task-resumed': 'running',
  'merge-start': 'merging',
  'push-start': 'pushing',
  'cleanup-start': 'cleanup',
};

function mergeLine(event: Extract<WorktreeEvent, { type: 'merge-complete' }>): string {
  return event.status === 'up-to-date' ? 'nothing to merge' : `${event.status} into ${event.into}`;
}

function memoryWaitLine(event: Extract<WorktreeEvent, { type: 'memory-wait' }>): string {
  return `waiting for memory: ${formatBytes(event.availableBytes)} available, --min-free-memory ${formatBytes(event.minFreeBytes)} (${event.running} running)`;
}

function isFinal(state: TaskState): boolean {
  return state === 'success' || state === 'failed' || state === 'timeout' || state === 'cancelled';
}
