// Plumbing the CLI shares with the library that is no part of the public API: bundled as its own
// entry (dist/internal.js) for the CLI, and absent from package.json's `exports` map, so users cannot
// import it. Everything public goes through index.ts.
export { inRange as inRangeOf, rangeText } from './core/limits.js';
export { checkSize, formatBytes, formatSize } from './core/size.js';
export { variantsLine } from './core/variant-words.js';
export { toError } from './errors.js';
export { apiUrlForHost } from './github/repo-slug.js';
export { findResumableBatch, unfinishedBatches, unfinishedIssues } from './pool/resume-batch.js';
export { planAttempts } from './pool/variants/plan-attempts.js';
export { splitCommandLine } from './process/check-command.js';
export { forceStopProcessGroups } from './process/forced-stop.js';
export { lastLines } from './process/last-lines.js';
// For `npm run bench -- sampler` only: the batch without sampling replaces its `watch`.
export { MemorySampler } from './process/memory-sampler.js';
export { markCommand } from './queue/command-executor.js';
export { isLocalPath } from './queue/remote-git.js';
export { issueCommandEnvironment } from './setup/issue-command-env.js';
export { formatArgv } from './setup/run-setup.js';
export { openLogFile } from './state/log-file.js';
export { taskStarted } from './telemetry/batch-stats.js';
export { type PausedTask, pausedTasks } from './telemetry/paused-tasks.js';
export { resolveTelemetryLocale } from './telemetry/report.js';

/** `run --resume` of a queue batch: what it sends and collects (BullMQ loaded then only, as the pool loads its queue runner). */
export async function queueResumeCensus(
  options: Parameters<typeof import('./queue/resume-census.js').queueResumeCensus>[0],
): Promise<import('./queue/resume-census.js').QueueResumeCensus> {
  return (await import('./queue/resume-census.js')).queueResumeCensus(options);
}
