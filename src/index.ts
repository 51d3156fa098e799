// The package entry: the only door to the library, for users and for this package's own CLI.
export {
  CONFIG_FILE_NAME,
  DEFAULT_BRANCH_PATTERN,
  DEFAULT_CONFIG,
  DEFAULT_KEEP_PATHS,
  DEFAULT_PORTS,
  DEFAULT_SETUP_TIMEOUT_MS,
  expandBranchPattern,
  type LoadedConfig,
  MAX_CONCURRENCY,
  type MiyabiConfig,
  PACKAGE_JSON_KEY,
  type PortsConfig,
  type ShareEntry,
  type ShareMode,
} from './config/config-types.js';
export {
  checkDuration,
  type DurationLimits,
  type DurationParse,
  formatDuration,
  MAX_DURATION_MS,
  parseDuration,
} from './config/duration.js';
export { loadConfig } from './config/load-config.js';
export { relativePathProblem } from './config/relative-path.js';
export {
  type GitFailure,
  isMiyabiError,
  type MergeConflict,
  MiyabiError,
  type MiyabiErrorCode,
  toError,
} from './errors.js';
export { branchNameProblem } from './git/branch-name.js';
export { type BranchSummary, branchSummary } from './git/branch-summary.js';
export { type GitResult, type RunGitOptions, runGit } from './git/run-git.js';
export * from './github/index.js';
export { type Logger, silentLogger } from './log.js';
export type { ArchiveEntry, DropArchiveResult } from './manager/archives.js';
export type { BatchSummary } from './manager/batch-history.js';
export { MAX_AGE_MS } from './manager/cleanup-filters.js';
export type { PrepareWorktreeOptions } from './manager/prepare-worktree.js';
export type { PruneArchivesOptions, PruneArchivesResult } from './manager/prune-archives.js';
export type { ConflictCheckout, ConflictOptions } from './manager/resolve-conflicts.js';
export type { FollowLogOptions } from './manager/task-logs.js';
export type * from './manager/types.js';
export { WORKTREE_STATUSES } from './manager/types.js';
export type { WarmWorktreesOptions } from './manager/warm-worktrees.js';
export type { ManagerWarning, WarningListener } from './manager/warnings.js';
export type { StorageTotals, WorktreeDetail, WorktreeInventory } from './manager/worktree-inventory.js';
export { WorktreeManager } from './manager/worktree-manager.js';
export { describeError } from './pool/task-outcome.js';
export type * from './pool/types.js';
export { type ResolvedPoolConfig, WorktreePool } from './pool/worktree-pool.js';
export {
  type ForcedStopResult,
  type ForceStopOptions,
  forceStopProcessGroups,
  type ProtectedRun,
} from './process/forced-stop.js';
export { lastLines } from './process/last-lines.js';
export { killAllProcessGroups, liveProcessGroupCount } from './process/process-groups.js';
export { type CommandResult, type RunCommandOptions, runCommand } from './process/run-command.js';
export { worktreeEnvironment } from './process/task-environment.js';
export { WORKTREE_ID_VAR } from './process/task-processes.js';
export {
  type CommandExecutorOptions,
  type CommandTaskOutput,
  commandExecutor,
} from './queue/command-executor.js';
export { parseQueueJob, QUEUE_PAYLOAD_VERSION, type QueueJobPayload } from './queue/payload.js';
export {
  type QueueWorker,
  type QueueWorkerOptions,
  startWorker,
  type WorkerActivity,
} from './queue/start-worker.js';
export type { PoolQueueOptions, QueueTaskProgress } from './queue/types.js';
export type { RadarScan, RadarTask } from './radar/conflict-radar.js';
export { ConflictRadar } from './radar/conflict-radar.js';
export type { PrepareResult, PrepareSettings } from './setup/prepare-worktree.js';
export { formatArgv } from './setup/run-setup.js';
export type { SkippedInclude } from './setup/worktree-include.js';
export type { BatchOptions, BatchRecord } from './state/batch-records.js';
export { openLogFile } from './state/log-file.js';
export type { Owner } from './state/owner.js';
export type { StaleLockInfo } from './state/stale-git-locks.js';
export type { TaskLog } from './state/task-log-records.js';
export { taskStarted } from './telemetry/batch-stats.js';
export type * from './telemetry/events.js';
export { EXECUTION_OUTCOMES, TASK_STAGES, WORKTREE_EVENT_TYPES } from './telemetry/events.js';
export {
  type BatchTimeline,
  buildBatchTimeline,
  type OverlapPair,
  type PhaseSpan,
  type TaskOutcomeInput,
  type TaskTimeline,
  TIMELINE_PHASES,
  type TimelinePhase,
} from './telemetry/html-report/batch-timeline.js';
export {
  type BatchReportData,
  type HtmlReportOptions,
  renderHtmlReport,
} from './telemetry/html-report/render-html-report.js';
export { checkHtmlReportPath } from './telemetry/html-report/report-path.js';
export { escapeHtml } from './telemetry/html-report/safe-html.js';
export { ATTRIBUTES, INSTRUMENTATION_NAME, METRIC_NAMES } from './telemetry/otel-metrics.js';
export { SPAN_NAMES } from './telemetry/otel-spans.js';
export { resolveTelemetryLocale, TELEMETRY_LOCALES, type TelemetryLocale } from './telemetry/report.js';
export type { TelemetryScope, TelemetryStats } from './telemetry/stats.js';
export type { TelemetryReportOptions } from './telemetry/telemetry.js';
