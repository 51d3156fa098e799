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
   * settles each; resolves the ones taken out of the group, which land alone, next, and (`again`)
   * the ones its turn left undecided, which land next in a group again.
   */
  readonly land: (group: QueuedLanding[]) => Promise<LeftOver>;
  /** Settles it with an error its group's landing threw. */
  readonly fail: (error: unknown) => void;
}

/** What a group's turn left for the next turns: `alone` lands alone, `again` in a group again. */
export interface LeftOver {
  readonly alone: readonly QueuedLanding[];
  readonly again?: readonly QueuedLanding[];
}

/**
 * While landings keep joining, a batched turn waits for them (its group not yet full): until none
 * joined for {@link GATHER_QUIET_MS}, at most {@link GATHER_MAX_MS} in all. A lone landing with
 * `check.batch` above 1 starts at most GATHER_QUIET_MS later; with `check.batch` 1 nothing waits.
 */
export const GATHER_QUIET_MS = 100;
/**
 * Batches one turn takes: the first decided, the next checked at the same time on top of it
 * (speculative, as merge queues do); it lands on that run when the first landed whole.
 */
export const TURN_BATCHES = 2;
/** The longest a batched turn waits for more landings to join (see {@link GATHER_QUIET_MS}). */
export const GATHER_MAX_MS = 500;

/**
 * Landings into one target, one turn at a time, in the order they became ready (FIFO per target): a
 * check runs on the target's latest tip, so two at once would only make one of them check again. A
 * turn takes up to `batch` waiting landings with the same key together (`check.batch`), and the next
 * `batch` of them to check speculatively on top ({@link TURN_BATCHES}).
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
          return { alone: [] };
        },
        fail: reject,
      });
    });
  }

  async #drain(target: string, queue: QueuedLanding[]): Promise<void> {
    for (let head = queue.shift(); head; head = queue.shift()) {
      const group = [head];
      const together = !this.#alone.has(head) && head.key !== undefined;
      if (together && head.batch > 1) await gather(queue, head);
      while (together && group.length < head.batch * TURN_BATCHES) {
        const next = queue[0];
        if (!next || next.key !== head.key || this.#alone.has(next)) break;
        group.push(next);
        queue.shift();
      }
      let later: LeftOver = { alone: [] };
      try {
        later = await head.land(group);
      } catch (error) {
        for (const landing of group) landing.fail(error);
      }
      // Taken out of a batch (a conflict with a branch before it): alone; left undecided: in a group
      // again; both before anything queued later, in the order they became ready.
      for (const landing of later.alone) this.#alone.add(landing);
      const next = [...later.alone, ...(later.again ?? [])].sort((a, b) => a.queued - b.queued);
      queue.unshift(...next);
    }
    this.#waiting.delete(target);
  }
}

/** Waits while landings with `head`'s key keep joining `queue`, its group not yet full (bounded). */
async function gather(queue: readonly QueuedLanding[], head: QueuedLanding): Promise<void> {
  const until = performance.now() + GATHER_MAX_MS;
  for (;;) {
    let ready = 1;
    for (const next of queue) {
      if (next.key !== head.key) break;
      ready++;
    }
    const left = until - performance.now();
    if (ready >= head.batch * TURN_BATCHES || left <= 0) return;
    const before = queue.length;
    await new Promise((resolve) => setTimeout(resolve, Math.min(GATHER_QUIET_MS, left)));
    if (queue.length === before) return;
  }
}

/** How long a landing waited for its turn, in ms. */
export function waitedFor(landing: QueuedLanding): number {
  return Math.round(performance.now() - landing.queued);
}
