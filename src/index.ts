// The package entry: the documented API, and the only door to the library for users. (This package's
// CLI also uses `internal.ts`, for plumbing that is no part of the API.)
export {
  CONFIG_FILE_NAME,
  DEFAULT_BRANCH_PATTERN,
  DEFAULT_CONFIG,
  DEFAULT_KEEP_PATHS,
  DEFAULT_PORTS,
  DEFAULT_SETUP_TIMEOUT_MS,
  expandBranchPattern,
  type LoadedConfig,
  type MiyabiConfig,
  PACKAGE_JSON_KEY,
  type PortsConfig,
  type ShareEntry,
  type ShareMode,
} from './config/config-types.js';
export { type DurationLimits, formatDuration, parseDuration } from './config/duration.js';
export { loadConfig } from './config/load-config.js';
export {
  DEFAULT_ABORT_GRACE_MS,
  DEFAULT_CHECK_BATCH,
  DEFAULT_CONCURRENCY,
  DEFAULT_LOG_RETENTION,
  DEFAULT_PAUSE_MAX_MS,
  DEFAULT_RADAR_INTERVAL_MS,
  DEFAULT_RADAR_STATUS_INTERVAL_MS,
  DEFAULT_TIMEOUT_MS,
  MAX_AGE_MS,
  MAX_CHECK_BATCH,
  MAX_CONCURRENCY,
  MAX_DURATION_MS,
  MAX_IDLE,
  MAX_LOG_RETENTION,
  MIN_MEMORY_BYTES,
  OPTION_RANGES,
  type OptionRange,
  type RangedOption,
} from './core/limits.js';
export type { IssueContext, TaskStatus, WorktreeTask } from './core/task.js';
export type { Landing } from './core/task-result.js';
export type * from './core/types.js';
export { WORKTREE_STATUSES } from './core/types.js';
export type { ManagerWarning } from './core/warning.js';
export {
  type GitFailure,
  type HintPart,
  type HintStep,
  isMiyabiError,
  type MergeConflict,
  MiyabiError,
  type MiyabiErrorCode,
} from './errors.js';
export { branchNameProblem } from './git/branch-name.js';
export type { BaseSource } from './git/repository.js';
export { type GitResult, type RunGitOptions, runGit } from './git/run-git.js';
export * from './github/index.js';
export { type Logger, silentLogger } from './log.js';
export type { ArchiveEntry, DropArchiveResult } from './manager/archives.js';
export type { BatchSummary } from './manager/batch-history.js';
export type { CheckBaseOptions } from './manager/check-base.js';
export type { LandResult, LandWorktreeOptions } from './manager/land-worktree.js';
export type { WorktreeManagerEvents } from './manager/manager-events.js';
export type { PrepareWorktreeOptions } from './manager/prepare-worktree.js';
export type { PruneArchivesOptions, PruneArchivesResult } from './manager/prune-archives.js';
export type { ConflictCheckout, ConflictOptions } from './manager/resolve-conflicts.js';
export { DEFAULT_SETUP_INPUTS } from './manager/setup-inputs.js';
export type { FindTaskLogOptions, FollowLogOptions } from './manager/task-logs.js';
export type { WarmWorktreesOptions } from './manager/warm-worktrees.js';
export type { WarningListener } from './manager/warnings.js';
export type { StorageTotals, WorktreeDetail, WorktreeInventory } from './manager/worktree-inventory.js';
export { WorktreeManager } from './manager/worktree-manager.js';
export type * from './pool/types.js';
export { type ResolvedPoolConfig, WorktreePool } from './pool/worktree-pool.js';
export { type CheckOption, DEFAULT_CHECK_TIMEOUT_MS } from './process/check-command.js';
export { type CommandResult, type RunCommandOptions, runCommand } from './process/run-command.js';
export { worktreeEnvironment } from './process/task-environment.js';
export {
  type CommandExecutorOptions,
  type CommandTaskOutput,
  commandExecutor,
} from './queue/command-executor.js';
export {
  type QueueWorker,
  type QueueWorkerOptions,
  startWorker,
  type WorkerActivity,
} from './queue/start-worker.js';
export type { PoolQueueOptions, QueueTaskProgress } from './queue/types.js';
export type { RadarScan, RadarTask } from './radar/conflict-radar.js';
export { ConflictRadar } from './radar/conflict-radar.js';
export {
  expandTaskArgv,
  TASK_PLACEHOLDERS,
  type TaskArgvValues,
} from './setup/expand-task-argv.js';
export type { PrepareResult, PrepareSettings } from './setup/prepare-worktree.js';
export type { SkippedInclude } from './setup/worktree-include.js';
export type { BatchOptions, BatchRecord } from './state/batch-records.js';
export type { TaskLog } from './state/task-log-records.js';
export type * from './telemetry/events.js';
export { EXECUTION_OUTCOMES, TASK_STAGES, WORKTREE_EVENT_TYPES } from './telemetry/events.js';
export type {
  BatchTimeline,
  OverlapPair,
  PhaseSpan,
  TaskOutcomeInput,
  TaskTimeline,
  TimelinePhase,
} from './telemetry/html-report/batch-timeline.js';
export {
  type BatchReportData,
  type HtmlReportOptions,
  renderHtmlReport,
} from './telemetry/html-report/render-html-report.js';
export { ATTRIBUTES, INSTRUMENTATION_NAME, METRIC_NAMES } from './telemetry/otel-metrics.js';
export { SPAN_NAMES } from './telemetry/otel-spans.js';
export { TELEMETRY_LOCALES, type TelemetryLocale } from './telemetry/report.js';
export type { TelemetryScope, TelemetryStats } from './telemetry/stats.js';
export type { TelemetryReportOptions } from './telemetry/telemetry.js';
