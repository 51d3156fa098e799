import { type FileHandle, mkdir, open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MiyabiError } from '../errors.js';
import { type Logger, safeLog, silentLogger } from '../log.js';
import type { WorktreeEvent } from './events.js';
import { parseJournal, sealOffset, serializeEvent } from './journal-codec.js';
import { compactJournal } from './journal-compaction.js';
import {
  ACTIVE_FILE,
  isMissing,
  listSegments,
  readTextIfExists,
  readWhole,
  SUMMARY_FILE,
  segmentFile,
} from './journal-files.js';
import { withJournalLock } from './journal-lock.js';
import { EMPTY_SUMMARY, type JournalSummary, parseSummary } from './journal-summary.js';

/** Default size at which the active journal is compacted: 1 MiB (several thousand events). */
export const DEFAULT_MAX_JOURNAL_BYTES = 1024 * 1024;

export interface EventJournalOptions {
  /** Where warnings go (torn lines, an unwritable folder). @default silent */
  readonly logger?: Logger;
  /**
   * Compact when the active file reaches this many bytes. The raw history kept on disk is at most
   * about twice this; all-time counts stay exact in the summary. @default 1_048_576
   */
  readonly maxBytes?: number;
}

/** What the journal holds: the aggregate of compacted events plus the raw events still kept. */
export interface JournalSnapshot {
  /** Exact counts of every event compacted out of the raw files. */
  readonly summary: JournalSummary;
  /** Raw events still on disk, oldest file first (in each file, in append order). */
  readonly events: readonly WorktreeEvent[];
}

// Re-appending after a seal needs one more pass; a third would mean rotations faster than a write.
const MAX_APPEND_ATTEMPTS = 3;

// After a failed compaction, appends do not try again for this long.
const COMPACTION_RETRY_MS = 60_000;

// A few optimistic reads overlap a compaction only under pathological churn; then read under the lock.
const OPTIMISTIC_READS = 4;

interface RawRead {
  readonly consistent: boolean;
  readonly summaryText: string | undefined;
  readonly files: readonly { readonly name: string; readonly text: string }[];
}

/**
 * The persistent, cross-process event journal in one folder (the manager uses
 * `<git common dir>/miyabi`): JSON lines in `telemetry.jsonl`.
 *
 * - Appends are one `write` on an `O_APPEND` descriptor per event, so concurrent processes never
 *   interleave inside a line, and take no lock. A line that lands in a segment after a compaction
 *   sealed it is appended again, so every event is counted exactly once.
 * - Bounded: past `maxBytes` the active file is rotated to a segment and older segments are folded
 *   into `telemetry-summary.json` (see {@link compactJournal}), under a cross-process lock.
 * - Reads take no lock: they retry when a compaction ran meanwhile, and skip damaged lines with a
 *   warning.
 * - A folder that cannot be written makes `append` resolve `false` (one warning, never a throw),
 *   and the caller keeps the event in memory.
 */
export class EventJournal {
  /** The journal folder. */
  readonly dir: string;
  /** The active JSON-lines file. */
  readonly file: string;
  /** Size that triggers compaction. */
  readonly maxBytes: number;
  readonly #logger: Logger;
  #writable = true;
  #dirReady = false;
  #compacting: Promise<boolean> | undefined;
  #compactionRetryAt = 0;
  readonly #warned = new Set<string>();

  constructor(dir: string, options: EventJournalOptions = {}) {
    if (typeof dir !== 'string' || dir === '') {
      throw new MiyabiError(
        'INVALID_ARGUMENT',
        `journal dir must be a non-empty path, got ${JSON.stringify(dir)}`,
      );
    }
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_JOURNAL_BYTES;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1024) {
      throw new MiyabiError(
        'INVALID_ARGUMENT',
        `maxBytes must be an integer >= 1024, got ${String(maxBytes)} (${typeof maxBytes})`,
      );
    }
    this.dir = dir;
    this.file = join(dir, ACTIVE_FILE);
    this.maxBytes = maxBytes;
    this.#logger = options.logger ?? silentLogger;
  }

  /** False once a write failed: later events are the caller's to keep in memory. */
  get writable(): boolean {
    return this.#writable;
  }

  /**
   * Appends one event as one line. Resolves `true` when it is on disk, `false` when the journal is
   * (or just became) unwritable. Never rejects. May compact afterwards.
   */
  async append(event: WorktreeEvent): Promise<boolean> {
    if (!this.#writable) return false;
    let size: number;
    try {
      size = await this.#write(Buffer.from(serializeEvent(event), 'utf8'));
    } catch (error) {
      this.#writable = false;
      safeLog(
        this.#logger,
        'warn',
        { dir: this.dir, err: error instanceof Error ? error.message : String(error) },
        'telemetry journal not writable; keeping events in memory for this process',
      );
      return false;
    }
    if (size >= this.maxBytes && Date.now() >= this.#compactionRetryAt) await this.compact();
    return true;
  }

  /**
   * Compacts now if the active file reached `maxBytes` (or, with `force`, if it holds anything),
   * unless another process is already compacting. Never rejects; resolves whether it rotated.
   */
  compact(options: { readonly force?: boolean } = {}): Promise<boolean> {
    if (!this.#writable) return Promise.resolve(false);
    this.#compacting ??= this.#compactOnce(options.force ?? false).finally(() => {
      this.#compacting = undefined;
    });
    return this.#compacting;
  }

  /** Everything the journal holds, from every process. Never rejects (an unreadable folder reads as empty). */
  async snapshot(): Promise<JournalSnapshot> {
    try {
      let read = await this.#readOnce();
      for (let attempt = 1; !read.consistent && attempt < OPTIMISTIC_READS; attempt++) {
        read = await this.#readOnce();
      }
      if (!read.consistent) {
        // Holding the lock, no compaction can run: this read is consistent.
        const locked = await withJournalLock(this.dir, 'wait', this.#logger, () => this.#readOnce()).catch(
          () => undefined,
        );
        if (locked?.acquired) read = locked.value;
      }
      return this.#decode(read);
    } catch (error) {
      this.#warnOnce(
        `read:${String(error)}`,
        { dir: this.dir, err: String(error) },
        'telemetry journal unreadable',
      );
      return { summary: EMPTY_SUMMARY, events: [] };
    }
  }

  /** Appends `line` so that it is counted exactly once; resolves the active file's size. */
  async #write(line: Buffer): Promise<number> {
    if (!this.#dirReady) {
      await mkdir(this.dir, { recursive: true });
      this.#dirReady = true;
    }
    // Normally one pass; again only when the line landed after a seal in a rotated segment.
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.#appendOnce(line);
      if (outcome.landed || attempt >= MAX_APPEND_ATTEMPTS) {
        if (!outcome.landed) {
          safeLog(
            this.#logger,
            'warn',
            { dir: this.dir },
            'telemetry event may be missing: journal rotated repeatedly',
          );
        }
        return outcome.size;
      }
    }
  }

  async #appendOnce(line: Buffer): Promise<{ landed: boolean; size: number }> {
    let handle: FileHandle;
    try {
      // a+ (append, read): the rare check below reads the file back through this descriptor.
      handle = await open(this.file, 'a+', 0o644);
    } catch (error) {
      if (!isMissing(error)) throw error;
      // The folder was deleted under us (e.g. by hand): make it again, once.
      await mkdir(this.dir, { recursive: true });
      handle = await open(this.file, 'a+', 0o644);
    }
    try {
      // One write(2) on an O_APPEND descriptor: the kernel places the whole line at the end.
      const { bytesWritten } = await handle.write(line, 0, line.length);
      if (bytesWritten !== line.length) {
        throw new Error(`short write: ${bytesWritten} of ${line.length} bytes`);
      }
      const written = await handle.stat();
      const active = await stat(this.file).catch(() => undefined);
      if (active && active.ino === written.ino && active.dev === written.dev) {
        return { landed: true, size: written.size };
      }
      // Rotated since we opened it: the line counts if it precedes the seal a compaction adds (or will add).
      const text = await readWhole(handle);
      const seal = sealOffset(text);
      const at = text.indexOf(line.toString('utf8'));
      return { landed: seal < 0 || (at >= 0 && at < seal), size: 0 };
    } finally {
      await handle.close();
    }
  }

  async #compactOnce(force: boolean): Promise<boolean> {
    try {
      const result = await withJournalLock(this.dir, 'try', this.#logger, () =>
        compactJournal(this.dir, { maxBytes: this.maxBytes, force, logger: this.#logger }),
      );
      return result.acquired && result.value;
    } catch (error) {
      // E.g. a folder that takes appends but not renames: retry later, not on every append.
      this.#compactionRetryAt = Date.now() + COMPACTION_RETRY_MS;
      safeLog(
        this.#logger,
        'warn',
        { dir: this.dir, err: String(error), retryInMs: COMPACTION_RETRY_MS },
        'telemetry journal compaction failed; the journal grows until it succeeds',
      );
      return false;
    }
  }

  /**
   * Reads summary, segments and active file, then checks that neither the summary nor the set of
   * segments changed meanwhile (a compaction would make the pieces overlap or miss each other).
   */
  async #readOnce(): Promise<RawRead> {
    const summaryText = await readTextIfExists(this.dir, SUMMARY_FILE);
    const foldedThrough =
      (summaryText === undefined ? undefined : parseSummary(summaryText))?.foldedThrough ?? 0;
    const segments = await listSegments(this.dir);
    const files: { name: string; text: string }[] = [];
    for (const n of segments) {
      if (n <= foldedThrough) continue;
      const text = await readTextIfExists(this.dir, segmentFile(n));
      // Deleted since we listed it: a compaction folded it.
      if (text === undefined) return { consistent: false, summaryText, files };
      files.push({ name: segmentFile(n), text });
    }
    files.push({ name: ACTIVE_FILE, text: (await readTextIfExists(this.dir, ACTIVE_FILE)) ?? '' });
    const segmentsAfter = await listSegments(this.dir);
    const summaryAfter = await readTextIfExists(this.dir, SUMMARY_FILE);
    const consistent = summaryAfter === summaryText && sameNumbers(segments, segmentsAfter);
    return { consistent, summaryText, files };
  }

  #decode(read: RawRead): JournalSnapshot {
    let summary = EMPTY_SUMMARY;
    if (read.summaryText !== undefined) {
      const parsed = parseSummary(read.summaryText);
      if (parsed) summary = parsed;
      else {
        this.#warnOnce(
          `summary:${read.summaryText.length}`,
          { file: join(this.dir, SUMMARY_FILE) },
          'telemetry summary unreadable; counting only the raw journal',
        );
      }
    }
    const events: WorktreeEvent[] = [];
    for (const { name, text } of read.files) {
      const parsed = parseJournal(text);
      if (parsed.skipped > 0) {
        this.#warnOnce(
          `${name}:${parsed.firstSkippedLine}:${parsed.skipped}`,
          {
            file: join(this.dir, name),
            skippedLines: parsed.skipped,
            firstSkippedLine: parsed.firstSkippedLine,
          },
          'telemetry journal: skipped unreadable lines (torn by a crash, or still being written)',
        );
      }
      events.push(...parsed.events);
    }
    return { summary, events };
  }

  // The same damage is reported once per journal object, not on every stats() call.
  #warnOnce(key: string, fields: Record<string, unknown>, message: string): void {
    if (this.#warned.has(key)) return;
    if (this.#warned.size > 1000) this.#warned.clear();
    this.#warned.add(key);
    safeLog(this.#logger, 'warn', fields, message);
  }
}

function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}
