// A task's outcome: the one shape the pool returns, the batch record stores and every view counts.
import type { HintPart } from '../errors.js';
import type { PrepareResult } from './prepare-result.js';
import type { TaskStage, TaskStatus } from './task.js';
import type { MergeResult, PushResult, StaleBranch } from './types.js';
import type { VariantDecision, VariantOutcome } from './variant.js';

export interface PullRequestResult {
  /** The pull request's page. */
  readonly url: string;
  readonly number: number;
  /** False when an open pull request for the branch existed and was updated instead. */
  readonly created: boolean;
}

/** A failure as plain data (JSON-serialisable). */
export interface TaskError {
  readonly message: string;
  readonly code?: string;
  /** What a person can do, in the library's words (calls such as `restoreWorktree('…')`). */
  readonly hint?: string;
  /**
   * The same hint with its steps kept apart, when it names any: a front end renders them as its own
   * commands (the CLI's `run --json` does).
   */
  readonly hintParts?: readonly HintPart[];
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

/** What a task's processes used, sampled from /proc while its command ran (Linux). */
export interface TaskResources {
  /** The most resident memory its processes held together at one sample (every ~250 ms), in bytes. */
  readonly peakRssBytes: number;
  /** CPU seconds (user + system) of its processes and of the children they waited for. */
  readonly cpuSeconds: number;
  /** With the pool's `maxMemory`: the sample that found the task above it (its processes were killed then). */
  readonly memoryLimit?: MemoryLimitHit;
}

/** A task found above `maxMemory`: the limit, what its processes held then, and the one that held the most. */
export interface MemoryLimitHit {
  readonly limitBytes: number;
  readonly totalBytes: number;
  readonly top: { readonly pid: number; readonly rssBytes: number; readonly command: string };
}

/**
 * What an agent reported about its own cost in `$MIYABI_USAGE_FILE` (JSON with any of these fields;
 * others are ignored).
 */
export interface TaskUsage {
  readonly inputTokens?: number;
  readonly outputTokens?: number;
  readonly costUsd?: number;
  readonly model?: string;
}

/** How a landing went (`TaskResult.landing`). */
export interface Landing {
  /** The last candidate built: the commit the target was to take. */
  readonly candidate: string;
  /** The candidate whose check passed and that the target took; absent when none did. */
  readonly checkedCommit?: string;
  /** Runs of the check (more than one when the target moved meanwhile). */
  readonly checks: number;
  readonly targetBefore: string;
  /** The target's tip afterwards (unchanged when the check failed). */
  readonly targetAfter: string;
  /** Time waiting for the landings ahead in the queue (the pool's), in ms. */
  readonly waitedMs: number;
  /** Time spent in the check, all runs together, in ms. */
  readonly checkMs: number;
  /** The last run of the check. */
  readonly lastCheck?: {
    readonly ok: boolean;
    readonly exitCode: number | null;
    readonly timedOut: boolean;
    readonly lastLines: string;
    readonly checkLog: string;
  };
  /** Uncommitted files the worktree held before the landing: saved under this archive ref. */
  readonly archiveRef?: string;
  /** Files the check changed (or committed): discarded, the checked commit is what landed. */
  readonly discarded?: readonly string[];
  /**
   * With `check.batch` above 1: how many tasks' branches landed in the same move of the target
   * (this one included), merged one on top of the other in order of readiness; `checkedCommit` is
   * then their combined tip. Absent when this task landed alone.
   */
  readonly landedTogether?: number;
}

/** What every task result carries, whatever its status. */
interface TaskResultFields<T> {
  readonly issueNumber: number;
  /** The attempt's variant (1-based) while the issue runs as several attempts; absent otherwise. */
  readonly variant?: number;
  /** With variants: every attempt at the issue, the scoreboard (this result is the winner's, or the issue's failure). */
  readonly variants?: readonly VariantOutcome[];
  /** With variants: the variant that won (absent when none passed). */
  readonly winner?: number;
  /** With variants: what the choice rested on (`first-success`: no check and no score, the first to succeed). */
  readonly decidedBy?: VariantDecision;
  /** Empty when the worktree was never created (the task failed or was cancelled before). */
  readonly worktreeId: string;
  /** Whole lifecycle: create, setup, execute, merge, push and cleanup. */
  readonly durationMs: number;
  /** What the executor returned, or last passed to `ctx.setOutput` (also for failed tasks). */
  readonly output?: T;
  /** Worktree path and branch, for follow-up steps (merge, push, inspection). */
  readonly worktreePath?: string;
  readonly branchName?: string;
  /** The commit its worktree started from: the base branch's tip when the task started. */
  readonly baseCommit?: string;
  /**
   * The task's log file (setup output, and the command's if the executor writes it there); for a
   * queue task, the submitter's copy under its `logDir`, its output sent there by the worker.
   */
  readonly logFile?: string;
  /** What `.worktreeinclude` copying and `setup` did, when they ran. */
  readonly prepare?: PrepareResult;
  /** With the pool's `merge`: what the merge did (absent when it failed: see `error`). */
  readonly merge?: MergeResult;
  /** With the pool's `check` (and `merge`): how the landing went, also when its check failed. */
  readonly landing?: Landing;
  /** With the pool's `push`: what was pushed (absent when it failed: see `error`). */
  readonly push?: PushResult;
  /** With the pool's `pullRequest`: the pull request opened or updated (also when only its reviewers or labels failed). */
  readonly pr?: PullRequestResult;
  /** Uncommitted changes the task left that were not merged. */
  readonly unmergedWork?: UnmergedWork;
  /** The task's branch existed with commits not in its base: how many, and where they were archived if restarted. */
  readonly staleBranch?: StaleBranch;
  /**
   * What the task's processes used (memory peak, CPU seconds); absent when none was sampled (an
   * in-process executor, or a command that lived less than one 250 ms sample) or off Linux.
   */
  readonly resources?: TaskResources;
  /** The tokens and cost the agent wrote to `$MIYABI_USAGE_FILE`; absent when it wrote none (or none valid). */
  readonly usage?: TaskUsage;
  /** With `onConflict: { resolve }`: each attempt to resolve a merge conflict, in order. */
  readonly resolveAttempts?: readonly ResolveAttempt[];
  /** Set when the task's command stopped at a provider's usage limit and the task waited (see {@link TaskPause}). */
  readonly pause?: TaskPause;
  /** True when the worktree was removed after the task (autoCleanup), or reset and kept idle (`reuse`). */
  readonly cleanedUp: boolean;
  /** With `reuse`: the task ran in an idle worktree an earlier task had used (reset for it). */
  readonly reusedWorktree?: boolean;
  /** With `reuse`: after the task (its work saved as removal saves it) the worktree was kept idle for the next one. */
  readonly keptIdle?: boolean;
  /** Set when removal saved uncommitted work or commits no branch contains under this ref. */
  readonly archiveRef?: string;
  /**
   * Processes the task left running in its worktree (e.g. a server started with `setsid`, outside
   * its command's process group) that removing the worktree or handing it back idle stopped: their
   * pids. Also listed in the task's log. Absent when there were none.
   */
  readonly stoppedProcesses?: readonly number[];
  /** Set when the worktree was removed but its branch kept (it holds the task's commits): why. */
  readonly keptBranch?: { readonly name: string; readonly reason: string };
  /** With the pool's `queue`: the worker that ran the task (its `--name`, default host-pid). */
  readonly worker?: string;
  /** With the pool's `queue`: the host name of that worker. */
  readonly host?: string;
  /**
   * With the pool's `queue`, when the worker archived work (`archiveRef`, `unmergedWork.archiveRef`,
   * `staleBranch.archiveRef`): where those archives are. Restorable here only when `shared`.
   */
  readonly archivedOn?: ArchiveLocation;
  /**
   * Set when a later operation (`merge` of the kept worktree, or `resolve` which ends in one)
   * changed the outcome after the batch: when, by what, and the outcome before.
   */
  readonly settledLater?: SettledLater;
}

/** Where a worker's archives of a task are (see {@link TaskResultFields.archivedOn}). */
export interface ArchiveLocation {
  readonly worker: string;
  readonly host: string;
  /** The worker's clone: `restoreWorktree(id)` there brings the work back. */
  readonly repo: string;
  /**
   * True when (with `queue.shareArchives`) the worker pushed them to the remote under the same
   * `refs/miyabi/archive/…` and this side fetched them: `restoreWorktree(id)` works here too.
   */
  readonly shared: boolean;
}

/**
 * How a task waited out provider usage limits: paused in its worktree, then run again there. Paused
 * time does not count against the task's timeout.
 */
export interface TaskPause {
  /** How many times its command met a limit. */
  readonly count: number;
  /** Time spent paused in all. */
  readonly totalMs: number;
  /** ISO 8601: the last reset time it waited for (with `USAGE_LIMIT`: the one beyond `pauseMax`). */
  readonly until: string;
}

/** How a task's outcome changed after its batch (see {@link TaskResultFields.settledLater}). */
export interface SettledLater {
  /** ISO 8601. */
  readonly at: string;
  /** The operation: `merge` (also what the CLI's `resolve` ends with), or `land` (checked). */
  readonly by: 'merge' | 'land';
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
