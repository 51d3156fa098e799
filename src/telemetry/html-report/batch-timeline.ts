import type { TaskUsage } from '../../core/task-result.js';
import type { WorktreeEvent } from '../events.js';

/** A stretch of a task's life drawn as one bar. */
export type TimelinePhase =
  | 'wait'
  | 'create'
  | 'setup'
  | 'execute'
  | 'paused'
  | 'check'
  | 'merge'
  | 'push'
  | 'cleanup';

/** Every phase, in lifecycle order (the legend's order). */
export const TIMELINE_PHASES: readonly TimelinePhase[] = [
  'wait',
  'create',
  'setup',
  'execute',
  'paused',
  'check',
  'merge',
  'push',
  'cleanup',
];

/** One bar: a phase from `startMs` to `endMs` (epoch ms); `failed` when it ended in an error. */
export interface PhaseSpan {
  readonly phase: TimelinePhase;
  readonly startMs: number;
  readonly endMs: number;
  readonly failed: boolean;
}

/** One task of the batch: its bars and how it ended. */
export interface TaskTimeline {
  readonly issueNumber: number | null;
  readonly worktreeId: string;
  readonly branch: string | null;
  readonly phases: readonly PhaseSpan[];
  /** `success | failed | timeout | cancelled`, or `unfinished` when no `task-complete` was recorded. */
  readonly outcome: string;
  readonly stage: string | null;
  readonly code: string | null;
  /** The last error message recorded for the task, if any. */
  readonly error: string | null;
  /** Worker (`name@host-pid`) or host where it ran, when the events say; else null (a local run). */
  readonly worker: string | null;
  readonly host: string | null;
  readonly startMs: number;
  readonly endMs: number;
  /** The task's own duration (its `task-complete`'s, else from its create to its last event), wait excluded. */
  readonly durationMs: number;
  /** What its command used (from its result), when measured. */
  readonly resources?: { readonly peakRssBytes: number; readonly cpuSeconds: number } | undefined;
  /** The tokens and cost its agent reported (from its result), when it did. */
  readonly usage?: TaskUsage | undefined;
  /** The last lines of its command's output (its result's `output.lastLines`), when the result has them. */
  readonly lastLines: string | null;
  /** Its log file where the batch ran (a remote task's: the submitter's copy), when the result names one. */
  readonly logFile: string | null;
  /**
   * Where its branch landed, when it did (a merge or a checked landing that moved the target): the
   * `order`-th move of `into` in this batch (1st, 2nd, …), `together` tasks in that move (a batch).
   */
  readonly landed?: { readonly into: string; readonly order: number; readonly together: number } | undefined;
}

/**
 * A task's result as the pool returns it (`TaskResult` fits): draws tasks that have no events (cancelled
 * before they started) and completes those whose events end early (a create that failed).
 */
export interface TaskOutcomeInput {
  readonly issueNumber: number;
  /** Empty when the task never got a worktree. */
  readonly worktreeId: string;
  readonly status: string;
  readonly stage?: string | undefined;
  readonly error?: { readonly message: string; readonly code?: string | undefined } | undefined;
  readonly durationMs: number;
  readonly worker?: string | undefined;
  readonly host?: string | undefined;
  readonly resources?: { readonly peakRssBytes: number; readonly cpuSeconds: number } | undefined;
  readonly usage?: TaskUsage | undefined;
  readonly logFile?: string | undefined;
  /** The executor's output: its `lastLines` (a command's) are shown. */
  readonly output?: unknown;
  /** Its merge (where and how it landed), when it had one. */
  readonly merge?: { readonly into: string; readonly status: string; readonly commit: string } | undefined;
  /** Its checked landing: the commit the target took with it (shared by a batch), how many together. */
  readonly landing?: { readonly checkedCommit?: string; readonly landedTogether?: number } | undefined;
}

/** One pair of tasks that changed the same files (an `overlap` event), read tolerantly. */
export interface OverlapPair {
  readonly a: { readonly issue: number | null; readonly worktreeId: string; readonly branch: string };
  readonly b: { readonly issue: number | null; readonly worktreeId: string; readonly branch: string };
  readonly files: readonly string[];
  readonly conflict: boolean;
  readonly conflictPaths: readonly string[];
  readonly atMs: number;
}

/** What the timeline page shows, computed from a batch's events. Plain data. */
export interface BatchTimeline {
  readonly startMs: number;
  readonly endMs: number;
  readonly tasks: readonly TaskTimeline[];
  /** Tasks between their create and their end, as a step function: `[timeMs, running]` points. */
  readonly concurrency: readonly (readonly [number, number])[];
  readonly peakConcurrency: number;
  readonly overlaps: readonly OverlapPair[];
}

// Which start event opens which phase, and which completion closes it.
const OPENERS: Readonly<Record<string, TimelinePhase>> = {
  'create-start': 'create',
  'setup-start': 'setup',
  'execute-start': 'execute',
  'check-start': 'check',
  'merge-start': 'merge',
  'push-start': 'push',
  'cleanup-start': 'cleanup',
};
const CLOSERS: Readonly<Record<string, TimelinePhase>> = {
  'create-complete': 'create',
  'setup-complete': 'setup',
  'execute-complete': 'execute',
  'check-complete': 'check',
  'merge-complete': 'merge',
  'push-complete': 'push',
  'cleanup-complete': 'cleanup',
};

const PAUSE_SWITCH: readonly [TimelinePhase, TimelinePhase] = ['execute', 'paused'];
const RESUME_SWITCH: readonly [TimelinePhase, TimelinePhase] = ['paused', 'execute'];

type LooseEvent = Readonly<Record<string, unknown>> & { readonly type: string; readonly timestamp: string };

/**
 * Builds the timeline of one batch from its events (any order; unknown event types ignored, except
 * `overlap`, read field by field so that an older or newer shape never breaks the page). Tasks are
 * keyed by worktree id, in the order they started. The wait for a slot runs from the batch's first
 * event to the task's `create-start`.
 */
export function buildBatchTimeline(
  events: readonly WorktreeEvent[],
  results: readonly TaskOutcomeInput[] = [],
): BatchTimeline {
  const loose = (events as readonly unknown[])
    .filter(isLooseEvent)
    .map((event) => ({ event, at: Date.parse(event.timestamp) }))
    .filter(({ at }) => Number.isFinite(at))
    .sort((x, y) => x.at - y.at);
  const startMs = loose[0]?.at ?? 0;
  const endMs = Math.max(startMs, ...loose.map(({ at }) => at));
  const byTask = new Map<string, { event: LooseEvent; at: number }[]>();
  const overlaps: OverlapPair[] = [];
  for (const item of loose) {
    if (item.event.type === 'overlap') {
      const pair = readOverlap(item.event, item.at);
      if (pair) overlaps.push(pair);
      continue;
    }
    // Said before the task's worktree existed: its row's wait bar already covers the hold.
    if (item.event.type === 'memory-wait') continue;
    const id = item.event.worktreeId;
    if (typeof id !== 'string' || id === '') continue;
    const list = byTask.get(id) ?? [];
    list.push(item);
    byTask.set(id, list);
  }
  const tasks = withLandingOrder(
    withResults(
      [...byTask.values()].map((items) => taskTimeline(items, startMs, endMs)),
      results,
      startMs,
    ),
    results,
    byTask,
  );
  const concurrency = concurrencySteps(tasks);
  return {
    startMs,
    endMs,
    tasks,
    concurrency,
    peakConcurrency: Math.max(0, ...concurrency.map(([, running]) => running)),
    overlaps,
  };
}

/**
 * The timelines completed by the results: a task takes its result's outcome (the batch record's,
 * which a later merge may have changed), and a result with no events at all (cancelled while
 * queued) gets a row without bars.
 */
function withResults(
  tasks: readonly TaskTimeline[],
  results: readonly TaskOutcomeInput[],
  batchStartMs: number,
): TaskTimeline[] {
  const out = [...tasks];
  for (const result of results) {
    const index = out.findIndex((task) =>
      result.worktreeId !== ''
        ? task.worktreeId === result.worktreeId
        : task.issueNumber === result.issueNumber,
    );
    const known = index === -1 ? undefined : out[index];
    const fromResult = {
      outcome: result.status,
      stage: result.stage ?? null,
      code: result.error?.code ?? null,
      error: result.error?.message ?? null,
      ...(result.resources ? { resources: result.resources } : {}),
      ...(result.usage ? { usage: result.usage } : {}),
    };
    const where = { worker: result.worker ?? null, host: result.host ?? null };
    const output = { lastLines: lastLinesOf(result.output), logFile: result.logFile ?? null };
    if (!known) {
      out.push({
        issueNumber: result.issueNumber,
        worktreeId: result.worktreeId,
        branch: null,
        phases: [],
        ...fromResult,
        ...where,
        ...output,
        startMs: batchStartMs,
        endMs: batchStartMs,
        durationMs: result.durationMs,
      });
    } else {
      out[index] = {
        ...known,
        ...fromResult,
        ...output,
        worker: known.worker ?? where.worker,
        host: known.host ?? where.host,
      };
    }
  }
  return out;
}

/**
 * Each landed task's place in the order its target moved: by the time of its `merge-complete`; the
 * tasks of one checked batch (the same `checkedCommit`) share one move.
 */
function withLandingOrder(
  tasks: readonly TaskTimeline[],
  results: readonly TaskOutcomeInput[],
  byTask: ReadonlyMap<string, readonly { event: LooseEvent; at: number }[]>,
): TaskTimeline[] {
  const moves = results
    .filter((result) => result.merge && result.merge.status !== 'up-to-date' && result.worktreeId !== '')
    .map((result) => {
      const merge = result.merge as NonNullable<TaskOutcomeInput['merge']>;
      const completed = byTask.get(result.worktreeId)?.find((item) => item.event.type === 'merge-complete');
      return {
        worktreeId: result.worktreeId,
        into: merge.into,
        move: result.landing?.checkedCommit ?? merge.commit,
        together: result.landing?.landedTogether ?? 1,
        at: completed?.at ?? Number.POSITIVE_INFINITY,
      };
    })
    .sort((x, y) => x.at - y.at);
  const order = new Map<string, number>();
  const landed = new Map<string, NonNullable<TaskTimeline['landed']>>();
  for (const move of moves) {
    const key = `${move.into}\0${move.move}`;
    if (!order.has(key))
      order.set(key, [...order.keys()].filter((k) => k.startsWith(`${move.into}\0`)).length + 1);
    landed.set(move.worktreeId, { into: move.into, order: order.get(key) ?? 0, together: move.together });
  }
  return tasks.map((task) => {
    const where = landed.get(task.worktreeId);
    return where ? { ...task, landed: where } : task;
  });
}

/** `output.lastLines` when it is non-empty text (a command task's output), else null. */
function lastLinesOf(output: unknown): string | null {
  if (typeof output !== 'object' || output === null) return null;
  const { lastLines } = output as { lastLines?: unknown };
  return typeof lastLines === 'string' && lastLines !== '' ? lastLines : null;
}

function isLooseEvent(value: unknown): value is LooseEvent {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return typeof record.type === 'string' && typeof record.timestamp === 'string';
}

function taskTimeline(
  items: readonly { event: LooseEvent; at: number }[],
  batchStartMs: number,
  batchEndMs: number,
): TaskTimeline {
  const first = items[0]?.event;
  const phases: PhaseSpan[] = [];
  const open = new Map<TimelinePhase, number>();
  let outcome = 'unfinished';
  let stage: string | null = null;
  let code: string | null = null;
  let error: string | null = null;
  let worker: string | null = null;
  let host: string | null = null;
  let issueNumber: number | null = null;
  let branch: string | null = null;
  let endMs: number | undefined;
  let durationMs: number | undefined;
  let createFailed = false;
  const close = (phase: TimelinePhase, at: number, failed: boolean) => {
    const started = open.get(phase);
    if (started === undefined) return;
    open.delete(phase);
    phases.push({ phase, startMs: started, endMs: Math.max(started, at), failed });
  };
  for (const { event, at } of items) {
    if (typeof event.issueNumber === 'number') issueNumber = event.issueNumber;
    if (typeof event.branch === 'string') branch = event.branch;
    // A usage limit splits the execute bar: execute, paused (until the reset), execute again.
    if (event.type === 'task-paused' || event.type === 'task-resumed') {
      const [ends, starts] = event.type === 'task-paused' ? PAUSE_SWITCH : RESUME_SWITCH;
      close(ends, at, false);
      open.set(starts, at);
      continue;
    }
    const opens = OPENERS[event.type];
    const closes = CLOSERS[event.type];
    if (opens) {
      // The wait for a slot ends where the task's first create starts.
      if (opens === 'create' && !phases.some((p) => p.phase === 'create') && at > batchStartMs) {
        phases.push({ phase: 'wait', startMs: batchStartMs, endMs: at, failed: false });
      }
      open.set(opens, at);
    } else if (closes) {
      close(closes, at, event.success === false);
    } else if (event.type === 'error') {
      if (typeof event.message === 'string') error = event.message;
      const operation = typeof event.operation === 'string' ? event.operation : '';
      const phase = Object.values(OPENERS).find((p) => p === operation);
      if (phase) close(phase, at, true);
      if (operation === 'create') {
        createFailed = true;
        if (typeof event.code === 'string') code = event.code;
      }
    } else if (event.type === 'task-complete') {
      outcome = typeof event.status === 'string' ? event.status : 'unknown';
      stage = typeof event.stage === 'string' ? event.stage : null;
      code = typeof event.code === 'string' ? event.code : null;
      worker = typeof event.worker === 'string' && event.worker !== '' ? event.worker : null;
      host = typeof event.host === 'string' && event.host !== '' ? event.host : null;
      endMs = at;
      if (typeof event.durationMs === 'number' && Number.isFinite(event.durationMs))
        durationMs = event.durationMs;
    }
  }
  const lastAt = items.at(-1)?.at ?? batchStartMs;
  // A create that failed leaves no worktree, so the pool records no task-complete: its error says.
  if (outcome === 'unfinished' && createFailed) {
    outcome = 'failed';
    stage = 'create';
  }
  // A phase still open ran until the task ended (or the batch's last event, for an unfinished one).
  for (const phase of [...open.keys()])
    close(phase, endMs ?? Math.max(lastAt, batchEndMs), outcome !== 'success');
  phases.sort((x, y) => x.startMs - y.startMs);
  const workStart = phases.find((p) => p.phase !== 'wait')?.startMs ?? items[0]?.at ?? batchStartMs;
  return {
    issueNumber,
    worktreeId: typeof first?.worktreeId === 'string' ? first.worktreeId : '',
    branch,
    phases,
    outcome,
    stage,
    code,
    error,
    worker,
    host,
    startMs: phases[0]?.startMs ?? items[0]?.at ?? batchStartMs,
    endMs: endMs ?? lastAt,
    durationMs: Math.max(0, durationMs ?? (endMs ?? lastAt) - workStart),
    lastLines: null,
    logFile: null,
  };
}

/** Running tasks over time: +1 where a task's create starts, -1 where it ends. */
function concurrencySteps(tasks: readonly TaskTimeline[]): [number, number][] {
  const deltas: [number, number][] = [];
  for (const task of tasks) {
    const working = task.phases.filter((p) => p.phase !== 'wait');
    const from = working[0]?.startMs;
    if (from === undefined) continue;
    deltas.push([from, 1], [Math.max(from, task.endMs, ...working.map((p) => p.endMs)), -1]);
  }
  // Ends before starts at the same instant: a slot handed over is not two tasks at once.
  deltas.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  const steps: [number, number][] = [];
  let running = 0;
  for (const [at, delta] of deltas) {
    running += delta;
    const last = steps.at(-1);
    if (last && last[0] === at) last[1] = running;
    else steps.push([at, running]);
  }
  return steps;
}

function readOverlap(event: LooseEvent, at: number): OverlapPair | undefined {
  const a = readRef(event.a);
  const b = readRef(event.b);
  if (!a || !b) return undefined;
  return {
    a,
    b,
    files: stringList(event.files),
    conflict: event.conflict === true,
    conflictPaths: stringList(event.conflictPaths),
    atMs: at,
  };
}

function readRef(value: unknown): OverlapPair['a'] | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const ref = value as Record<string, unknown>;
  return {
    issue: typeof ref.issue === 'number' ? ref.issue : null,
    worktreeId: typeof ref.worktreeId === 'string' ? ref.worktreeId : '',
    branch: typeof ref.branch === 'string' ? ref.branch : '',
  };
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}
