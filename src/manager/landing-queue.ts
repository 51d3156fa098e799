/**
 * Landings into one target, one at a time, in the order they became ready (FIFO per target): a
 * check runs on the target's latest tip, so two at once would only make one of them check again.
 */
export class LandingQueue {
  readonly #tails = new Map<string, Promise<unknown>>();

  /** Runs `landing` once every landing into `target` queued before it has ended; how long it waited. */
  async turn<T>(target: string, landing: (waitedMs: number) => Promise<T>): Promise<T> {
    const queued = performance.now();
    const ahead = this.#tails.get(target) ?? Promise.resolve();
    const mine = ahead.catch(() => {}).then(() => landing(Math.round(performance.now() - queued)));
    const tail = mine.catch(() => {});
    this.#tails.set(target, tail);
    try {
      return await mine;
    } finally {
      if (this.#tails.get(target) === tail) this.#tails.delete(target);
    }
  }
}
