import { MiyabiError } from '../errors.js';
import { type Logger, safeLog, silentLogger } from '../log.js';
import { WORKTREE_EVENT_TYPES, type WorktreeEvent, type WorktreeEventMap } from './events.js';

/** `'event'` for every lifecycle event, or one event type (`'task-complete'`) for just those. */
export type TelemetryEventName = keyof WorktreeEventMap;

/** A subscriber to lifecycle events. A returned promise that rejects is logged, like a throw. */
export type WorktreeEventListener<K extends TelemetryEventName = 'event'> = (
  event: WorktreeEventMap[K],
) => unknown;

interface Subscription {
  readonly name: TelemetryEventName;
  readonly listener: WorktreeEventListener<never>;
  readonly once: boolean;
}

/**
 * A tiny typed emitter for {@link WorktreeEvent}s. Listeners run synchronously in subscription
 * order; one that throws (or rejects) is logged as a warning and never reaches the operation that
 * emitted the event, nor stops the listeners after it.
 */
export class TelemetryEmitter {
  #subscriptions: Subscription[] = [];
  readonly #logger: Logger;

  constructor(logger: Logger = silentLogger) {
    this.#logger = logger;
  }

  /** How many listeners are subscribed. */
  get listenerCount(): number {
    return this.#subscriptions.length;
  }

  /** Calls `listener` for every event of `name` (`'event'`: all) until {@link off}. */
  on<K extends TelemetryEventName>(name: K, listener: WorktreeEventListener<K>): this {
    this.#subscribe(name, listener, false);
    return this;
  }

  /** Calls `listener` for the next event of `name` only. */
  once<K extends TelemetryEventName>(name: K, listener: WorktreeEventListener<K>): this {
    this.#subscribe(name, listener, true);
    return this;
  }

  /** Removes one subscription of `listener` to `name` (also one made with `once`); unknown ones are ignored. */
  off<K extends TelemetryEventName>(name: K, listener: WorktreeEventListener<K>): this {
    assertEventName(name);
    const index = this.#subscriptions.findLastIndex((s) => s.name === name && s.listener === listener);
    if (index >= 0) this.#subscriptions = this.#subscriptions.toSpliced(index, 1);
    return this;
  }

  /** Delivers `event` to the listeners of `'event'` and of its type, in subscription order; never throws. */
  emit(event: WorktreeEvent): void {
    // Iterate a snapshot: listeners may subscribe or unsubscribe while we deliver.
    const current = this.#subscriptions.filter((s) => s.name === 'event' || s.name === event.type);
    if (current.some((s) => s.once)) {
      const fired = new Set(current.filter((s) => s.once));
      this.#subscriptions = this.#subscriptions.filter((s) => !fired.has(s));
    }
    for (const { listener } of current) {
      try {
        const result = (listener as WorktreeEventListener)(event);
        if (isThenable(result)) result.then(undefined, (error: unknown) => this.#warn(event, error));
      } catch (error) {
        this.#warn(event, error);
      }
    }
  }

  #subscribe(name: TelemetryEventName, listener: WorktreeEventListener<never>, once: boolean): void {
    assertEventName(name);
    if (typeof listener !== 'function') {
      throw new MiyabiError('INVALID_ARGUMENT', `listener must be a function, got ${typeof listener}`);
    }
    this.#subscriptions = [...this.#subscriptions, { name, listener, once }];
  }

  #warn(event: WorktreeEvent, error: unknown): void {
    safeLog(
      this.#logger,
      'warn',
      {
        event: event.type,
        worktreeId: event.worktreeId,
        err: error instanceof Error ? error.message : String(error),
      },
      'telemetry listener threw; ignored',
    );
  }
}

function assertEventName(name: unknown): asserts name is TelemetryEventName {
  if (name !== 'event' && !WORKTREE_EVENT_TYPES.includes(name as never)) {
    throw new MiyabiError('INVALID_ARGUMENT', `unknown event name ${JSON.stringify(name)}`, {
      hint: `Subscribe to 'event' (every event) or one of: ${WORKTREE_EVENT_TYPES.join(', ')}.`,
    });
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
  );
}
