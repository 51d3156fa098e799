import { MiyabiError } from '../errors.js';
import { type Logger, safeLog, silentLogger } from '../log.js';
import { TelemetryEmitter, type TelemetryEventName, type WorktreeEventListener } from './event-emitter.js';
import { WORKTREE_EVENT_TYPES, type WorktreeEvent, type WorktreeEventInput } from './events.js';
import { EventJournal } from './journal.js';
import { DEFAULT_MAX_MEMORY_EVENTS, MemoryEventStore } from './memory-store.js';
import { recordEventMetrics } from './otel-metrics.js';
import { formatTelemetryReport, resolveTelemetryLocale, type TelemetryLocale } from './report.js';
import {
  type EventStats,
  foldEvents,
  inScope,
  mergeCounts,
  type NormalizedScope,
  normalizeScope,
  type TelemetryCounts,
  type TelemetryScope,
  toTelemetryStats,
} from './stats.js';

export interface TelemetryOptions {
  /**
   * Folder of the persistent journal shared by every process (the manager passes
   * `<git common dir>/miyabi`). Without it, events live in this object's memory only.
   */
  readonly dir?: string;
  /** Structured logger (pino-compatible): one line per event, warnings about the journal. @default silent */
  readonly logger?: Logger;
  /** Compact the journal when its active file reaches this many bytes. @default 1_048_576 */
  readonly maxJournalBytes?: number;
  /** Raw events kept in memory when there is no writable journal. @default 10_000 */
  readonly maxMemoryEvents?: number;
}

/** Options of {@link Telemetry.report}: a locale and an optional scope. */
export interface TelemetryReportOptions extends TelemetryScope {
  /** @default 'en' */
  readonly locale?: TelemetryLocale;
}

/**
 * The truthful record of what happened to a repository's worktrees, shared by every process.
 *
 * `record` stamps an event, hands it to listeners (synchronously, in order; a throwing listener is
 * logged, never propagated), logs one structured line, updates OpenTelemetry metrics and appends
 * it to the journal in the background (in order; `flush` waits for that). `stats`/`report` read
 * every process's history: all-time counts are exact however long the journal has been
 * compacted; a scope (`since`, `batchId`) is computed from the raw events still retained (roughly
 * the last 1–2 × `maxJournalBytes` of events; the most recent 100 compacted batches stay exact).
 */
export class Telemetry {
  /** The journal folder, if any. */
  readonly dir: string | undefined;
  readonly #logger: Logger;
  readonly #emitter: TelemetryEmitter;
  readonly #journal: EventJournal | undefined;
  readonly #memory: MemoryEventStore;
  #pending: Promise<void> = Promise.resolve();

  constructor(options: TelemetryOptions = {}) {
    const maxMemoryEvents = options.maxMemoryEvents ?? DEFAULT_MAX_MEMORY_EVENTS;
    if (!Number.isSafeInteger(maxMemoryEvents) || maxMemoryEvents < 1) {
      throw new MiyabiError(
        'INVALID_ARGUMENT',
        `maxMemoryEvents must be a positive integer, got ${String(maxMemoryEvents)} (${typeof maxMemoryEvents})`,
      );
    }
    this.dir = options.dir;
    this.#logger = options.logger ?? silentLogger;
    this.#emitter = new TelemetryEmitter(this.#logger);
    this.#memory = new MemoryEventStore(maxMemoryEvents);
    this.#journal =
      options.dir === undefined
        ? undefined
        : new EventJournal(options.dir, {
            logger: this.#logger,
            ...(options.maxJournalBytes !== undefined ? { maxBytes: options.maxJournalBytes } : {}),
          });
  }

  /** True while events reach the shared journal; false without a `dir` or once it proved unwritable. */
  get persistent(): boolean {
    return this.#journal?.writable ?? false;
  }

  /**
   * Records one lifecycle event and returns it as stored (frozen, with `timestamp` and `pid`).
   * Synchronous and safe to call without awaiting: persisting happens in the background and never
   * fails the caller (an unwritable journal degrades to memory with one warning).
   */
  record(input: WorktreeEventInput): WorktreeEvent {
    assertEventInput(input);
    const event = Object.freeze({
      ...input,
      timestamp: input.timestamp ?? new Date().toISOString(),
      pid: input.pid ?? process.pid,
    }) as WorktreeEvent;
    this.#emitter.emit(event);
    this.#log(event);
    try {
      recordEventMetrics(event);
    } catch (error) {
      safeLog(this.#logger, 'warn', { err: String(error) }, 'recording OpenTelemetry metrics failed');
    }
    // A chain keeps this process's lines in record order; append never rejects.
    this.#pending = this.#pending.then(() => this.#persist(event));
    return event;
  }

  /** Resolves when every event recorded so far is on disk (or, if it cannot be, in memory). */
  flush(): Promise<void> {
    return this.#pending;
  }

  /** Subscribes to every event. */
  on<K extends TelemetryEventName>(name: K, listener: WorktreeEventListener<K>): this {
    this.#emitter.on(name, listener);
    return this;
  }

  /** Subscribes to the next event only. */
  once<K extends TelemetryEventName>(name: K, listener: WorktreeEventListener<K>): this {
    this.#emitter.once(name, listener);
    return this;
  }

  /** Unsubscribes. */
  off<K extends TelemetryEventName>(name: K, listener: WorktreeEventListener<K>): this {
    this.#emitter.off(name, listener);
    return this;
  }

  /**
   * Stats over every process's history of the repository, or over a scope of it. A `since` that
   * reaches back past the retained raw history logs a warning: compacted events cannot be dated.
   */
  async stats(scope?: TelemetryScope): Promise<EventStats> {
    const normalized = normalizeScope(scope);
    await this.flush();
    return toTelemetryStats(normalized ? await this.#scopedCounts(normalized) : await this.#allTimeCounts());
  }

  /** Batch ids the journal knows (raw events and compacted summary), least recent first. */
  async batches(): Promise<string[]> {
    await this.flush();
    const compacted: string[] = [];
    const events = [...this.#memory.events];
    if (this.#journal) {
      const snapshot = await this.#journal.snapshot();
      compacted.push(
        ...Object.entries(snapshot.summary.batches)
          .sort(([, a], [, b]) => a.lastAt.localeCompare(b.lastAt))
          .map(([id]) => id),
      );
      events.unshift(...snapshot.events);
    }
    // A Set keeps first insertion: delete first so each id sits at its most recent position.
    const ids = new Set<string>();
    for (const id of [...compacted, ...events.map((event) => event.batchId)]) {
      if (id === undefined) continue;
      ids.delete(id);
      ids.add(id);
    }
    return [...ids];
  }

  /** The retained raw events of every process (older ones are compacted into counts), oldest first, or a scope of them. */
  async events(scope?: TelemetryScope): Promise<WorktreeEvent[]> {
    const normalized = normalizeScope(scope);
    await this.flush();
    const events = [
      ...(this.#journal ? (await this.#journal.snapshot()).events : []),
      ...this.#memory.events,
    ];
    return normalized ? events.filter((event) => inScope(event, normalized)) : events;
  }

  /** The seven-line report (English by default, or `locale: 'ja'`); unknown locale: `INVALID_ARGUMENT`. */
  async report(options: TelemetryReportOptions = {}): Promise<string> {
    const locale = resolveTelemetryLocale(options.locale ?? 'en');
    const { since, batchId } = options;
    const stats = await this.stats({
      ...(since !== undefined ? { since } : {}),
      ...(batchId !== undefined ? { batchId } : {}),
    });
    return formatTelemetryReport(stats, locale);
  }

  async #persist(event: WorktreeEvent): Promise<void> {
    if (this.#journal && (await this.#journal.append(event))) return;
    this.#memory.add(event);
  }

  async #allTimeCounts(): Promise<TelemetryCounts> {
    const memory = mergeCounts(this.#memory.folded, foldEvents(this.#memory.events));
    if (!this.#journal) return memory;
    const snapshot = await this.#journal.snapshot();
    return mergeCounts(snapshot.summary.counts, foldEvents(snapshot.events), memory);
  }

  async #scopedCounts(scope: NormalizedScope): Promise<TelemetryCounts> {
    const parts: TelemetryCounts[] = [foldEvents(this.#memory.events.filter((e) => inScope(e, scope)))];
    // The newest event that was folded into counts and can no longer be tested against `since`.
    let undatedThrough = scope.batchId === undefined ? this.#memory.foldedThrough : undefined;
    if (this.#journal) {
      const { summary, events } = await this.#journal.snapshot();
      parts.push(foldEvents(events.filter((e) => inScope(e, scope))));
      if (scope.batchId === undefined) {
        if (summary.compactedThrough !== undefined) {
          undatedThrough = maxTimestamp(undatedThrough, summary.compactedThrough);
        }
      } else {
        // Compacted events of the most recent batches are kept per batch.
        const batch = summary.batches[scope.batchId];
        if (batch && scope.sinceMs === undefined) parts.push(batch.counts);
        else if (batch) undatedThrough = batch.lastAt;
      }
    }
    if (
      scope.sinceMs !== undefined &&
      undatedThrough !== undefined &&
      Date.parse(undatedThrough) >= scope.sinceMs
    ) {
      safeLog(
        this.#logger,
        'warn',
        { since: new Date(scope.sinceMs).toISOString(), compactedThrough: undatedThrough },
        'telemetry scope reaches into compacted history; counting only the retained raw events',
      );
    }
    return mergeCounts(...parts);
  }

  #log(event: WorktreeEvent): void {
    const fields: Record<string, unknown> = { event: event.type, worktreeId: event.worktreeId };
    if (event.branch !== undefined) fields.branch = event.branch;
    if (event.issueNumber !== undefined) fields.issueNumber = event.issueNumber;
    if ('durationMs' in event && event.durationMs !== undefined) fields.durationMs = event.durationMs;
    if (event.batchId !== undefined) fields.batchId = event.batchId;
    switch (event.type) {
      case 'create-complete':
        fields.path = event.path;
        break;
      case 'execute-complete':
        fields.success = event.success;
        fields.status = event.status;
        break;
      case 'cleanup-complete':
        fields.archived = event.archived;
        fields.branchDeleted = event.branchDeleted;
        break;
      case 'error':
        fields.operation = event.operation;
        if (event.code !== undefined) fields.code = event.code;
        fields.err = event.message;
        break;
      default:
        break;
    }
    safeLog(this.#logger, event.type === 'error' ? 'warn' : 'info', fields, `worktree ${event.type}`);
  }
}

function assertEventInput(input: WorktreeEventInput): void {
  if (typeof input !== 'object' || input === null) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `event must be an object, got ${input === null ? 'null' : typeof input}`,
    );
  }
  if (!WORKTREE_EVENT_TYPES.includes(input.type)) {
    throw new MiyabiError('INVALID_ARGUMENT', `unknown event type ${JSON.stringify(input.type)}`, {
      hint: `Use one of: ${WORKTREE_EVENT_TYPES.join(', ')}.`,
    });
  }
  if (typeof input.worktreeId !== 'string' || input.worktreeId === '') {
    throw new MiyabiError('INVALID_ARGUMENT', `event ${input.type} needs a worktreeId string`);
  }
}

function maxTimestamp(a: string | undefined, b: string): string {
  return a === undefined || b > a ? b : a;
}
