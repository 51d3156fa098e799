import type { EventEmitter } from 'node:events';
import type { ManagerWarning } from '../core/warning.js';
import { MiyabiError } from '../errors.js';
import { type Logger, safeLog } from '../log.js';
import { WORKTREE_EVENT_TYPES, type WorktreeEventMap } from '../telemetry/events.js';

/**
 * The events of a `WorktreeManager`, as `node:events` types them (name → listener arguments):
 * `'event'` for every lifecycle event, each event type (`'task-complete'`, …) for just those, and
 * `'warning'` for {@link ManagerWarning}s.
 */
export type WorktreeManagerEvents = { [K in keyof WorktreeEventMap]: [event: WorktreeEventMap[K]] } & {
  warning: [warning: ManagerWarning];
};

const NAMES: ReadonlySet<string> = new Set(['event', 'warning', ...WORKTREE_EVENT_TYPES]);

/**
 * Calls every listener of `name` in subscription order: one that throws (or returns a promise that
 * rejects) is logged as a warning and never reaches the operation that emitted, nor stops the others.
 */
export function deliver(emitter: EventEmitter, name: string, value: unknown, logger: Logger): void {
  // rawListeners keeps `once` wrappers, which unsubscribe themselves when called.
  for (const listener of emitter.rawListeners(name) as ((value: unknown) => unknown)[]) {
    try {
      const result = listener.call(emitter, value);
      if (isThenable(result)) result.then(undefined, (error: unknown) => warn(logger, name, error));
    } catch (error) {
      warn(logger, name, error);
    }
  }
}

/** Makes `on`/`once`/`addListener` refuse a name the manager never emits (a typo would wait forever). */
export function refuseUnknownNames(emitter: EventEmitter): void {
  emitter.on('newListener', (name: string | symbol) => {
    // `error` too: `events.once()` listens for it on any emitter (the manager never emits it).
    if (name === 'newListener' || name === 'removeListener' || name === 'error') return;
    if (typeof name !== 'string' || !NAMES.has(name)) {
      throw new MiyabiError('INVALID_ARGUMENT', `unknown event name ${JSON.stringify(String(name))}`, {
        hint: `Subscribe to 'event' (every event), 'warning', or one of: ${WORKTREE_EVENT_TYPES.join(', ')}.`,
      });
    }
  });
}

function warn(logger: Logger, name: string, error: unknown): void {
  safeLog(
    logger,
    'warn',
    { event: name, err: error instanceof Error ? error.message : String(error) },
    'event listener threw; ignored',
  );
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
  );
}
