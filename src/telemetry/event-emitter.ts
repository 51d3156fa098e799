import { MiyabiError } from '../errors.js';
import { type Logger, safeLog, silentLogger } from '../log.js';
import type { WorktreeEvent } from './events.js';

/** The one event name: every lifecycle event arrives as `'event'`, discriminated by `type`. */
export type TelemetryEventName = 'event';

/** A subscriber to lifecycle events. A returned promise that rejects is logged, like a throw. */
export type WorktreeEventListener = (event: WorktreeEvent) => unknown;

interface Subscription {
  readonly listener: WorktreeEventListener;
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

  /** Calls `listener` for every event until {@link off}. */
  on(name: TelemetryEventName, listener: WorktreeEventListener): this {
    this.#subscribe(name, listener, false);
    return this;
  }

  /** Calls `listener` for the next event only. */
  once(name: TelemetryEventName, listener: WorktreeEventListener): this {
    this.#subscribe(name, listener, true);
    return this;
  }

  /** Removes one subscription of `listener` (also one made with `once`); unknown listeners are ignored. */
  off(name: TelemetryEventName, listener: WorktreeEventListener): this {
    assertEventName(name);
    const index = this.#subscriptions.findLastIndex((s) => s.listener === listener);
    if (index >= 0) this.#subscriptions = this.#subscriptions.toSpliced(index, 1);
    return this;
  }

  /** Delivers `event` to every listener; never throws. */
  emit(event: WorktreeEvent): void {
    // Iterate a snapshot: listeners may subscribe or unsubscribe while we deliver.
    const current = this.#subscriptions;
    if (current.some((s) => s.once)) this.#subscriptions = current.filter((s) => !s.once);
    for (const { listener } of current) {
      try {
        const result = listener(event);
        if (isThenable(result)) result.then(undefined, (error: unknown) => this.#warn(event, error));
      } catch (error) {
        this.#warn(event, error);
      }
    }
  }

  #subscribe(name: TelemetryEventName, listener: WorktreeEventListener, once: boolean): void {
    assertEventName(name);
    if (typeof listener !== 'function') {
      throw new MiyabiError('INVALID_ARGUMENT', `listener must be a function, got ${typeof listener}`);
    }
    this.#subscriptions = [...this.#subscriptions, { listener, once }];
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
  if (name !== 'event') {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `unknown event name ${JSON.stringify(name)}; the only one is 'event'`,
      {
        hint: "Subscribe with on('event', listener) and switch on event.type.",
      },
    );
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
  );
}
