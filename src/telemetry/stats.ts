import { MiyabiError } from '../errors.js';
import type { WorktreeEvent } from './events.js';

/**
 * What `telemetryStats()` returns: the figures of the report, computed from batch records (the last
 * batch by default; see `TelemetryScope`) by one function, so that they agree with the run's
 * summary, `--json`, the HTML page and the exit code.
 */
export interface TelemetryStats {
  /** Tasks of the batch(es), started or not. */
  readonly tasks: number;
  /** Worktrees the tasks created (a reused idle worktree was created earlier and is not counted). */
  readonly creates: number;
  /** Tasks that started (reached any stage: a worktree, or a create that failed). */
  readonly executions: number;
  /**
   * Tasks that succeeded as a whole: the command and every follow-up asked for (merge, push,
   * pull request). A command that exited 0 but whose merge conflicted counts as failed until a
   * later `merge` lands it.
   */
  readonly successfulExecutions: number;
  /** Every other outcome of a started task: failed, timed out or cancelled while running. */
  readonly failedExecutions: number;
  /** Tasks cancelled before they started (fail-fast, an interrupt): counted in `tasks`, not in `executions`. */
  readonly notStarted: number;
  /** Tasks whose command succeeded but whose merge, push, pull request or cleanup then failed. */
  readonly followUpFailures: number;
  /** Tasks whose merge met a conflict (resolved or not). */
  readonly mergeConflicts: number;
  /** Of those, the ones merged in the end (by a resolver, or a later `resolve` / `merge`). */
  readonly conflictsResolved: number;
  /** Pull requests tasks opened or updated (`pullRequest`). */
  readonly pullRequests: number;
  /** Tasks whose landing check failed (`CHECK_FAILED`, also when a later `land` landed them); from batch records only. */
  readonly checksFailed?: number;
  /** Attempts of the issues that ran as variants (`variants`), and those issues; from batch records only. */
  readonly variants?: { readonly attempts: number; readonly issues: number };
  /** Overlapping pairs the conflict radar reported (shared files or a conflict). */
  readonly overlapWarnings: number;
  /** Of those, the ones whose branches would conflict. */
  readonly overlapConflicts: number;
  /** Tasks whose worktree was cleaned up (removed, or reset and kept idle) after them. */
  readonly cleanups: number;
  /** Tasks that did not succeed (`tasks - successfulExecutions`). */
  readonly errors: number;
  /** Whole lifecycles of the started tasks, summed. */
  readonly totalExecutionMs: number;
  /** `totalExecutionMs / executions`; 0 when there were none. */
  readonly averageExecutionMs: number;
  /** Percentage 0–100 of tasks that succeeded (80 means 80.0%); 0 when there were none. */
  readonly successRate: number;
  /**
   * What the tasks' commands used (`TaskResult.resources`): the highest memory peak, whose task it
   * was, and the CPU seconds together. Absent when no command was measured.
   */
  readonly resources?: {
    readonly peakRssBytes: number;
    readonly peakIssueNumber: number;
    readonly cpuSeconds: number;
    /** Tasks stopped above `maxMemory` (`MEMORY_LIMIT`). */
    readonly memoryLimited: number;
  };
  /**
   * What the tasks' agents reported in `$MIYABI_USAGE_FILE` (`TaskResult.usage`), summed over the
   * `tasks` that wrote one. Absent when none did.
   */
  readonly usage?: {
    readonly tasks: number;
    readonly inputTokens: number;
    readonly outputTokens: number;
    readonly costUsd: number;
  };
}

/**
 * The journal's figures of telemetry events (`Telemetry.stats`), kept for the event history: the
 * report's figures ({@link TelemetryStats}) come from batch records, which also know tasks that
 * never started.
 */
export type EventStats = Omit<TelemetryStats, 'tasks' | 'notStarted'>;

/** The additive part of {@link TelemetryStats}: what can be summed across files and processes. */
export interface TelemetryCounts {
  creates: number;
  executions: number;
  /** As the commands ended (`execute-complete`); follow-up failures are subtracted in the stats. */
  successfulExecutions: number;
  failedExecutions: number;
  followUpFailures: number;
  mergeConflicts: number;
  conflictsResolved: number;
  pullRequests: number;
  overlapWarnings: number;
  overlapConflicts: number;
  cleanups: number;
  errors: number;
  totalExecutionMs: number;
}

/**
 * Which batches `telemetryStats` / `telemetryReport` count: none of these fields means the most
 * recent batch (all zero before the first). With both `since` and `batchId`: that batch, if it
 * started at or after `since`.
 */
export interface TelemetryScope {
  /** Batches started at or after this instant. */
  readonly since?: Date | string;
  /** This pool batch (`NOT_FOUND` when no record of it exists; `listBatches()` lists them). */
  readonly batchId?: string;
  /** Every batch recorded in this repository (all time). @default false */
  readonly all?: boolean;
}

/** A validated {@link TelemetryScope}. */
export interface NormalizedScope {
  readonly sinceMs?: number;
  readonly batchId?: string;
}

const COUNT_KEYS: readonly (keyof TelemetryCounts)[] = [
  'creates',
  'executions',
  'successfulExecutions',
  'failedExecutions',
  'followUpFailures',
  'mergeConflicts',
  'conflictsResolved',
  'pullRequests',
  'overlapWarnings',
  'overlapConflicts',
  'cleanups',
  'errors',
  'totalExecutionMs',
];

/** All counts zero. */
export function emptyCounts(): TelemetryCounts {
  return {
    creates: 0,
    executions: 0,
    successfulExecutions: 0,
    failedExecutions: 0,
    followUpFailures: 0,
    mergeConflicts: 0,
    conflictsResolved: 0,
    pullRequests: 0,
    overlapWarnings: 0,
    overlapConflicts: 0,
    cleanups: 0,
    errors: 0,
    totalExecutionMs: 0,
  };
}

/** Adds one event to `counts` (mutates and returns it). Start events count nothing. */
export function addEvent(counts: TelemetryCounts, event: WorktreeEvent): TelemetryCounts {
  switch (event.type) {
    case 'create-complete':
      counts.creates++;
      break;
    case 'execute-complete':
      counts.executions++;
      if (event.success === true) counts.successfulExecutions++;
      else counts.failedExecutions++;
      counts.totalExecutionMs += validDuration(event.durationMs);
      break;
    case 'cleanup-complete':
      counts.cleanups++;
      break;
    case 'task-complete':
      // The command succeeded (its execute-complete counted a success) but a follow-up failed.
      if (event.status !== 'success' && isFollowUp(event.stage)) counts.followUpFailures++;
      if (event.conflict !== undefined || event.code === 'MERGE_CONFLICT') counts.mergeConflicts++;
      if (event.conflict === 'resolved') counts.conflictsResolved++;
      if (event.pullRequest !== undefined) counts.pullRequests++;
      break;
    case 'overlap':
      if (event.files.length > 0 || event.conflict) counts.overlapWarnings++;
      if (event.conflict) counts.overlapConflicts++;
      break;
    case 'error':
      counts.errors++;
      break;
    default:
      break;
  }
  return counts;
}

/** Folds events into fresh counts. */
export function foldEvents(events: Iterable<WorktreeEvent>): TelemetryCounts {
  const counts = emptyCounts();
  for (const event of events) addEvent(counts, event);
  return counts;
}

/** Sums counts (a fresh object). */
export function mergeCounts(...parts: readonly TelemetryCounts[]): TelemetryCounts {
  const total = emptyCounts();
  for (const part of parts) for (const key of COUNT_KEYS) total[key] += part[key];
  return total;
}

// Counts added after summaries were first persisted: an older summary without them has zero.
const LATER_KEYS: ReadonlySet<keyof TelemetryCounts> = new Set([
  'followUpFailures',
  'mergeConflicts',
  'conflictsResolved',
  'pullRequests',
  'overlapWarnings',
  'overlapConflicts',
]);

/** Stages after the command: a task that ended there had a successful execution. */
function isFollowUp(stage: string | undefined): boolean {
  return stage === 'merge' || stage === 'push' || stage === 'pr' || stage === 'cleanup';
}

/** Reads counts from untrusted JSON (a persisted summary); undefined if any field is not a count. */
export function parseCounts(value: unknown): TelemetryCounts | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const counts = emptyCounts();
  for (const key of COUNT_KEYS) {
    if (LATER_KEYS.has(key) && !(key in value)) continue;
    const n = (value as Record<string, unknown>)[key];
    if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) return undefined;
    counts[key] = n;
  }
  return counts;
}

/** The derived figures: average and success rate (percent), both 0 when nothing executed. */
export function toTelemetryStats(counts: TelemetryCounts): EventStats {
  const { executions } = counts;
  // Never below zero, even for a journal with task-complete events whose execute-complete was compacted away.
  const demoted = Math.min(counts.followUpFailures, counts.successfulExecutions);
  const successfulExecutions = counts.successfulExecutions - demoted;
  return {
    creates: counts.creates,
    executions,
    successfulExecutions,
    failedExecutions: counts.failedExecutions + demoted,
    followUpFailures: counts.followUpFailures,
    mergeConflicts: counts.mergeConflicts,
    conflictsResolved: counts.conflictsResolved,
    pullRequests: counts.pullRequests,
    overlapWarnings: counts.overlapWarnings,
    overlapConflicts: counts.overlapConflicts,
    cleanups: counts.cleanups,
    errors: counts.errors,
    totalExecutionMs: counts.totalExecutionMs,
    averageExecutionMs: executions > 0 ? counts.totalExecutionMs / executions : 0,
    successRate: executions > 0 ? (successfulExecutions / executions) * 100 : 0,
  };
}

/** Validates a scope; a `since` that is no date is `INVALID_ARGUMENT`. */
export function normalizeScope(scope: TelemetryScope | undefined): NormalizedScope | undefined {
  if (scope === undefined || scope === null) return undefined;
  if (typeof scope !== 'object') {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `scope must be an object like { since, batchId }, got ${typeof scope}`,
    );
  }
  const { since, batchId } = scope;
  if (batchId !== undefined && (typeof batchId !== 'string' || batchId === '')) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `batchId must be a non-empty string, got ${JSON.stringify(batchId)}`,
    );
  }
  let sinceMs: number | undefined;
  if (since !== undefined) {
    sinceMs =
      since instanceof Date ? since.getTime() : typeof since === 'string' ? Date.parse(since) : Number.NaN;
    if (Number.isNaN(sinceMs)) {
      throw new MiyabiError(
        'INVALID_ARGUMENT',
        `since must be a Date or an ISO 8601 string, got ${String(since)}`,
        {
          hint: "Pass e.g. new Date(Date.now() - 86_400_000) or '2025-01-31T00:00:00Z'.",
        },
      );
    }
  }
  if (sinceMs === undefined && batchId === undefined) return undefined;
  return { ...(sinceMs !== undefined ? { sinceMs } : {}), ...(batchId !== undefined ? { batchId } : {}) };
}

/** True when `event` lies inside `scope`. */
export function inScope(event: WorktreeEvent, scope: NormalizedScope): boolean {
  if (scope.batchId !== undefined && event.batchId !== scope.batchId) return false;
  if (scope.sinceMs !== undefined) {
    const at = Date.parse(event.timestamp);
    if (Number.isNaN(at) || at < scope.sinceMs) return false;
  }
  return true;
}

function validDuration(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
}
