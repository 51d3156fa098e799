/** Telemetry: lifecycle events, the shared journal, stats, the report and OpenTelemetry helpers. */
export {
  TelemetryEmitter,
  type TelemetryEventName,
  type WorktreeEventListener,
} from './event-emitter.js';
export {
  type CleanupCompleteEvent,
  type CleanupStartEvent,
  type CreateCompleteEvent,
  type CreateStartEvent,
  type ErrorEvent,
  EXECUTION_OUTCOMES,
  type ExecuteCompleteEvent,
  type ExecuteStartEvent,
  type ExecutionOutcome,
  WORKTREE_EVENT_TYPES,
  type WorktreeEvent,
  type WorktreeEventInput,
  type WorktreeEventType,
} from './events.js';
export {
  DEFAULT_MAX_JOURNAL_BYTES,
  EventJournal,
  type EventJournalOptions,
  type JournalSnapshot,
} from './journal.js';
export type { BatchCounts, JournalSummary } from './journal-summary.js';
export { ATTRIBUTES, INSTRUMENTATION_NAME, METRIC_NAMES, recordEventMetrics } from './otel-metrics.js';
export {
  SPAN_NAMES,
  type StepSpan,
  startTaskSpan,
  type TaskSpan,
  type TaskSpanOptions,
  type TaskStep,
} from './otel-spans.js';
export {
  formatTelemetryReport,
  resolveTelemetryLocale,
  TELEMETRY_LOCALES,
  type TelemetryLocale,
} from './report.js';
export {
  foldEvents,
  type TelemetryCounts,
  type TelemetryScope,
  type TelemetryStats,
  toTelemetryStats,
} from './stats.js';
export { Telemetry, type TelemetryOptions, type TelemetryReportOptions } from './telemetry.js';
