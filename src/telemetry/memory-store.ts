import type { WorktreeEvent } from './events.js';
import { addEvent, emptyCounts, type TelemetryCounts } from './stats.js';

/** Default number of raw events kept in memory before the oldest are folded into counts. */
export const DEFAULT_MAX_MEMORY_EVENTS = 10_000;

/**
 * Events this process could not persist (no journal folder, or an unwritable one), bounded like the
 * journal: past `maxEvents` the oldest are folded into exact counts, so all-time stats stay true
 * and only scoped stats lose reach.
 */
export class MemoryEventStore {
  readonly maxEvents: number;
  #events: WorktreeEvent[] = [];
  #folded: TelemetryCounts = emptyCounts();
  #foldedThrough: string | undefined;

  constructor(maxEvents = DEFAULT_MAX_MEMORY_EVENTS) {
    this.maxEvents = maxEvents;
  }

  /** Keeps one event. */
  add(event: WorktreeEvent): void {
    this.#events.push(event);
    if (this.#events.length > this.maxEvents) {
      // Fold the oldest half at once, so trimming costs O(1) per event on average.
      const drop = this.#events.splice(0, Math.ceil(this.maxEvents / 2));
      for (const old of drop) {
        addEvent(this.#folded, old);
        if (this.#foldedThrough === undefined || old.timestamp > this.#foldedThrough) {
          this.#foldedThrough = old.timestamp;
        }
      }
    }
  }

  /** Raw events still kept, oldest first. */
  get events(): readonly WorktreeEvent[] {
    return this.#events;
  }

  /** Exact counts of events no longer kept raw. */
  get folded(): Readonly<TelemetryCounts> {
    return this.#folded;
  }

  /** Timestamp of the newest folded event, if any. */
  get foldedThrough(): string | undefined {
    return this.#foldedThrough;
  }

  /** Whether nothing is held. */
  get empty(): boolean {
    return this.#events.length === 0 && this.#foldedThrough === undefined;
  }
}
