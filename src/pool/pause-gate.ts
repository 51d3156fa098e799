import type { WorktreeEventInput } from '../telemetry/events.js';

/** Every program: a pause of the whole pool (`pool.pause()`). */
const ALL = '*';

interface Pause {
  /** Epoch ms; Infinity until `unpause()`. */
  until: number;
  readonly since: number;
  timer: NodeJS.Timeout | undefined;
}

export interface PauseGateOptions {
  /** The most a batch waits in all (the union of its pauses), in ms. */
  readonly pauseMaxMs: number;
  /** Records the gate's `pool-paused` / `pool-unpaused` events. */
  readonly record: (event: WorktreeEventInput) => void;
  readonly now?: () => number;
}

/**
 * When the pool may start a task: closed for a program (argv[0]) from a usage limit until its
 * reset, or for every task by `pool.pause()`. Tasks already running go on; they meet the gate only
 * when they wait out a limit of their own. Keeps the time the batch spent paused, for `pauseMax`.
 */
export class PauseGate {
  readonly #pauses = new Map<string, Pause>();
  readonly #waiters = new Set<() => void>();
  readonly #options: PauseGateOptions;
  readonly #now: () => number;
  /** Paused time of spans that ended. */
  #closedMs = 0;
  /** Start of the span during which some pause has been in force, if one is. */
  #spanSince: number | undefined;
  /** Stamped on the events while a batch runs. */
  batchId: string | undefined;

  constructor(options: PauseGateOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** When `program` may start again, if it is paused now. */
  pausedUntil(program: string): number | undefined {
    const own = this.#pauses.get(program)?.until;
    const all = this.#pauses.get(ALL)?.until;
    if (own === undefined) return all;
    return all === undefined ? own : Math.max(own, all);
  }

  /**
   * Whether the batch may still wait until `until` without its paused time in all exceeding
   * `pauseMax`: the time already paused plus what this pause adds.
   */
  fits(until: number): boolean {
    const now = this.#now();
    const current = Math.max(now, ...[...this.#pauses.values()].map((p) => p.until));
    const added = Math.max(0, until - current);
    const spanSoFar = this.#spanSince === undefined ? 0 : current - this.#spanSince;
    return this.#closedMs + spanSoFar + added <= this.#options.pauseMaxMs;
  }

  /** Closes the gate for `program` (undefined: every task) until `until` (Infinity: until `unpause()`). */
  pause(
    program: string | undefined,
    until: number,
    origin: { readonly worktreeId: string; readonly issueNumber?: number; readonly branch?: string },
  ): void {
    const key = program ?? ALL;
    const existing = this.#pauses.get(key);
    if (existing && existing.until >= until) return;
    const now = this.#now();
    this.#spanSince ??= now;
    const pause: Pause = existing ?? { until, since: now, timer: undefined };
    pause.until = until;
    clearTimeout(pause.timer);
    // Node's timers hold at most ~24.8 days; a longer pause is re-armed when this one fires.
    if (Number.isFinite(until)) {
      pause.timer = setTimeout(() => this.#expire(key), Math.min(Math.max(0, until - now), 2 ** 31 - 1));
    }
    this.#pauses.set(key, pause);
    this.#options.record({
      type: 'pool-paused',
      ...origin,
      ...(this.batchId !== undefined ? { batchId: this.batchId } : {}),
      ...(Number.isFinite(until) ? { until: new Date(until).toISOString() } : {}),
      ...(program !== undefined ? { program } : {}),
      reason: origin.worktreeId === 'pool' ? 'caller' : 'usage-limit',
    });
  }

  /** Opens the gate for every program at once (paused tasks resume now). */
  unpause(): void {
    for (const key of [...this.#pauses.keys()]) this.#open(key);
  }

  /** Resolves once `program` may start (at once when it may now), or when `signal` aborts. */
  async whenOpen(program: string, signal: AbortSignal): Promise<void> {
    while (this.pausedUntil(program) !== undefined && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.#waiters.delete(wake);
          signal.removeEventListener('abort', wake);
          resolve();
        };
        this.#waiters.add(wake);
        signal.addEventListener('abort', wake, { once: true });
      });
    }
  }

  /** A batch starts: its events carry its id, and its paused time counts from zero. */
  beginBatch(batchId: string): void {
    this.batchId = batchId;
    this.#closedMs = 0;
    if (this.#spanSince !== undefined) this.#spanSince = this.#now();
  }

  /** Stops the timers (the pool is done with the gate). */
  dispose(): void {
    for (const pause of this.#pauses.values()) clearTimeout(pause.timer);
  }

  #expire(key: string): void {
    const pause = this.#pauses.get(key);
    if (!pause) return;
    const left = pause.until - this.#now();
    if (left > 0) {
      pause.timer = setTimeout(() => this.#expire(key), Math.min(left, 2 ** 31 - 1));
      return;
    }
    this.#open(key);
  }

  #open(key: string): void {
    const pause = this.#pauses.get(key);
    if (!pause) return;
    clearTimeout(pause.timer);
    this.#pauses.delete(key);
    const now = this.#now();
    if (this.#pauses.size === 0 && this.#spanSince !== undefined) {
      this.#closedMs += now - this.#spanSince;
      this.#spanSince = undefined;
    }
    this.#options.record({
      type: 'pool-unpaused',
      worktreeId: 'pool',
      ...(this.batchId !== undefined ? { batchId: this.batchId } : {}),
      ...(key !== ALL ? { program: key } : {}),
      durationMs: Math.max(0, now - pause.since),
    });
    for (const wake of [...this.#waiters]) wake();
  }
}
