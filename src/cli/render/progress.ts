import { createLogUpdate } from 'log-update';
import { formatDuration } from '../../index.js';
import type { OutputStream } from '../io.js';
import { padToWidth, sanitizeLine, stringWidth, truncateToWidth } from './text-width.js';

/** Where one task of `run` is. */
export type TaskState =
  | 'queued'
  | 'creating'
  | 'setup'
  | 'running'
  | 'checking'
  | 'paused'
  | 'merging'
  | 'pushing'
  | 'cleanup'
  | 'success'
  | 'failed'
  | 'timeout'
  | 'cancelled';

/** One line of the progress view. Times are epoch milliseconds. */
export interface TaskProgress {
  readonly issueNumber: number;
  /** One of the issue's variants (its row is the attempt's: `#42 v2`); absent for the issue itself. */
  readonly variant?: number | undefined;
  readonly state: TaskState;
  readonly startedAt?: number | undefined;
  readonly endedAt?: number | undefined;
  /** The last line the task printed (any control characters are cleaned up here). */
  readonly lastLine?: string | undefined;
  /** Cancelled before it started (from its result): counted apart, as the summary and report do. */
  readonly notStarted?: boolean | undefined;
}

const FINAL_STATES: ReadonlySet<TaskState> = new Set(['success', 'failed', 'timeout', 'cancelled']);
const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'] as const;
const SPINNER_FRAME_MS = 80;
const SYMBOLS: Partial<Record<TaskState, string>> = {
  queued: '·',
  paused: '⏸',
  success: '✔',
  failed: '✖',
  timeout: '⧗',
  cancelled: '⊘',
};
const STATE_WIDTH = 9; // 'cancelled'
const MIN_WIDTH = 20;

/** True for the states a task ends in. */
export function isFinalState(state: TaskState): boolean {
  return FINAL_STATES.has(state);
}

/** Options of {@link renderFrame}. */
export interface RenderFrameOptions {
  /** At most this many lines (summary included); the rest are folded into a "… N finished" line. */
  readonly maxLines?: number;
}

/**
 * The progress view as text, a pure function of its inputs: one line per task (symbol, `#issue`,
 * state, elapsed time, last output line), then a summary line. Lines never exceed `width` columns.
 * Active tasks show a spinner whose frame derives from `now`.
 */
export function renderFrame(
  states: readonly TaskProgress[],
  now: number,
  width: number,
  options: RenderFrameOptions = {},
): string {
  const columns = Math.max(MIN_WIDTH, Math.floor(width) || 80);
  const shown = selectShown(states, options.maxLines);
  const issueWidth = Math.max(0, ...states.map((task) => stringWidth(rowLabel(task))));
  const elapsedTexts = shown.map((task) => elapsedText(task, now));
  const elapsedWidth = Math.max(0, ...elapsedTexts.map((text) => stringWidth(text)));
  const lines = shown.map((task, index) => {
    const head = [
      symbolFor(task.state, now),
      padToWidth(rowLabel(task), issueWidth),
      padToWidth(task.state, STATE_WIDTH),
      padToWidth(elapsedTexts[index] ?? '', elapsedWidth, 'right'),
    ].join(' ');
    const last = task.lastLine ? sanitizeLine(task.lastLine) : '';
    return truncateToWidth(last ? `${head}  ${last}` : head.trimEnd(), columns);
  });
  const hidden = states.filter((task) => !shown.includes(task));
  if (hidden.length > 0) lines.push(truncateToWidth(`  … ${hiddenLine(hidden)}`, columns));
  lines.push(truncateToWidth(summaryLine(states), columns));
  return lines.join('\n');
}

/** A row's name: `#42`, or `#42 v2` for one of its variants. */
export function rowLabel(task: Pick<TaskProgress, 'issueNumber' | 'variant'>): string {
  return task.variant === undefined ? `#${task.issueNumber}` : `#${task.issueNumber} v${task.variant}`;
}

/**
 * The tasks that fit in `maxLines` (one is kept for the summary, one for "… N finished"): active
 * tasks first, then failures, then queued, then the rest; shown in input order.
 */
function selectShown(states: readonly TaskProgress[], maxLines: number | undefined): readonly TaskProgress[] {
  if (maxLines === undefined || states.length + 1 <= maxLines) return states;
  const room = Math.max(0, maxLines - 2);
  const rank = (task: TaskProgress) =>
    !isFinalState(task.state) && task.state !== 'queued'
      ? 0
      : task.state === 'failed' || task.state === 'timeout'
        ? 1
        : task.state === 'queued'
          ? 2
          : 3;
  const chosen = new Set(
    states
      .map((task, index) => ({ task, index }))
      .sort((a, b) => rank(a.task) - rank(b.task) || a.index - b.index)
      .slice(0, room)
      .map(({ index }) => index),
  );
  return states.filter((_, index) => chosen.has(index));
}

/** What the folded tasks are (`6 finished`, `6 finished, 2 queued`): mostly finished ones, never "more". */
function hiddenLine(hidden: readonly TaskProgress[]): string {
  const finished = hidden.filter((task) => isFinalState(task.state)).length;
  const queued = hidden.filter((task) => task.state === 'queued').length;
  const running = hidden.length - finished - queued;
  const parts = [
    [finished, 'finished'],
    [running, 'running'],
    [queued, 'queued'],
  ] as const;
  return parts
    .filter(([count]) => count > 0)
    .map(([count, label]) => `${count} ${label}`)
    .join(', ');
}

function symbolFor(state: TaskState, now: number): string {
  return SYMBOLS[state] ?? SPINNER[Math.floor(now / SPINNER_FRAME_MS) % SPINNER.length] ?? '*';
}

function elapsedText(task: TaskProgress, now: number): string {
  if (task.startedAt === undefined || task.state === 'queued') return '';
  return formatDuration((task.endedAt ?? now) - task.startedAt);
}

/** `2/5 finished · 1 succeeded · 1 failed · 2 running · 1 queued` (zero counts left out). */
export function summaryLine(states: readonly TaskProgress[]): string {
  const count = (predicate: (state: TaskState) => boolean) =>
    states.filter((task) => predicate(task.state)).length;
  const finished = count(isFinalState);
  const notStarted = states.filter((task) => task.notStarted === true).length;
  const parts = [
    [count((state) => state === 'success'), 'succeeded'],
    [count((state) => state === 'failed'), 'failed'],
    [count((state) => state === 'timeout'), 'timed out'],
    [count((state) => state === 'cancelled') - notStarted, 'cancelled'],
    [notStarted, 'cancelled before starting'],
    [count((state) => !isFinalState(state) && state !== 'queued' && state !== 'paused'), 'running'],
    [count((state) => state === 'paused'), 'paused'],
    [count((state) => state === 'queued'), 'queued'],
  ] as const;
  const shown = parts.filter(([value]) => value > 0).map(([value, label]) => `${value} ${label}`);
  return [`${finished}/${states.length} finished`, ...shown].join(' · ');
}

// ---------------------------------------------------------------------------------------------
// Renderer

/** The part of a writable stream the renderer uses (process.stderr, a file stream, a test double). */
export type ProgressStream = OutputStream;

export interface ProgressRendererOptions {
  /** Where to draw: the command passes `process.stderr` (never stdout in `--json` mode). */
  readonly stream: ProgressStream;
  /** Redraw in place (true) or print one line per state change (false). @default stream.isTTY */
  readonly isTTY?: boolean | undefined;
  /** `--json` mode: stdout belongs to the JSON document, so a renderer given stdout stays silent. */
  readonly json?: boolean | undefined;
  /** Least time between two redraws on a terminal. @default 100 */
  readonly throttleMs?: number | undefined;
  /** Clock, for tests. @default Date.now */
  readonly now?: (() => number) | undefined;
}

/** Draws the progress of a `run` batch; feed it every state snapshot, then call `done`. */
export interface ProgressRenderer {
  /** The latest states; drawn at once or within `throttleMs` on a terminal, as changes otherwise. */
  update(states: readonly TaskProgress[]): void;
  /** Draws the final states and stops (timers cleared); later calls do nothing. */
  done(states?: readonly TaskProgress[]): void;
  /** A line for people (a signal's notice) printed above the live view, which is redrawn below it. */
  notice(line: string): void;
}

const NOOP_RENDERER: ProgressRenderer = Object.freeze({ update() {}, done() {}, notice() {} });

/**
 * A progress renderer: on a terminal it redraws the frame in place with `log-update`, throttled
 * and ticking (spinner, elapsed) while tasks are active; off a terminal it prints plain
 * `2026-11-25T06:40:01Z #3 running` lines, only when a task's state changes.
 */
export function createProgressRenderer(options: ProgressRendererOptions): ProgressRenderer {
  if (options.json && (options.stream as unknown) === process.stdout) return NOOP_RENDERER;
  const isTTY = options.isTTY ?? options.stream.isTTY === true;
  const now = options.now ?? Date.now;
  return isTTY
    ? createTerminalRenderer(options.stream, now, options.throttleMs ?? 100)
    : createLineRenderer(options.stream, now);
}

function createTerminalRenderer(
  stream: ProgressStream,
  now: () => number,
  throttleMs: number,
): ProgressRenderer {
  const log = createLogUpdate(sizedStream(stream) as unknown as NodeJS.WritableStream);
  let latest: readonly TaskProgress[] = [];
  let lastDraw = Number.NEGATIVE_INFINITY;
  let timer: NodeJS.Timeout | undefined;
  let finished = false;
  const draw = () => {
    timer = undefined;
    lastDraw = now();
    const rows = stream.rows || 24;
    log(renderFrame(latest, lastDraw, stream.columns || 80, { maxLines: Math.max(3, rows - 1) }));
    // Keep the spinner and elapsed times moving while anything is still in progress.
    if (latest.some((task) => !isFinalState(task.state))) schedule(throttleMs);
  };
  const schedule = (delay: number) => {
    if (timer !== undefined || finished) return;
    timer = setTimeout(draw, delay);
    timer.unref?.();
  };
  return {
    update(states) {
      if (finished) return;
      latest = states;
      const wait = lastDraw + throttleMs - now();
      if (wait <= 0 && timer === undefined) draw();
      else schedule(Math.max(0, wait));
    },
    done(states) {
      if (finished) return;
      if (states) latest = states;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      finished = true;
      lastDraw = now();
      log(renderFrame(latest, lastDraw, stream.columns || 80));
      log.done();
    },
    notice(line) {
      // Written beside log-update, the line would be erased by (or leave stale rows of) the next frame.
      if (!finished) log.clear();
      stream.write(`${line}\n`);
      if (!finished) draw();
    },
  };
}

/**
 * The stream as log-update sees it: a terminal that reports no size (0×0, as under `script` or
 * some CI ptys) counts as 80×24, since log-update draws nothing at all into zero rows.
 */
function sizedStream(stream: ProgressStream): ProgressStream {
  return {
    write: (chunk) => stream.write(chunk),
    get isTTY() {
      return stream.isTTY;
    },
    get columns() {
      return stream.columns || 80;
    },
    get rows() {
      return stream.rows || 24;
    },
  };
}

function createLineRenderer(stream: ProgressStream, now: () => number): ProgressRenderer {
  const printed = new Map<string, TaskState>();
  let finished = false;
  const report = (states: readonly TaskProgress[]) => {
    for (const task of states) {
      const previous = printed.get(rowLabel(task));
      // A task's first `queued` is the starting point, not news.
      if (previous === task.state || (previous === undefined && task.state === 'queued')) continue;
      printed.set(rowLabel(task), task.state);
      stream.write(`${changeLine(task, now())}\n`);
    }
  };
  return {
    update(states) {
      if (!finished) report(states);
    },
    done(states) {
      if (finished) return;
      if (states) report(states);
      finished = true;
    },
    notice(line) {
      stream.write(`${line}\n`);
    },
  };
}

/** `2026-11-25T06:40:01Z #3 failed (12.3s): npm ERR! missing script` */
export function changeLine(task: TaskProgress, now: number): string {
  const stamp = new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z');
  let line = `${stamp} ${rowLabel(task)} ${task.state}`;
  if (isFinalState(task.state) && task.startedAt !== undefined) {
    line += ` (${formatDuration((task.endedAt ?? now) - task.startedAt)})`;
  }
  const last = task.lastLine ? sanitizeLine(task.lastLine) : '';
  if ((task.state === 'failed' || task.state === 'timeout') && last) line += `: ${last}`;
  return line;
}
