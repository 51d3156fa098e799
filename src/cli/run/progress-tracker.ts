import type { TaskResult, VariantSpec, WorktreeEvent, WorktreeManager, WorktreeTask } from '../../index.js';
import { formatBytes, planAttempts, taskStarted, variantsLine } from '../../internal.js';
import { overlapLine } from '../render/overlaps.js';
import type { ProgressRenderer, TaskProgress, TaskState } from '../render/progress.js';

/** Keeps one {@link TaskProgress} per task from the manager's events and the executor's reports. */
export interface ProgressTracker {
  /** Moves a task to a state (the executor reports `setup` and `running`); `variant`: its attempt's row. */
  set(issueNumber: number, state: TaskState, variant?: number): void;
  /** A line of a task's output, shown as its last line (`variant`: on its attempt's row). */
  output(issueNumber: number, line: string, variant?: number): void;
  /**
   * The issues that run as several attempts: each gets one row per attempt (`#42 v2`), found by
   * its branch in the events, until its result replaces them with the issue's outcome.
   */
  attempts(attempts: readonly PlannedRow[], judging?: string): void;
  /** Final states from the pool's results; draws them and stops listening. */
  finish(results: readonly TaskResult[]): void;
  /** Stops listening without a final draw (the batch never started). */
  dispose(): void;
}

/** One attempt of an issue with variants: its row and the branch its events name. */
export interface PlannedRow {
  readonly issueNumber: number;
  readonly variant: number;
  readonly branchName: string;
}

/** The rows of a batch's attempts (none when each issue runs once), as the pool plans them. */
export function attemptRows(
  tasks: readonly WorktreeTask[],
  variants: readonly VariantSpec[],
  branchPattern: string,
): PlannedRow[] {
  return (planAttempts(tasks, variants, branchPattern)?.attempts ?? []).flatMap(({ task, variant }) =>
    variant && task.variant !== undefined && task.branchName !== undefined
      ? [{ issueNumber: task.issueNumber, variant: task.variant, branchName: task.branchName }]
      : [],
  );
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
  // Rows by key: `42` for an issue, `42/v2` for one of its attempts (in the order they are shown).
  let tasks = new Map<string, TaskProgress>(
    issues.map((issueNumber) => [String(issueNumber), { issueNumber, state: 'queued' }]),
  );
  const known = new Set(issues);
  // An issue with variants: its attempts' rows by branch (its own row is gone until its result).
  const byBranch = new Map<number, Map<string, string>>();
  let judgingLine: string | undefined;
  const snapshot = () => [...tasks.values()];
  const keyOf = (issueNumber: number, variant?: number) =>
    variant === undefined ? String(issueNumber) : `${issueNumber}/v${variant}`;
  const patch = (key: string | undefined, change: Partial<TaskProgress>) => {
    const current = key === undefined ? undefined : tasks.get(key);
    if (!current || key === undefined) return;
    const state = change.state ?? current.state;
    tasks.set(key, {
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
      if (known.has(event.a.issue) && known.has(event.b.issue)) renderer.notice(overlapLine(event));
      return;
    }
    if (event.issueNumber === undefined || !known.has(event.issueNumber)) return;
    const rows = byBranch.get(event.issueNumber);
    // An attempt's events go to its row; an issue with variants has no row of its own meanwhile.
    const issue = rows ? rows.get(event.branch ?? '') : String(event.issueNumber);
    if (event.type === 'check-start') {
      // Its state and where it is checked at once (the state alone would drop the line).
      const ahead = `${event.ahead} ahead${event.together ? `, ${event.together} together` : ''}`;
      return patch(issue, { state: 'checking', lastLine: `checking on top of ${event.into} (${ahead})` });
    }
    const state = STATE_OF_EVENT[event.type];
    if (state) return patch(issue, { state });
    if (event.type === 'task-complete') {
      // An attempt that succeeded is judged now (its gate, its score): said on its row.
      const said = rows && event.status === 'success' && judgingLine ? { lastLine: judgingLine } : {};
      return patch(issue, { state: event.status, ...said });
    }
    if (event.type === 'memory-wait') {
      // On its row, and as a line of its own (off a terminal rows show only state changes).
      renderer.notice(`#${event.issueNumber} ${memoryWaitLine(event)}`);
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
    set: (issueNumber, state, variant) => patch(keyOf(issueNumber, variant), { state }),
    output: (issueNumber, line, variant) => {
      if (line.trim() !== '') patch(keyOf(issueNumber, variant), { lastLine: line });
    },
    attempts(planned, judging) {
      judgingLine = judging;
      const of = new Map<number, PlannedRow[]>();
      for (const row of planned) of.set(row.issueNumber, [...(of.get(row.issueNumber) ?? []), row]);
      tasks = new Map(
        [...tasks].flatMap(([key, row]): [string, TaskProgress][] => {
          const own = row.variant === undefined ? of.get(row.issueNumber) : undefined;
          if (!own) return [[key, row]];
          byBranch.set(
            row.issueNumber,
            new Map(own.map((a) => [a.branchName, keyOf(a.issueNumber, a.variant)])),
          );
          return own.map((a) => [
            keyOf(a.issueNumber, a.variant),
            { issueNumber: a.issueNumber, variant: a.variant, state: 'queued' },
          ]);
        }),
      );
      renderer.update(snapshot());
    },
    finish(results) {
      dispose();
      for (const result of results) {
        if (result.variants) collapse(result);
        const current = tasks.get(String(result.issueNumber));
        if (!current) continue;
        const lastLine = result.error?.message ?? current.lastLine;
        tasks.set(String(result.issueNumber), {
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

  /** An issue's attempt rows become its one row, where its first attempt's was: the issue's outcome. */
  function collapse(result: TaskResult): void {
    const rows = byBranch.get(result.issueNumber);
    if (!rows) return;
    const own = [...rows.values()].map((key) => tasks.get(key)).filter((row) => row !== undefined);
    const started = own.map((row) => row.startedAt).filter((at) => at !== undefined);
    const board = variantsLine(result).replace(/^#\d+ /, '');
    const row: TaskProgress = {
      issueNumber: result.issueNumber,
      state: result.status,
      ...(started.length > 0 ? { startedAt: Math.min(...started) } : {}),
      // Its scoreboard, as the summary says it (`v3 won (90) · v2 70 · v1 check failed`).
      lastLine: result.status === 'success' ? board : (result.error?.message ?? board),
    };
    const first = [...rows.values()][0];
    tasks = new Map(
      [...tasks].flatMap(([key, current]): [string, TaskProgress][] =>
        key === first
          ? [[String(result.issueNumber), row]]
          : [...rows.values()].includes(key)
            ? []
            : [[key, current]],
      ),
    );
    byBranch.delete(result.issueNumber);
  }
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
