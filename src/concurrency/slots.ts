import PQueue from 'p-queue';
import { MiyabiError } from '../errors.js';

/** Gives back a slot; calling it more than once is harmless. */
export type ReleaseSlot = () => void;

/**
 * A counting semaphore whose slots are held across async lifetimes (create → ... → release).
 * p-queue does the fair FIFO waiting and abortable queueing; a slot is a queue job that stays
 * pending until released.
 */
export class Slots {
  readonly #queue: PQueue;

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new MiyabiError(
        'INVALID_ARGUMENT',
        `maxConcurrency must be a positive integer, got ${String(capacity)} (${typeof capacity})`,
        { hint: 'Pass maxConcurrency: 1 or more.' },
      );
    }
    this.#queue = new PQueue({ concurrency: capacity });
  }

  /** Slots held right now. */
  get inUse(): number {
    return this.#queue.pending;
  }

  /** Acquirers waiting for a slot. */
  get waiting(): number {
    return this.#queue.size;
  }

  get available(): number {
    return Math.max(0, this.capacity - this.#queue.pending);
  }

  /** Waits for a free slot; rejects with `CANCELLED` (taking no slot) if `signal` aborts first. */
  acquire(signal?: AbortSignal): Promise<ReleaseSlot> {
    if (signal?.aborted) return Promise.reject(cancelledWaiting(signal));
    return new Promise<ReleaseSlot>((resolve, reject) => {
      this.#queue
        .add(
          () =>
            new Promise<void>((done) => {
              let released = false;
              resolve(() => {
                if (released) return;
                released = true;
                done();
              });
            }),
          signal ? { signal } : {},
        )
        .catch(() => reject(cancelledWaiting(signal)));
    });
  }
}

function cancelledWaiting(signal: AbortSignal | undefined): MiyabiError {
  return new MiyabiError('CANCELLED', 'aborted while waiting for a free worktree slot', {
    cause: signal?.reason,
    hint: 'Nothing was created; raise maxConcurrency or finish other worktrees first.',
  });
}
