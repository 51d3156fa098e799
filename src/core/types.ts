import type { Logger } from '../log.js';
import type { TaskStatus as ExecutionOutcome, TaskStage } from './task.js';

/** Who created a record: lets cleanup tell a live process's worktree from one a dead process left. */
export interface Owner {
  readonly pid: number;
  readonly host: string;
}

/** A `*.lock` file a killed git process left in the git common dir, and what cleanup did about it. */
export interface StaleLockInfo {
  readonly path: string;
  /** `would-remove` in a dry run; `kept` while a git process may still hold it. */
  readonly action: 'removed' | 'would-remove' | 'kept';
  readonly reason: string;
}

/** Where a worktree is in its life: `active` holds a concurrency slot; the others do not. */
export type WorktreeStatus = 'active' | 'idle' | 'completed' | 'failed';

export const WORKTREE_STATUSES: readonly WorktreeStatus[] = ['active', 'idle', 'completed', 'failed'];

/** One worktree this tool created. Plain data: JSON-serialisable as is. */
export interface WorktreeInfo {
  /**
   * Stable id, also the folder name: `issue-<n>-<8 hex>`. A reusable worktree (see {@link slot})
   * gets a new id for each task (its archives are per task) and `slot-<8 hex>` while idle.
   */
  readonly id: string;
  /** The issue of the task in it; 0 while the worktree is `idle` (no task). */
  readonly issueNumber: number;
  /** Absolute path of the worktree folder. */
  readonly path: string;
  readonly branchName: string;
  /** The branch the worktree was started from (short name, e.g. `main`). */
  readonly baseBranch: string;
  /** Commit the worktree started at: what "unmerged work" is measured against. */
  readonly baseCommit: string;
  /** True when an existing branch was checked out instead of a new one created. */
  readonly reusedBranch: boolean;
  /**
   * Set when the branch existed with commits not in the base (left by an earlier run): how many,
   * and, when it was restarted from the base (`existingBranch: 'restart'`), where its tip was archived.
   */
  readonly staleBranch?: StaleBranch;
  /** ISO 8601. */
  readonly createdAt: string;
  readonly status: WorktreeStatus;
  /** ISO 8601 of the last status change. */
  readonly updatedAt: string;
  /** The process that created it: cleanup leaves a live owner's active worktrees alone. */
  readonly owner: Owner;
  /** Set while a removal is under way (see {@link RemovalClaim}); absent otherwise. */
  readonly removal?: RemovalClaim;
  /**
   * The worktree folder (absolute) when it was created: a record whose `path` is not directly inside
   * it names no worktree of ours and is never removed. Absent in older records: they were made in
   * `<repo>/.worktrees`, the default of those versions.
   */
  readonly worktreeDir?: string;
  /**
   * Set on a reusable worktree (pool option `reuse`): its folder name, `slot-<8 hex>`, which never
   * changes while tasks come and go (kept dependencies may hold absolute paths). Absent otherwise.
   */
  readonly slot?: string;
  /** For a reusable worktree: how many tasks it served before this one (0 or absent: fresh). */
  readonly reuses?: number;
  /** Ports this worktree holds (config `ports`), first is `MIYABI_PORT`; kept across reuse. Absent without `ports`. */
  readonly ports?: readonly number[];
  /**
   * How the last pool task in it ended (beside `status`, which says where the worktree is). Read
   * from the task's log record when listed, never stored; absent while none has ended.
   */
  readonly lastTask?: LastTask;
}

/** How a worktree's last pool task ended. Plain data. */
export interface LastTask {
  readonly status: ExecutionOutcome;
  /** Where an unsuccessful task ended (`setup`, `execute`, `merge`, ...). */
  readonly stage?: TaskStage;
  /** Its error code: `MERGE_CONFLICT` for a conflict. */
  readonly code?: string;
  readonly batchId: string;
  /** ISO 8601. */
  readonly endedAt: string;
}

/**
 * A removal in progress, recorded once its archive is written and before any file is deleted: a
 * second remover leaves the worktree to a live claimant, and one taking over from a dead claimant
 * goes straight to deleting (the files may already be half gone; the archive holds the work).
 */
export interface RemovalClaim {
  readonly owner: Owner;
  /** Tells two removals of one process apart. */
  readonly token: string;
  /** ISO 8601. */
  readonly startedAt: string;
  readonly archived: ArchiveInfo | null;
  /** Set when that removal failed: the next one takes over at once, like from a dead process. */
  readonly failed?: string;
  /**
   * Set by a removal that let `git worktree remove` check the files (nothing archived first): one
   * that takes over reads the folder again while git's link to it stands.
   */
  readonly unverified?: true;
}

export interface ManagerOptions {
  /**
   * Folder for worktrees; relative paths are relative to the main worktree root. The default lies
   * beside the repository, out of reach of Node's module lookup from the main checkout's `node_modules`.
   * @default '../<repo folder>.worktrees' when that parent is writable and on the repository's filesystem, else '.worktrees'
   */
  readonly worktreeDir?: string;
  /** How many worktrees this manager holds `active` at once, 1 to `MAX_CONCURRENCY` (64). @default `DEFAULT_CONCURRENCY` (3) */
  readonly maxConcurrency?: number;
  /** Default base branch; else origin/HEAD, main, master, the current branch. */
  readonly baseBranch?: string;
  /** Structured logger (pino-compatible). @default silent */
  readonly logger?: Logger;
  /** Branch name of an issue's worktree; `{issue}` is replaced. @default the config's, else 'feature/issue-{issue}' */
  readonly branchPattern?: string;
  /**
   * Read the repository's configuration file (`miyabi-worktree.config.json`, else the
   * `"miyabi-worktree"` key of `package.json`) for the defaults; explicit options win. @default true
   */
  readonly config?: boolean;
}

export interface DiscoverOptions extends ManagerOptions {
  /** Where to look for the repository. @default process.cwd() */
  readonly cwd?: string;
}

export interface OpenOptions extends ManagerOptions {
  /** Any path inside the repository (main or linked worktree). */
  readonly repoPath: string;
}

/** A branch that existed, with work of its own, when a worktree was created on it. */
export interface StaleBranch {
  /** Commits on it that the base did not contain. */
  readonly unmergedCommits: number;
  /** `refs/miyabi/archive/<id>` holding its old tip, when it was restarted from the base. */
  readonly archiveRef?: string;
}

export interface CreateWorktreeOptions {
  /**
   * A branch that already exists with commits not in the base: `reuse` builds on it, `restart`
   * archives its tip (restorable like any archive) and starts it fresh from the base. @default 'reuse'
   */
  readonly existingBranch?: 'reuse' | 'restart';
  readonly baseBranch?: string;
  readonly branchName?: string;
  /** Aborts the wait for a slot or the creation itself; nothing is left behind. */
  readonly signal?: AbortSignal;
  /** Groups this worktree's telemetry events with a batch (the pool sets it). */
  readonly batchId?: string;
  /**
   * Take an `idle` worktree if there is one (reset to the new branch from the base: `checkout -f`
   * + `clean -ffdx` keeping {@link keepPaths}), else create a reusable one (`slot-<8 hex>` folder)
   * that `idleWorktree` can hand back. @default false
   */
  readonly reuse?: boolean;
  /**
   * Ignored paths (relative to the root) a reused worktree keeps, so dependencies stay warm.
   * @default the configuration's `keepPaths`, else ['node_modules', '.venv', 'target']
   */
  readonly keepPaths?: readonly string[];
}

/** Options of `WorktreeManager.idleWorktree`. */
export interface IdleWorktreeOptions {
  /** Ignored paths the idle worktree keeps. @default as {@link CreateWorktreeOptions.keepPaths} */
  readonly keepPaths?: readonly string[];
  /**
   * Idle worktrees of this repository at most: beyond it the worktree is removed instead.
   * @default the configuration's `maxIdle`, else the manager's `maxConcurrency`
   */
  readonly maxIdle?: number;
  readonly signal?: AbortSignal;
  /** Groups the cleanup events with a batch (the pool sets it). */
  readonly batchId?: string;
}

/** What `idleWorktree` did: kept the worktree idle, or removed it (not reusable, or `maxIdle` reached). */
export interface IdleResult {
  /** The idle worktree (new id `slot-<8 hex>`, detached at its base commit); null when it was removed. */
  readonly idle: WorktreeInfo | null;
  /** Set when the worktree was removed instead (see {@link RemoveResult}). */
  readonly removed: RemoveResult | null;
  /** What was saved of the task's work, as removal saves it (`refs/miyabi/archive/<task id>`). */
  readonly archived: ArchiveInfo | null;
  readonly branchDeleted: boolean;
  readonly branchKeptReason?: string;
  /** Pids of processes the task left running in the worktree, stopped first (as {@link RemoveResult}'s). */
  readonly stoppedProcesses?: readonly number[];
}

export interface RemoveWorktreeOptions {
  /** Delete the branch too (only when none of its work would be lost, see `archived`). @default true */
  readonly deleteBranch?: boolean;
  /**
   * Remove even a worktree that is locked by someone else or holds nested repositories with work,
   * and without archiving its uncommitted files (they are lost). Never deletes the only ref to a
   * commit: a branch the worktree reused, or whose commits are in no base or remote branch, is
   * kept, and commits only a detached HEAD reaches are archived. @default false
   */
  readonly force?: boolean;
  readonly signal?: AbortSignal;
  /** Groups the cleanup events with a batch (the pool sets it). */
  readonly batchId?: string;
}

/** What was saved before a removal, under `ref`. */
export interface ArchiveInfo {
  /** `refs/miyabi/archive/<id>`. */
  readonly ref: string;
  readonly commit: string;
  /** Paths with uncommitted changes (tracked and untracked, not ignored) that the archive holds. */
  readonly uncommittedPaths: readonly string[];
  /** Commits on the branch that were in no base or remote branch. */
  readonly unmergedCommits: number;
}

export interface RemoveResult {
  readonly id: string;
  readonly path: string;
  readonly branchName: string;
  /** The folder and git's admin entry are gone. */
  readonly worktreeRemoved: boolean;
  readonly branchDeleted: boolean;
  /** Why the branch was kept, when it was. */
  readonly branchKeptReason?: string;
  /** Set when anything would have been lost and was saved first. */
  readonly archived: ArchiveInfo | null;
  readonly forced: boolean;
  /**
   * Processes of a task that were still running in the worktree (their environment carries its
   * `MIYABI_WORKTREE_ID`, e.g. agents of a `run` that was killed) and were stopped first. Linux only.
   */
  readonly stoppedProcesses?: readonly number[];
}

/** Options of `WorktreeManager.cleanupAll`. */
export interface CleanupOptions {
  /** Only report what would be done. @default false */
  readonly dryRun?: boolean;
  /**
   * Only worktrees whose checked-out commit is contained in their base branch (a branch with no
   * commits of its own counts as merged); the others are `skipped`, with why. Uncommitted work in a
   * merged worktree is archived as always. Also deletes the task branches this tool created and
   * kept when it removed their worktrees, once their base branch contains them (see
   * `CleanupReport.deletedBranches`); never a branch the user made. @default false
   */
  readonly merged?: boolean;
  /**
   * Only worktrees created at least this long ago: milliseconds, or a duration such as `'7d'`,
   * `'36h'` (see `parseDuration`; at most ten years). With {@link merged}: those that match both.
   */
  readonly olderThan?: number | string;
  /**
   * Delete each removed worktree's branch when this tool created it and none of its work would be
   * lost (merged, or on a remote); a branch that existed before is always kept. @default true
   */
  readonly deleteBranch?: boolean;
  readonly signal?: AbortSignal;
}

/** A task branch `cleanupAll({ merged })` deleted (or would): its base branch contains its tip. */
export interface DeletedBranch {
  readonly name: string;
  /** Its tip when deleted. */
  readonly commit: string;
  /** The base branch that contains it. */
  readonly mergedInto: string;
}

export interface CleanupReport {
  readonly dryRun: boolean;
  /**
   * With `merged`: task branches this tool created and kept (they held commits) whose base branch
   * now contains them, deleted (or, in a dry run, that would be). A user's own branch is never one.
   */
  readonly deletedBranches: readonly DeletedBranch[];
  /** Worktrees removed (or, in a dry run, that would be). */
  readonly removed: readonly RemoveResult[];
  /** Worktrees left alone on purpose (e.g. active in a live process), with the reason. */
  readonly skipped: readonly { readonly id: string; readonly path: string; readonly reason: string }[];
  /**
   * Worktrees cleanup tried to remove and could not (a refusal such as `WORKTREE_DIRTY`, or an
   * error such as a full disk): they and their work are still there. The CLI exits 1 when any.
   */
  readonly failed: readonly {
    readonly id: string;
    readonly path: string;
    readonly reason: string;
    readonly code?: string;
  }[];
  /**
   * Registry records that name no worktree of ours (path outside the folder it was created in, or
   * a git entry without our lock): nothing they name was touched, and the records were kept.
   */
  readonly foreign: readonly { readonly id: string; readonly path: string; readonly reason: string }[];
  /** Registry entries whose worktree had vanished (folder deleted, pruned) and were dropped. */
  readonly reconciled: readonly { readonly id: string; readonly path: string; readonly reason: string }[];
  /**
   * `*.lock` files a killed git process left in the git common dir (they block every later git
   * write): deleted when no git process runs in the repository, else reported with the reason.
   */
  readonly staleLocks: readonly StaleLockInfo[];
}

export interface WorktreeStats {
  readonly total: number;
  readonly byStatus: Readonly<Record<WorktreeStatus, number>>;
  readonly maxConcurrency: number;
  /** Slots free for new active worktrees in this manager. */
  readonly availableSlots: number;
  /** Creates waiting for a slot. */
  readonly waiting: number;
}

export type MergeStrategy = 'merge' | 'squash' | 'ff-only';

export interface MergeWorktreeOptions {
  /** Target branch. @default the worktree's base branch */
  readonly into?: string;
  /** `merge`: a merge commit (fast-forward when the target has not moved); `squash`: one new commit; `ff-only`. @default 'merge' */
  readonly strategy?: MergeStrategy;
  readonly message?: string;
  readonly signal?: AbortSignal;
  /** Groups the merge events with a batch (the pool sets it). */
  readonly batchId?: string;
}

/** What a merge did. `up-to-date` means there was nothing to merge (not an error). */
export interface MergeResult {
  readonly id: string;
  readonly branchName: string;
  readonly into: string;
  readonly strategy: MergeStrategy;
  readonly status: 'merged' | 'fast-forwarded' | 'up-to-date';
  /** The target's tip after the merge. */
  readonly commit: string;
  readonly previousCommit: string;
  /** The checkout of the target branch that was brought along, if it is checked out somewhere. */
  readonly updatedCheckout: string | null;
  readonly changedFiles: number;
}

export interface PushWorktreeOptions {
  /** @default 'origin' */
  readonly remote?: string;
  readonly signal?: AbortSignal;
  /** Groups the push events with a batch (the pool sets it). */
  readonly batchId?: string;
}

export interface PushResult {
  readonly id: string;
  readonly remote: string;
  readonly branchName: string;
  readonly commit: string;
  /** `refs/remotes/<remote>/<branch>` now tracked as upstream. */
  readonly upstream: string;
}

export interface RestoreWorktreeOptions {
  readonly signal?: AbortSignal;
  /**
   * The issue the restored worktree is for. Needed only for the archive of an idle reusable
   * worktree, which served no issue (it is restored on the branch `restored/<id>`).
   * @default the archived worktree's issue
   */
  readonly issueNumber?: number;
}
