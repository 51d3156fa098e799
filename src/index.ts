export {
  type GitFailure,
  isMiyabiError,
  type MergeConflict,
  MiyabiError,
  type MiyabiErrorCode,
} from './errors.js';
export { type Logger, silentLogger } from './log.js';
export type * from './manager/types.js';
export { WorktreeManager } from './manager/worktree-manager.js';
export type * from './pool/types.js';
export { WorktreePool } from './pool/worktree-pool.js';
export { killAllProcessGroups, liveProcessGroupCount } from './process/process-groups.js';
export { type CommandResult, type RunCommandOptions, runCommand } from './process/run-command.js';
export type { StaleLockInfo } from './state/stale-git-locks.js';
export type * from './telemetry/events.js';
export type { TelemetryLocale } from './telemetry/report.js';
export type { TelemetryScope, TelemetryStats } from './telemetry/stats.js';
export type { TelemetryReportOptions } from './telemetry/telemetry.js';
