import type { Logger } from '../log.js';
import type { WorktreeInfo, WorktreeStatus } from '../manager/types.js';

/** One unit of work: an issue to be handled in its own worktree. */
export interface WorktreeTask {
  readonly issueNumber: number;
  readonly description?: string;
  readonly agentType?: string;
  readonly metadata?: Readonly<Record<string, unknown>>;
  /** Branch to use instead of `feature/issue-<n>`. */
  readonly branchName?: string;
  /** Base branch for this task's worktree instead of the manager's default. */
  readonly baseBranch?: string;
}

/** What an executor gets besides the worktree and the task. */
export interface TaskContext {
  /** Aborted on timeout, fail-fast or batch abort: pass it to everything the task starts. */
  readonly signal: AbortSignal;
  readonly worktree: WorktreeInfo;
  readonly task: WorktreeTask;
  /** Groups this batch's telemetry events. */
  readonly batchId: string;
  /** The task's own time budget in ms. */
  readonly timeoutMs: number;
}

/** Runs one task in its worktree; its resolved value becomes the result's `output`. */
export type TaskExecutor<T = unknown> = (
  worktree: WorktreeInfo,
  task: WorktreeTask,
  ctx: TaskContext,
) => Promise<T>;

export type TaskStatus = 'success' | 'failed' | 'timeout' | 'cancelled';

/** A failure as plain data (JSON-serialisable). */
export interface TaskError {
  readonly message: string;
  readonly code?: string;
  readonly hint?: string;
}

export interface TaskResult<T = unknown> {
  readonly issueNumber: number;
  /** Empty when the worktree was never created (the task failed or was cancelled before). */
  readonly worktreeId: string;
  readonly status: TaskStatus;
  /** Whole lifecycle: create, execute and cleanup. */
  readonly durationMs: number;
  readonly error?: TaskError;
  readonly output?: T;
  /** Worktree path and branch, for follow-up steps (merge, push, inspection). */
  readonly worktreePath?: string;
  readonly branchName?: string;
  /** True when the worktree was removed after the task (autoCleanup). */
  readonly cleanedUp: boolean;
  /** Set when removal saved uncommitted work or unmerged commits under this ref. */
  readonly archiveRef?: string;
}

export interface PoolExecutionResult<T = unknown> {
  readonly batchId: string;
  readonly totalTasks: number;
  /** In input order. */
  readonly results: readonly TaskResult<T>[];
  readonly totalDurationMs: number;
  readonly successCount: number;
  readonly failedCount: number;
  readonly timeoutCount: number;
  readonly cancelledCount: number;
  /** True when every task succeeded (also for an empty batch). */
  readonly allSuccessful: boolean;
  /** Percentage 0–100 of tasks that succeeded; 0 for an empty batch. */
  readonly successRate: number;
}

export interface PoolConfig {
  /** Task lifecycles (create → execute → cleanup) at once. @default 3 */
  readonly maxConcurrency?: number;
  /** Per-task execution budget. @default 1_800_000 (30 min) */
  readonly timeoutMs?: number;
  /** First failure or timeout cancels in-flight tasks and skips queued ones. @default false */
  readonly failFast?: boolean;
  /** Remove each task's worktree (safely: nothing lost) as soon as it ends. @default true */
  readonly autoCleanup?: boolean;
  /** How long an aborted executor may take to settle before its task is settled anyway. @default 5_000 */
  readonly abortGraceMs?: number;
}

export interface PoolCreateOptions extends PoolConfig {
  readonly cwd?: string;
  readonly repoPath?: string;
  readonly worktreeDir?: string;
  readonly baseBranch?: string;
  readonly logger?: Logger;
}

export interface ExecuteOptions {
  /** Aborting it cancels the whole batch; nothing is orphaned. */
  readonly signal?: AbortSignal;
}

export interface PoolStats {
  readonly maxConcurrency: number;
  /** Tasks in their lifecycle right now. */
  readonly activeTasks: number;
  /** Tasks waiting to start. */
  readonly queuedTasks: number;
  readonly availableSlots: number;
  /** Worktrees this pool holds, by status (removed ones are not counted). */
  readonly worktreesByStatus: Readonly<Record<WorktreeStatus, number>>;
}
