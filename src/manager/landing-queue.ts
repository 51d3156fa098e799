/** One landing waiting in a {@link LandingQueue}. */
export interface QueuedLanding {
  /** Landings with the same key may be checked together (up to `batch`); none: always alone. */
  readonly key: string | undefined;
  /** How many landings with its key its turn takes together (`check.batch`). */
  readonly batch: number;
  /** When it joined the queue (`performance.now()`). */
  readonly queued: number;
  /**
   * Lands the group whose head it is (itself first, then the landings behind it in the group) and
   * settles each; resolves the ones taken out of the group, which land alone, next.
   */
  readonly land: (group: QueuedLanding[]) => Promise<readonly QueuedLanding[]>;
  /** Settles it with an error its group's landing threw. */
  readonly fail: (error: unknown) => void;
}

/**
 * Landings into one target, one turn at a time, in the order they became ready (FIFO per target): a
 * check runs on the target's latest tip, so two at once would only make one of them check again. A
 * turn takes up to `batch` waiting landings with the same key together (`check.batch`).
 */
export class LandingQueue {
  readonly #waiting = new Map<string, QueuedLanding[]>();
  readonly #alone = new WeakSet<QueuedLanding>();

  /** Queues `landing` behind every landing into `target` queued before it; it is settled by its group's `land`. */
  join(target: string, landing: QueuedLanding): void {
    const waiting = this.#waiting.get(target);
    if (waiting) {
      waiting.push(landing);
      return;
    }
    const queue = [landing];
    this.#waiting.set(target, queue);
    // Landings that become ready in the same turn of the event loop are ready together.
    setImmediate(() => void this.#drain(target, queue));
  }

  /** Runs `landing` alone once every landing into `target` queued before it has ended; how long it waited. */
  turn<T>(target: string, landing: (waitedMs: number) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const queued = performance.now();
      this.join(target, {
        key: undefined,
        batch: 1,
        queued,
        land: async () => {
          await landing(Math.round(performance.now() - queued)).then(resolve, reject);
          return [];
        },
        fail: reject,
      });
    });
  }

  async #drain(target: string, queue: QueuedLanding[]): Promise<void> {
    for (let head = queue.shift(); head; head = queue.shift()) {
      const group = [head];
      const together = !this.#alone.has(head) && head.key !== undefined;
      while (together && group.length < head.batch) {
        const next = queue[0];
        if (!next || next.key !== head.key || this.#alone.has(next)) break;
        group.push(next);
        queue.shift();
      }
      let later: readonly QueuedLanding[] = [];
      try {
        later = await head.land(group);
      } catch (error) {
        for (const landing of group) landing.fail(error);
      }
      // Taken out of a batch (a conflict with a branch before it): alone, before anything queued later.
      for (const landing of [...later].reverse()) {
        this.#alone.add(landing);
        queue.unshift(landing);
      }
    }
    this.#waiting.delete(target);
  }
}

/** How long a landing waited for its turn, in ms. */
export function waitedFor(landing: QueuedLanding): number {
  return Math.round(performance.now() - landing.queued);
}
