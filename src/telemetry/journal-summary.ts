import type { WorktreeEvent } from './events.js';
import { addEvent, emptyCounts, parseCounts, type TelemetryCounts } from './stats.js';

/** Per-batch counts of folded events are kept for this many most recent batches. */
export const MAX_SUMMARY_BATCHES = 100;

/** Counts of one batch's folded events. */
export interface BatchCounts {
  readonly counts: TelemetryCounts;
  /** Timestamp of the batch's newest folded event: the least recent batch is dropped first. */
  readonly lastAt: string;
}

/**
 * `telemetry-summary.json`: the exact aggregate of every event compacted out of the raw journal,
 * so all-time stats stay truthful while the raw history stays bounded.
 */
export interface JournalSummary {
  readonly version: 1;
  /** Bumped by every compaction that folds events. */
  readonly generation: number;
  /** Highest segment number folded into `counts`; segment files up to it are obsolete. */
  readonly foldedThrough: number;
  readonly counts: TelemetryCounts;
  /** Folded counts of the most recent batches, so batch-scoped stats stay exact after compaction. */
  readonly batches: Readonly<Record<string, BatchCounts>>;
  /** Timestamp of the newest folded event: a `since` scope before it misses compacted events. */
  readonly compactedThrough?: string;
  readonly updatedAt?: string;
}

/** The summary before any compaction. */
export const EMPTY_SUMMARY: JournalSummary = Object.freeze({
  version: 1,
  generation: 0,
  foldedThrough: 0,
  counts: Object.freeze(emptyCounts()),
  batches: Object.freeze({}),
});

/** Parses summary text; undefined when it is not a summary this version wrote. */
export function parseSummary(text: string): JournalSummary | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const raw = value as Record<string, unknown>;
  const counts = parseCounts(raw.counts);
  if (raw.version !== 1 || !counts || !isCount(raw.generation) || !isCount(raw.foldedThrough)) {
    return undefined;
  }
  const batches: Record<string, BatchCounts> = {};
  if (typeof raw.batches === 'object' && raw.batches !== null) {
    for (const [id, entry] of Object.entries(raw.batches as Record<string, unknown>)) {
      const batch = entry as Record<string, unknown> | null;
      const batchCounts = parseCounts(batch?.counts);
      if (batchCounts && typeof batch?.lastAt === 'string')
        batches[id] = { counts: batchCounts, lastAt: batch.lastAt };
    }
  }
  return {
    version: 1,
    generation: raw.generation,
    foldedThrough: raw.foldedThrough,
    counts,
    batches,
    ...(typeof raw.compactedThrough === 'string' ? { compactedThrough: raw.compactedThrough } : {}),
    ...(typeof raw.updatedAt === 'string' ? { updatedAt: raw.updatedAt } : {}),
  };
}

/** A new summary with `events` (from segments up to `foldedThrough`) added. */
export function foldIntoSummary(
  summary: JournalSummary,
  events: readonly WorktreeEvent[],
  foldedThrough: number,
): JournalSummary {
  const counts = { ...summary.counts };
  const batches = new Map(
    Object.entries(summary.batches).map(([id, b]) => [id, { ...b, counts: { ...b.counts } }]),
  );
  let compactedThrough = summary.compactedThrough;
  for (const event of events) {
    addEvent(counts, event);
    if (compactedThrough === undefined || event.timestamp > compactedThrough) {
      compactedThrough = event.timestamp;
    }
    if (event.batchId === undefined) continue;
    const batch = batches.get(event.batchId) ?? { counts: emptyCounts(), lastAt: event.timestamp };
    addEvent(batch.counts, event);
    if (event.timestamp > batch.lastAt) batch.lastAt = event.timestamp;
    batches.set(event.batchId, batch);
  }
  // Bounded: keep only the most recent batches (a batch scope reaches back that far, exactly).
  const kept = [...batches]
    .sort(([, a], [, b]) => (a.lastAt < b.lastAt ? 1 : -1))
    .slice(0, MAX_SUMMARY_BATCHES);
  return {
    version: 1,
    generation: summary.generation + 1,
    foldedThrough: Math.max(summary.foldedThrough, foldedThrough),
    counts,
    batches: Object.fromEntries(kept),
    ...(compactedThrough !== undefined ? { compactedThrough } : {}),
    updatedAt: new Date().toISOString(),
  };
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}
