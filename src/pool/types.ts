import type { GitHubClient } from '../github/client.js';
import type { PullRequestResult } from '../github/pull-request.js';
import type { GitHubRepo, IssueContext } from '../github/types.js';
import type { Logger } from '../log.js';
import type {
  MergeResult,
  MergeStrategy,
  PushResult,
  StaleBranch,
  WorktreeInfo,
  WorktreeStatus,
} from '../manager/types.js';
import type { PoolQueueOptions } from '../queue/types.js';
import type { PrepareResult, PrepareSettings } from '../setup/prepare-worktree.js';
import type { Overlap, TaskStage } from '../telemetry/events.js';

export type { TaskStage } from '../telemetry/events.js';

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
  /** The issue's text (from `issuesFromGitHub`): the pull request's title and link come from it. */
  readonly context?: IssueContext;
  /**
   * W3C `traceparent` of a span in another process (a queue's submitter sets it): the task's span
   * becomes its child. Needs an OpenTelemetry propagator registered (the SDK's default has one).
   */
  readonly traceparent?: string;
}

/** What an executor gets besides the worktree and the task. */
export interface TaskContext<T = unknown> {
  /** Aborted on timeout, fail-fast or batch abort: pass it to everything the task starts. */
  readonly signal: AbortSignal;
  readonly worktree: WorktreeInfo;
  readonly task: WorktreeTask;
  /** Groups this batch's telemetry events. */
  readonly batchId: string;
  /** The task's own time budget in ms (setup, command, merge and push together). */
  readonly timeoutMs: number;
  /**
   * The task's log file (`<logDir>/<batchId>/issue-<n>.log`), where setup output already is:
   * append your command's output to it (`runCommand(..., { output: { file: ctx.logFile } })`).
   */
  readonly logFile: string;
  /**
   * The `MIYABI_*` variables of this task (issue, path, branch, worktree id, batch id): give them
   * to every process the task starts, so removal can find and stop any that outlive it.
   */
  readonly env: Readonly<Record<string, string>>;
  /** The conflicting paths while a resolver runs (see the pool's `onConflict`); empty otherwise. */
  readonly conflicts: readonly string[];
  /**
   * Records what the task produced so far: it becomes the result's `output` even when the executor
   * then throws or times out (the resolved value, if any, replaces it).
   */
  setOutput(output: T): void;
}

/** Runs one task in its worktree; its resolved value becomes the result's `output`. */
export type TaskExecutor<T = unknown> = (
  worktree: WorktreeInfo,
  task: WorktreeTask,
  ctx: TaskContext<T>,
) => Promise<T>;

export type TaskStatus = 'success' | 'failed' | 'timeout' | 'cancelled';

/** A failure as plain data (JSON-serialisable). */
export interface TaskError {
  readonly message: string;
  readonly code?: string;
  readonly hint?: string;
  /** For `MERGE_CONFLICT`: the conflicting paths. */
  readonly conflicts?: readonly string[];
}

/** Uncommitted changes a task left that were not merged (archived when its worktree was removed). */
export interface UnmergedWork {
  /** The changed paths, relative to the worktree. */
  readonly paths: readonly string[];
  /** Where they were saved (`refs/miyabi/archive/<id>`); absent while the worktree is kept. */
  readonly archiveRef?: string;
}

/** What every task result carries, whatever its status. */
interface TaskResultFields<T> {
  readonly issueNumber: number;
  /** Empty when the worktree was never created (the task failed or was cancelled before). */
  readonly worktreeId: string;
  /** Whole lifecycle: create, setup, execute, merge, push and cleanup. */
  readonly durationMs: number;
  /** What the executor returned, or last passed to `ctx.setOutput` (also for failed tasks). */
  readonly output?: T;
  /** Worktree path and branch, for follow-up steps (merge, push, inspection). */
  readonly worktreePath?: string;
  readonly branchName?: string;
  /** The task's log file (setup output, and the command's if the executor writes it there). */
  readonly logFile?: string;
  /** What `.worktreeinclude` copying and `setup` did, when they ran. */
  readonly prepare?: PrepareResult;
  /** With the pool's `merge`: what the merge did (absent when it failed: see `error`). */
  readonly merge?: MergeResult;
  /** With the pool's `push`: what was pushed (absent when it failed: see `error`). */
  readonly push?: PushResult;
  /** With the pool's `pullRequest`: the pull request opened or updated (also when only its reviewers or labels failed). */
  readonly pr?: PullRequestResult;
  /** Uncommitted changes the task left that were not merged. */
  readonly unmergedWork?: UnmergedWork;
  /** The task's branch existed with commits not in its base: how many, and where they were archived if restarted. */
  readonly staleBranch?: StaleBranch;
  /** With `onConflict: { resolve }`: each attempt to resolve a merge conflict, in order. */
  readonly resolveAttempts?: readonly ResolveAttempt[];
  /** True when the worktree was removed after the task (autoCleanup), or reset and kept idle (`reuse`). */
  readonly cleanedUp: boolean;
  /** With `reuse`: the task ran in an idle worktree an earlier task had used (reset for it). */
  readonly reusedWorktree?: boolean;
  /** With `reuse`: after the task (its work saved as removal saves it) the worktree was kept idle for the next one. */
  readonly keptIdle?: boolean;
  /** Set when removal saved uncommitted work or unmerged commits under this ref. */
  readonly archiveRef?: string;
  /** With the pool's `queue`: the worker that ran the task (its `--name`, default host-pid). */
  readonly worker?: string;
  /** With the pool's `queue`: the host name of that worker. */
  readonly host?: string;
  /**
   * Set when a later operation (`merge` of the kept worktree, or `resolve` which ends in one)
   * changed the outcome after the batch: when, by what, and the outcome before.
   */
  readonly settledLater?: SettledLater;
}

/** How a task's outcome changed after its batch (see {@link TaskResultFields.settledLater}). */
export interface SettledLater {
  /** ISO 8601. */
  readonly at: string;
  /** The operation: `merge` (also what the CLI's `resolve` ends with). */
  readonly by: 'merge';
  /** The outcome the batch had recorded. */
  readonly previous: {
    readonly status: Exclude<TaskStatus, 'success'>;
    readonly stage: TaskStage;
    readonly error: TaskError;
  };
}

/** One attempt to resolve a task's merge conflict by handing it back to a resolver. */
export interface ResolveAttempt {
  readonly attempt: number;
  /** The paths that conflicted when the target was merged into the task's branch. */
  readonly conflicts: readonly string[];
  /** `resolved`: merged back afterwards; `failed`: see `error`. */
  readonly outcome: 'resolved' | 'failed';
  readonly durationMs: number;
  readonly error?: TaskError;
}

/**
 * What a batch with `merge` does with a task whose merge conflicts: `keep` its worktree for you to
 * resolve (the default), `remove` it as usual (its work archived), or hand the conflict back to a
 * resolver, up to `attempts` times: the target is merged into the task's branch in its worktree,
 * the resolver runs there with `ctx.conflicts` (and `MIYABI_CONFLICTS` in `ctx.env`, a file of the
 * paths) and must commit its resolution; then the branch is merged back.
 */
export type ConflictPolicy =
  | 'keep'
  | 'remove'
  | {
      readonly resolve: TaskExecutor;
      /** @default 1 */
      readonly attempts?: number;
    };

/** A task whose command and every follow-up asked for (merge, push) succeeded. */
export interface TaskSucceeded<T = unknown> extends TaskResultFields<T> {
  readonly status: 'success';
  readonly stage?: undefined;
  readonly error?: undefined;
}

/** A task that did not succeed: where (`stage`) and why (`error`). */
export interface TaskUnsuccessful<
  T = unknown,
  S extends Exclude<TaskStatus, 'success'> = Exclude<TaskStatus, 'success'>,
> extends TaskResultFields<T> {
  readonly status: S;
  /** The lifecycle stage the task ended in. */
  readonly stage: TaskStage;
  readonly error: TaskError;
}

/**
 * How a task ended, as one value: every count, the report, the CLI's table, live view, JSON and exit
 * code derive from it. `success` only when the command and every follow-up asked for succeeded.
 */
export type TaskResult<T = unknown> =
  | TaskSucceeded<T>
  | TaskUnsuccessful<T, 'failed'>
  | TaskUnsuccessful<T, 'timeout'>
  | TaskUnsuccessful<T, 'cancelled'>;

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
  /** Of the cancelled tasks, those cancelled before they started (no worktree was made for them). */
  readonly notStartedCount: number;
  /** True when every task succeeded (also for an empty batch). */
  readonly allSuccessful: boolean;
  /** Percentage 0–100 of tasks that succeeded; 0 for an empty batch. */
  readonly successRate: number;
  /** Tasks whose merge met a conflict, and how many of those were resolved and merged. */
  readonly conflicts: { readonly met: number; readonly resolved: number };
  /**
   * What the conflict radar saw during the batch: the latest result of each pair of task branches
   * that changed the same files or would conflict (`a` started first). Empty without the radar.
   */
  readonly overlaps: readonly Overlap[];
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
  /**
   * Merge each successful task's branch back (safely: no checkout is switched, a conflict changes
   * nothing and fails the task at stage `merge`). Off unless given. @default undefined
   */
  readonly merge?: PoolMergeOptions;
  /** Push each successful task's branch (after its merge, if any). Off unless given. @default undefined */
  readonly push?: PoolPushOptions;
  /** `.worktreeinclude` copying and `setup` commands for each new worktree. @default the configuration file's */
  readonly prepare?: PrepareSettings;
  /**
   * Reuse worktrees: a task takes an idle worktree (switched to its branch from its base, cleaned
   * but for `keepPaths`) or makes a reusable one, and hands it back idle when it ends (its work
   * saved as removal saves it). Needs `autoCleanup`. @default the configuration's `reuse` (false)
   */
  readonly reuse?: boolean;
  /** With `reuse`: ignored paths kept between tasks. @default the configuration's `keepPaths` (['node_modules', '.venv', 'target']) */
  readonly keepPaths?: readonly string[];
  /** With `reuse`: idle worktrees kept at most; others are removed. @default the configuration's `maxIdle`, else maxConcurrency */
  readonly maxIdle?: number;
  /**
   * A task's branch that already exists with commits not in its base (an earlier run's): `restart`
   * archives its tip (restorable) and starts it fresh from the base; `continue` builds on it. @default 'restart'
   */
  readonly existingBranches?: 'restart' | 'continue';
  /** What to do with a task whose merge conflicts (see {@link ConflictPolicy}). @default 'keep' */
  readonly onConflict?: ConflictPolicy;
  /** Batch log folders kept in `logDir` (the oldest are deleted as a batch starts). @default the config's `logRetention`, else 50 */
  readonly logRetention?: number;
  /**
   * Open (or update) a pull request for each successful task's pushed branch, against its base
   * branch; a failure fails that task at stage `pr`. Needs `push`; cannot go with `merge`.
   * Off unless given. @default undefined
   */
  readonly pullRequest?: PoolPullRequestOptions;
  /**
   * Conflict radar: every this many ms while the batch runs, the live task branches are compared
   * (files both changed since the base, whether their tips would merge cleanly) and an `overlap`
   * event is recorded for each pair whose result changed. One `git for-each-ref` per look when no
   * branch moved. `0` turns the radar off. @default 2_000
   */
  readonly radarIntervalMs?: number;
  /**
   * What the radar does about two tasks whose branches would conflict: `warn` (an `overlap` event,
   * nothing else) or `stop-later` (also cancels the task that started later). @default 'warn'
   */
  readonly onOverlap?: OverlapPolicy;
  /** Folder of the per-task logs (`<logDir>/<batchId>/issue-<n>.log`). @default '<git common dir>/miyabi/logs' */
  readonly logDir?: string;
  /**
   * Send the tasks to workers through BullMQ on Redis (see `startWorker`) instead of running them
   * here; the executor must be a `commandExecutor(argv)`. Off unless given. @default undefined
   */
  readonly queue?: PoolQueueOptions;
}

/** See {@link PoolConfig.onOverlap}. */
export type OverlapPolicy = 'warn' | 'stop-later';

export interface PoolMergeOptions {
  /** Target branch. @default each worktree's base branch */
  readonly into?: string;
  /** @default 'merge' */
  readonly strategy?: MergeStrategy;
  /** Message of the merge (or squash) commit. */
  readonly message?: string;
}

export interface PoolPullRequestOptions {
  /** The GitHub repository: `owner/repo` or `{ owner, repo }`. */
  readonly repo: string | GitHubRepo;
  /** Open new pull requests as drafts. @default false */
  readonly draft?: boolean;
  /** Logins asked to review each pull request. */
  readonly reviewers?: readonly string[];
  /** Labels added to each pull request. */
  readonly labels?: readonly string[];
  /** A client to use; else one is made (token from `token`, GITHUB_TOKEN, GH_TOKEN or `gh`) before any task starts. */
  readonly client?: GitHubClient;
  readonly token?: string;
  /** @default 'https://api.github.com' */
  readonly baseUrl?: string;
}

export interface PoolPushOptions {
  /** @default 'origin' */
  readonly remote?: string;
}

export interface PoolCreateOptions extends PoolConfig {
  readonly cwd?: string;
  readonly repoPath?: string;
  readonly worktreeDir?: string;
  readonly baseBranch?: string;
  readonly branchPattern?: string;
  readonly logger?: Logger;
  /** Read the repository's configuration file for defaults (explicit options win). @default true */
  readonly config?: boolean;
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
