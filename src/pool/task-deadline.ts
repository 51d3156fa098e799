/**
 * A task's time budget that can stand still: `pause()` stops the clock (a task waiting out a usage
 * limit), `resume()` runs it on with what was left. Calls `onExpire` once when the budget is spent.
 */
export class TaskDeadline {
  #left: number;
  #since = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  readonly #onExpire: () => void;

  constructor(budgetMs: number, onExpire: () => void) {
    this.#left = budgetMs;
    this.#onExpire = onExpire;
    this.resume();
  }

  /** Stops the clock; the time left is kept. */
  pause(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#left = Math.max(0, this.#left - (performance.now() - this.#since));
  }

  /** Runs the clock on with the time left. */
  resume(): void {
    if (this.#stopped || this.#timer !== undefined) return;
    this.#since = performance.now();
    this.#timer = setTimeout(() => {
      this.#stopped = true;
      this.#onExpire();
    }, this.#left);
  }

  /** Ends it for good (the task is done). */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
