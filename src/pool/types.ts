import type { WorktreeTask } from '../core/task.js';
import type { MergeStrategy, WorktreeInfo, WorktreeStatus } from '../core/types.js';
import type { VariantsOption } from '../core/variant.js';
import type { GitHubClient } from '../github/client.js';
import type { GitHubRepo } from '../github/types.js';
import type { Logger } from '../log.js';
import type { CheckOption } from '../process/check-command.js';
import type { PoolQueueOptions } from '../queue/types.js';
import type { PrepareSettings } from '../setup/prepare-worktree.js';
import type { Overlap } from '../telemetry/events.js';

export type { TaskStatus, WorktreeTask } from '../core/task.js';
export type {
  ArchiveLocation,
  MemoryLimitHit,
  PullRequestResult,
  ResolveAttempt,
  SettledLater,
  TaskError,
  TaskPause,
  TaskResources,
  TaskResult,
  TaskSucceeded,
  TaskUnsuccessful,
  TaskUsage,
  UnmergedWork,
} from '../core/task-result.js';
export type {
  VariantDecision,
  VariantOutcome,
  VariantSpec,
  VariantsOption,
} from '../core/variant.js';
export type { TaskStage } from '../telemetry/events.js';

/** See {@link TaskContext.variant}. */
export interface VariantContext {
  /** 1-based; `{variant}` in the command's arguments. */
  readonly variant: number;
  readonly name: string;
  /** This variant's command, when it has its own. */
  readonly command?: readonly string[];
}

import type { TaskResult } from '../core/task-result.js';

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
   * With variants: which attempt this is, and its own command and environment (a command executor
   * runs `command` instead of its own; `env` is already in {@link env}).
   */
  readonly variant?: VariantContext;
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
  /** Task lifecycles (create → execute → cleanup) at once, 1 to `MAX_CONCURRENCY` (64). @default `DEFAULT_CONCURRENCY` (3) */
  readonly maxConcurrency?: number;
  /** Per-task execution budget in ms, at most `MAX_DURATION_MS` (7 days). @default `DEFAULT_TIMEOUT_MS` (1_800_000: 30 min) */
  readonly timeoutMs?: number;
  /** First failure or timeout cancels in-flight tasks and skips queued ones. @default false */
  readonly failFast?: boolean;
  /** Remove each task's worktree (safely: nothing lost) as soon as it ends. @default true */
  readonly autoCleanup?: boolean;
  /** How long an aborted executor may take to settle before its task is settled anyway. @default `DEFAULT_ABORT_GRACE_MS` (5_000) */
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
  /** With `reuse`: idle worktrees kept at most (0 to `MAX_IDLE`, 256); others are removed. @default the configuration's `maxIdle`, else maxConcurrency */
  readonly maxIdle?: number;
  /**
   * A task's branch that already exists with commits not in its base (an earlier run's): `restart`
   * archives its tip (restorable) and starts it fresh from the base; `continue` builds on it. @default 'restart'
   */
  readonly existingBranches?: 'restart' | 'continue';
  /** What to do with a task whose merge conflicts (see {@link ConflictPolicy}). @default 'keep' */
  readonly onConflict?: ConflictPolicy;
  /** Batch log folders kept in `logDir` (the oldest are deleted as a batch starts). 1 to `MAX_LOG_RETENTION` (10_000). @default the config's `logRetention`, else `DEFAULT_LOG_RETENTION` (50) */
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
   * branch moved. `0` turns the radar off. @default `DEFAULT_RADAR_INTERVAL_MS` (2_000)
   */
  readonly radarIntervalMs?: number;
  /**
   * How often at most the radar runs `git status` in each live worktree, so that uncommitted and
   * untracked changes count as a task's work too (a commit built through a temporary index stands
   * in for the worktree; its own index is never touched). `0` compares commits only. @default 10_000
   */
  readonly radarStatusIntervalMs?: number;
  /**
   * What the radar does about two tasks whose branches would conflict: `warn` (an `overlap` event,
   * nothing else) or `stop-later` (also cancels the task that started later). @default 'warn'
   */
  readonly onOverlap?: OverlapPolicy;
  /**
   * A memory limit per task: bytes, or a size with a unit (`'4G'`, `'512M'`), at least
   * `MIN_MEMORY_BYTES` (16M). When the resident memory of the task's processes together (its
   * command's process group, their descendants and `setsid` escapees found by the worktree id)
   * goes above it, they are killed and the task fails at `execute` with `MEMORY_LIMIT`, naming
   * its peak and the process that held the most. Sampled from /proc every 250 ms (Linux only).
   * Off unless given. @default the configuration's `maxMemory` (none)
   */
  readonly maxMemory?: number | string;
  /**
   * Admission by free memory: bytes or a size with a unit, from 16M up to the machine's memory. No
   * new task starts while available memory (the smaller of `MemAvailable` and, inside a memory
   * cgroup, its limit minus its usage) is below it — unless none of the batch's tasks is running,
   * so a batch always makes progress. A held task is announced by a `memory-wait` event.
   * Off unless given. @default the configuration's `minFreeMemory` (none)
   */
  readonly minFreeMemory?: number | string;
  /**
   * More texts that mean a provider's usage limit, besides the built-in forms of Claude Code, Codex
   * CLI and Gemini CLI: regular expressions tried on the last 20 lines of a command that exited
   * non-zero (a named group `reset` may capture when the limit resets). On a match the task pauses
   * in its worktree, the pool starts no new task of the same program until the reset, and the task
   * then runs again there. @default the configuration's `pauseOn` ([])
   */
  readonly pauseOn?: readonly (string | RegExp)[];
  /**
   * The most a batch waits out usage limits, in all (ms, 0 to `MAX_DURATION_MS`): a task whose reset
   * lies beyond it ends `failed` with `USAGE_LIMIT`, its worktree kept. `0`: a usage limit fails the
   * task at once. @default the configuration's `pauseMax`, else `DEFAULT_PAUSE_MAX_MS` (21_600_000: 6 h)
   */
  readonly pauseMaxMs?: number;
  /** Folder of the per-task logs (`<logDir>/<batchId>/issue-<n>.log`). @default '<git common dir>/miyabi/logs' */
  readonly logDir?: string;
  /**
   * Send the tasks to workers through BullMQ on Redis (see `startWorker`) instead of running them
   * here; the executor must be a `commandExecutor(argv)`. Off unless given. @default undefined
   */
  readonly queue?: PoolQueueOptions;
  /**
   * The landing check (argv, no shell; or `{ command, timeoutMs }`): with `merge`, each task lands
   * only if the check passes on what the target becomes (`WorktreeManager.landWorktree`); with
   * `pullRequest`, it runs on that candidate before the pull request and its verdict goes in the
   * body. Runs once on the base first (see `allowRedBase`). Needs `merge` or `pullRequest`.
   * @default the configuration's `check` (with `merge` or `pullRequest`), else none
   */
  readonly check?: CheckOption;
  /** What to do with a task whose check fails (see {@link CheckFailPolicy}). @default 'keep' */
  readonly onCheckFail?: CheckFailPolicy;
  /** Run the batch even when the check fails on the base itself (every candidate still has to pass). @default false */
  readonly allowRedBase?: boolean;
  /**
   * Attempts per issue (1–10), or one `{ name?, command?, env? }` per attempt: each in its own
   * worktree and branch (`…-v<k>`); the check gates, `score` ranks, the winner lands (the runner-up
   * when the winner's landing fails) and the others' work is archived. A task's own `variants` wins.
   * @default the configuration's `variants`, else 1
   */
  readonly variants?: VariantsOption;
  /**
   * Ranks the variants that passed the check (argv, no shell; or `{ command, timeoutMs }`): run in
   * each one's worktree, its last line of output a number from 0 to 100. @default the configuration's `score`, else none
   */
  readonly score?: CheckOption;
  /** Once a variant passes with at least this score (0–100), the rest of its issue is cancelled. Needs `score`. @default undefined */
  readonly variantsStopAt?: number;
}

/**
 * What a batch with a `check` does with a task whose landing check fails: `keep` its worktree (the
 * default), `remove` it as usual (its work archived), or hand it back to `fix`, up to `attempts`
 * times (shared with the conflict hand-back's): the target is merged into the task's branch in its
 * worktree, `fix` runs there with `MIYABI_CHECK_LOG` in `ctx.env` (the check's output), then the
 * landing is tried again.
 */
export type CheckFailPolicy =
  | 'keep'
  | 'remove'
  | {
      readonly fix: TaskExecutor;
      /** @default 1 */
      readonly attempts?: number;
    };

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
