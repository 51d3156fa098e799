import { EventEmitter } from 'node:events';
import { basename } from 'node:path';
import { Slots } from '../concurrency/slots.js';
import { DEFAULT_CONFIG, type LoadedConfig, type MiyabiConfig } from '../config/config-types.js';
import { loadConfig } from '../config/load-config.js';
import { describe } from '../core/describe.js';
import { assertOptionInRange, DEFAULT_CONCURRENCY } from '../core/limits.js';
import type {
  CleanupOptions,
  CleanupReport,
  CreateWorktreeOptions,
  DiscoverOptions,
  IdleResult,
  IdleWorktreeOptions,
  ManagerOptions,
  MergeResult,
  MergeWorktreeOptions,
  OpenOptions,
  PushResult,
  PushWorktreeOptions,
  RemoveResult,
  RemoveWorktreeOptions,
  RestoreWorktreeOptions,
  WorktreeInfo,
  WorktreeStats,
  WorktreeStatus,
} from '../core/types.js';
import { isMiyabiError, MiyabiError } from '../errors.js';
import { branchPatternProblem } from '../git/branch-name.js';
import {
  type BaseRef,
  type BaseSource,
  discoverRepository,
  type RepositoryInfo,
  resolveDefaultBase,
} from '../git/repository.js';
import { uncommittedPaths } from '../git/work-snapshot.js';
import { safeLog, silentLogger } from '../log.js';
import type { PrepareResult } from '../setup/prepare-worktree.js';
import type { BatchRecord } from '../state/batch-records.js';
import { Registry } from '../state/registry.js';
import { RepoLock } from '../state/repo-lock.js';
import { readTaskLogs, type TaskLog } from '../state/task-log-records.js';
import type { Overlap, WorktreeEvent, WorktreeEventInput } from '../telemetry/events.js';
import { loadBatchReport } from '../telemetry/html-report/batch-report.js';
import type { BatchReportData } from '../telemetry/html-report/render-html-report.js';
import { formatTelemetryReport, resolveTelemetryLocale } from '../telemetry/report.js';
import type { TelemetryScope, TelemetryStats } from '../telemetry/stats.js';
import { Telemetry, type TelemetryReportOptions } from '../telemetry/telemetry.js';
import { type ArchiveEntry, type DropArchiveResult, dropArchive, listArchives } from './archives.js';
import { type BatchSummary, batchRecord, batchStats, listBatches } from './batch-history.js';
import { type CheckBaseOptions, checkBase } from './check-base.js';
import { cleanupAll } from './cleanup-all.js';
import { type ManagerContext, releaseSlot } from './context.js';
import { createWorktree } from './create-worktree.js';
import { type LandResult, type LandWorktreeOptions, landWorktree } from './land-worktree.js';
import { LandingQueue } from './landing-queue.js';
import { withLastTasks } from './last-task.js';
import { listWorktrees } from './list-worktrees.js';
import { deliver, refuseUnknownNames, type WorktreeManagerEvents } from './manager-events.js';
import { type FetchedBranchTask, mergeFetchedBranch } from './merge-fetched-branch.js';
import { liveRecord, mergeWorktree, pushWorktree } from './merge-push.js';
import { type PrepareWorktreeOptions, prepareWorktreeOf } from './prepare-worktree.js';
import { type PruneArchivesOptions, type PruneArchivesResult, pruneArchives } from './prune-archives.js';
import { removeWorktree } from './remove-worktree.js';
import {
  type ConflictCheckout,
  type ConflictOptions,
  mergeTargetIntoWorktree,
  verifyResolution,
} from './resolve-conflicts.js';
import { resolveWorktree } from './resolve-worktree.js';
import { restoreWorktree } from './restore-worktree.js';
import { idleWorktree } from './reuse-worktree.js';
import { settleTaskLater } from './settle-task.js';
import { type FindTaskLogOptions, type FollowLogOptions, findTaskLog, followTaskLog } from './task-logs.js';
import { assertStatus, assertWorktreeId } from './validate.js';
import { type WarmWorktreesOptions, warmWorktrees } from './warm-worktrees.js';
import { WarningChannel } from './warnings.js';
import { worktreeConflicts } from './worktree-conflicts.js';
import { chooseWorktreeDir } from './worktree-dir.js';
import { countByStatus } from './worktree-id.js';
import { inspectWorktrees, type WorktreeInventory } from './worktree-inventory.js';

/**
 * Creates, tracks and removes git worktrees for issues, safely under parallel use.
 *
 * Get one with {@link WorktreeManager.discover} (from any folder of a repository) or
 * {@link WorktreeManager.open}. State is persisted in the repository's git common dir, so every
 * process working on the repository sees the same worktrees, statuses and telemetry.
 *
 * An `EventEmitter` typed by {@link WorktreeManagerEvents}: `on('event', fn)` gets every lifecycle
 * event, `on('task-complete', fn)` (any event type) just those, typed; `events.once` works as is.
 * A listener that throws never breaks an operation. `'warning'` delivers `ManagerWarning`s: things a
 * person should hear about though the operation went on, such as an unreadable registry that even a
 * read moved aside (also logged at `warn`). An unknown event name is refused (`INVALID_ARGUMENT`).
 */
export class WorktreeManager extends EventEmitter<WorktreeManagerEvents> {
  /** Absolute main worktree root. */
  readonly repoPath: string;
  /** Absolute folder where worktrees are created. */
  readonly worktreeDir: string;
  /** The configured limit of worktrees this manager holds `active` at once. */
  readonly maxConcurrency: number;
  /** Default base branch (short name) for new worktrees and merges. */
  readonly baseBranch: string;
  /** Why {@link baseBranch}: the `baseBranch` option, the configuration file, or which detection rule. */
  readonly baseSource: BaseSource;
  /** Branch name of an issue's worktree when none is given; `{issue}` is replaced. */
  readonly branchPattern: string;
  /**
   * The repository's configuration file (`miyabi-worktree.config.json` or the `package.json` key)
   * with its defaults, as read when the manager was made; the defaults alone with `config: false`.
   */
  readonly config: MiyabiConfig;
  /** The file {@link config} came from, or `null`. */
  readonly configSource: string | null;
  /** What a person should know about the configuration (e.g. a shadowed `package.json` key); also logged. */
  readonly configWarnings: readonly string[];
  /** Folder in the git common dir where this tool keeps its registry, telemetry and logs. */
  readonly stateDir: string;
  readonly #ctx: ManagerContext;

  private constructor(ctx: ManagerContext) {
    super();
    this.#ctx = ctx;
    // One listener per running task (a queue worker's jobs) is normal use, not a leak to warn about.
    this.setMaxListeners(0);
    refuseUnknownNames(this);
    ctx.telemetry.on('event', (event) => {
      deliver(this, 'event', event, ctx.logger);
      deliver(this, event.type, event, ctx.logger);
    });
    ctx.warnings.on((warning) => deliver(this, 'warning', warning, ctx.logger));
    this.repoPath = ctx.repo.root;
    this.worktreeDir = ctx.worktreeDir;
    this.maxConcurrency = ctx.slots.capacity;
    this.baseBranch = ctx.defaultBase.name;
    this.baseSource = ctx.defaultBase.source ?? 'option';
    this.branchPattern = ctx.branchPattern;
    this.config = ctx.config.config;
    this.configSource = ctx.config.source;
    this.configWarnings = ctx.config.warnings;
    this.stateDir = ctx.repo.stateDir;
  }

  /** Finds the repository from `cwd` (default `process.cwd()`), from any subfolder or linked worktree. */
  static async discover(options: DiscoverOptions = {}): Promise<WorktreeManager> {
    return WorktreeManager.#build(options.cwd ?? process.cwd(), options);
  }

  /** Opens the repository at `repoPath` (any folder inside it). */
  static async open(options: OpenOptions): Promise<WorktreeManager> {
    if (!options || typeof options.repoPath !== 'string' || options.repoPath === '') {
      throw new MiyabiError('INVALID_ARGUMENT', 'open() needs repoPath: a folder inside a git repository');
    }
    return WorktreeManager.#build(options.repoPath, options);
  }

  static async #build(cwd: string, options: ManagerOptions): Promise<WorktreeManager> {
    if (options.maxConcurrency !== undefined) assertOptionInRange('maxConcurrency', options.maxConcurrency);
    if (options.branchPattern !== undefined) assertBranchPattern(options.branchPattern);
    if (options.config !== undefined && typeof options.config !== 'boolean') {
      throw new MiyabiError(
        'INVALID_ARGUMENT',
        `config must be true or false, got ${describe(options.config)}`,
        {
          hint: 'Leave it out to read the configuration file, or pass config: false to ignore it.',
        },
      );
    }
    const logger = options.logger ?? silentLogger;
    const repo = await discoverRepository(cwd);
    const loaded = options.config === false ? NO_CONFIG : await loadConfig(repo.root);
    for (const warning of loaded.warnings) safeLog(logger, 'warn', { source: loaded.source }, warning);
    const file = loaded.config;
    const maxConcurrency = options.maxConcurrency ?? file.maxConcurrency ?? DEFAULT_CONCURRENCY;
    // Independent git calls: side by side, so that opening costs one git start, not two.
    const [folder, defaultBase] = await Promise.all([
      chooseWorktreeDir(repo, options.worktreeDir ?? file.worktreeDir),
      resolveBase(repo, options.baseBranch, file.baseBranch, loaded.source),
    ]);
    const worktreeDir = folder.dir;
    const warnings = new WarningChannel(logger);
    const ctx: ManagerContext = {
      repo,
      worktreeDir,
      defaultBase,
      branchPattern: options.branchPattern ?? file.branchPattern,
      config: loaded,
      lock: new RepoLock(repo.stateDir, { logger }),
      registry: new Registry(repo.stateDir, logger, (warning) => warnings.emit(warning)),
      slots: new Slots(maxConcurrency),
      heldSlots: new Map(),
      landings: new LandingQueue(),
      telemetry: new Telemetry({ dir: repo.stateDir, logger }),
      logger,
      warnings,
      worktreeDirNotes: folder.notes,
      excludeChecked: false,
    };
    return new WorktreeManager(ctx);
  }

  /**
   * Creates a worktree for `issueNumber` on branch `feature/issue-<n>` (or `branchName`), from the
   * base branch. Waits for a free slot when `maxConcurrency` worktrees are active; rejects with
   * `CANCELLED` (creating nothing) if `signal` aborts. Reuses an existing branch no worktree has
   * checked out; `BRANCH_IN_USE` if one has.
   */
  createWorktree(issueNumber: number, options?: CreateWorktreeOptions): Promise<WorktreeInfo> {
    return createWorktree(this.#ctx, issueNumber, options);
  }

  /**
   * Hands a finished task's reusable worktree (made with `createWorktree(n, { reuse: true })`) back
   * as `idle` for the next task: its work saved exactly as `removeWorktree` saves it (archive, then
   * the branch policy), files reset to its base commit (detached) but `keepPaths`. A worktree that
   * is not reusable, or beyond `maxIdle`, is removed instead (see `removed` in the result).
   */
  idleWorktree(id: string, options?: IdleWorktreeOptions): Promise<IdleResult> {
    return idleWorktree(this.#ctx, id, options);
  }

  /**
   * Pre-creates idle reusable worktrees until `count` are idle (at most `maxIdle`), so that the next
   * `createWorktree(n, { reuse: true })` only switches branch. Returns those this call created.
   */
  warmWorktrees(count: number, options?: WarmWorktreesOptions): Promise<WorktreeInfo[]> {
    return warmWorktrees(this.#ctx, count, options);
  }

  /** The worktree with this id; `NOT_FOUND` if this tool has no such live worktree. */
  async getWorktree(id: string): Promise<WorktreeInfo> {
    assertWorktreeId(id);
    const found = (await this.listWorktrees()).find((w) => w.id === id);
    if (!found) {
      throw new MiyabiError('NOT_FOUND', `no worktree with id '${id}'`, { details: { id } });
    }
    return found;
  }

  /** Worktrees this tool created (in any process), oldest first; vanished ones are reconciled away. */
  async listWorktrees(): Promise<WorktreeInfo[]> {
    return withLastTasks(this.stateDir, await listWorktrees(this.#ctx));
  }

  /**
   * Sets a worktree's status. Leaving `active` frees this manager's slot; returning to `active`
   * waits for one.
   */
  async updateStatus(id: string, status: WorktreeStatus): Promise<WorktreeInfo> {
    assertWorktreeId(id);
    assertStatus(status);
    // The registry alone is enough here: a vanished worktree is reconciled by the next list.
    const current = (await this.#ctx.registry.read()).find((w) => w.id === id);
    if (!current) throw new MiyabiError('NOT_FOUND', `no worktree with id '${id}'`, { details: { id } });
    if (status === 'active' && current.status !== 'active' && !this.#ctx.heldSlots.has(id)) {
      this.#ctx.heldSlots.set(id, await this.#ctx.slots.acquire());
    }
    let updated: WorktreeInfo | undefined;
    await this.#ctx.lock.run(() =>
      this.#ctx.registry.mutate((records) =>
        records.map((record) => {
          if (record.id !== id) return record;
          updated = { ...record, status, updatedAt: new Date().toISOString() };
          return updated;
        }),
      ),
    );
    if (status !== 'active') releaseSlot(this.#ctx, id);
    if (!updated) {
      releaseSlot(this.#ctx, id);
      throw new MiyabiError('NOT_FOUND', `worktree '${id}' was removed meanwhile`, { details: { id } });
    }
    return updated;
  }

  /**
   * Pushes the worktree's branch to `remote` (default `origin`) and records it as upstream.
   * `NO_REMOTE`, `PUSH_REJECTED` (git's reason in the hint) or `GIT_FAILED` when it cannot.
   */
  pushWorktree(id: string, options?: PushWorktreeOptions): Promise<PushResult> {
    return pushWorktree(this.#ctx, id, options);
  }

  /**
   * Merges the worktree's branch into `into` (default: its base branch) without touching any
   * checkout's branch: computed with `git merge-tree`, committed with `commit-tree`, the target moved
   * with compare-and-swap; a checkout of the target is fast-forwarded only when that is clean for it
   * (else `CHECKOUT_DIRTY`, nothing changed). Conflicts: `MERGE_CONFLICT` with `conflicts`, nothing
   * changed. Concurrent merges into one target serialise and all land. Only committed work is merged.
   */
  async mergeWorktree(id: string, options?: MergeWorktreeOptions): Promise<MergeResult> {
    const merged = await mergeWorktree(this.#ctx, id, options);
    // A merge outside a batch may settle a batch task that failed at its merge (a kept conflict).
    if (options?.batchId === undefined) {
      await settleTaskLater(this.stateDir, id, { by: 'merge', stage: 'merge', merge: merged }).catch(
        (error: unknown) =>
          safeLog(this.#ctx.logger, 'warn', { err: String(error), id }, 'could not rewrite the batch record'),
      );
    }
    return merged;
  }

  /**
   * Lands the worktree's branch into `into` only if the check passes on what `into` becomes: the
   * candidate (built as `mergeWorktree` would) is checked out detached in the worktree and checked,
   * then the target moves to exactly that commit with compare-and-swap; rebuilt and checked again
   * when the target moved meanwhile. A failing check is `CHECK_FAILED` and changes no branch.
   */
  async landWorktree(id: string, options?: LandWorktreeOptions): Promise<LandResult> {
    const landed = await landWorktree(this.#ctx, id, options);
    // A landing outside a batch may settle a batch task that failed at its check or merge.
    if (options?.batchId === undefined) {
      await settleTaskLater(this.stateDir, id, {
        by: 'land',
        stage: ['check', 'merge'],
        merge: landed.merge,
      }).catch((error: unknown) =>
        safeLog(this.#ctx.logger, 'warn', { err: String(error), id }, 'could not rewrite the batch record'),
      );
    }
    return landed;
  }

  /**
   * Runs a check once on the base branch's tip in a temporary worktree, removed afterwards (what a
   * batch with a check does before any task starts). Resolves when it passes.
   *
   * @throws MiyabiError `CHECK_FAILS_ON_BASE` with the check's last lines.
   */
  async checkBase(options: CheckBaseOptions): Promise<void> {
    await checkBase(this.#ctx, options);
  }

  /**
   * Merges a local branch with no worktree here (a queue task's, fetched from the remote) into
   * `into` as `mergeWorktree` does, with the same events and errors.
   */
  mergeFetchedBranch(
    source: string,
    task: FetchedBranchTask,
    options: MergeWorktreeOptions & { readonly into: string },
  ): Promise<MergeResult> {
    return mergeFetchedBranch(this.#ctx, source, task, options);
  }

  /**
   * Removes a worktree without losing work: uncommitted changes (tracked and untracked, not
   * ignored) and commits in no base or remote branch are saved under `refs/miyabi/archive/<id>`
   * first (see `archived` in the result; `restoreWorktree` brings it back). The branch is deleted
   * only when nothing on it would be lost. `force: true` is the old destructive behaviour: no archive.
   */
  removeWorktree(id: string, options?: RemoveWorktreeOptions): Promise<RemoveResult> {
    return removeWorktree(this.#ctx, id, options);
  }

  /**
   * Recreates a worktree removed with an archive: same branch (recreated at the archived commit if
   * it was deleted), archived uncommitted files back in place. Returns the new worktree (new id).
   */
  restoreWorktree(id: string, options?: RestoreWorktreeOptions): Promise<WorktreeInfo> {
    return restoreWorktree(this.#ctx, id, options);
  }

  /**
   * Removes every worktree this tool created (safely, as `removeWorktree`), reconciles vanished
   * ones and reclaims what crashed processes left. Never touches worktrees this tool did not
   * create, nor `active` worktrees of other live processes. `dryRun` only reports. `merged` and
   * `olderThan` narrow it to merged or old worktrees; `deleteBranch: false` keeps every branch.
   *
   * @throws MiyabiError `INVALID_ARGUMENT` for a bad `olderThan`, before anything is touched.
   */
  cleanupAll(options?: CleanupOptions): Promise<CleanupReport> {
    return cleanupAll(this.#ctx, options);
  }

  /**
   * The conflict radar, now: every pair of this tool's live worktrees whose branches changed the same
   * files since their base (`files`), and whether merging their tips would conflict (`conflict`,
   * `conflictPaths`; computed with `git merge-tree`, no working tree). `a` is the older worktree.
   * Worktrees kept after a batch (`autoCleanup: false`) count. A second call recomputes only the
   * branches that moved.
   */
  conflicts(options: { signal?: AbortSignal } = {}): Promise<Overlap[]> {
    return worktreeConflicts(this.#ctx, options);
  }

  /**
   * The live worktree `issueOrId` names: an issue number (`42`, `'#42'`: its only worktree) or a
   * worktree id. `NOT_FOUND` (live ids and the issue's archives in `details`); `INVALID_ARGUMENT`
   * when the issue has several worktrees (their ids in the hint).
   */
  resolveWorktree(issueOrId: string | number, options: { signal?: AbortSignal } = {}): Promise<WorktreeInfo> {
    return resolveWorktree(this.#ctx, issueOrId, options.signal);
  }

  /** Every pool task whose log is known (live or finished, also of removed worktrees), oldest first. */
  taskLogs(): Promise<TaskLog[]> {
    return readTaskLogs(this.stateDir);
  }

  /**
   * Where a pool task's log is, and whether it ended: `issueOrId` is a worktree id (also of a
   * removed worktree) or an issue number (its most recent task). `NOT_FOUND` lists the known ids.
   */
  logFile(issueOrId: string | number, options?: FindTaskLogOptions): Promise<TaskLog> {
    return findTaskLog(this.stateDir, issueOrId, options);
  }

  /**
   * A pool task's log as text chunks, from the start: with `follow` (the default) also what it
   * writes next, until the task ends; then the iteration ends. Works across processes (a batch
   * run elsewhere); an issue a running batch has yet to start is waited for (see {@link logFile}'s
   * `wait`). `NOT_FOUND` (see {@link logFile}) on the first `next()`.
   */
  async *followLog(issueOrId: string | number, options: FollowLogOptions = {}): AsyncGenerator<string, void> {
    const record = await findTaskLog(this.stateDir, issueOrId, {
      wait: options.follow ?? true,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    yield* followTaskLog(this.stateDir, record, options);
  }

  /**
   * Every live worktree with its age (`ageMs`), disk usage (`diskBytes`) and `ahead`/`behind` its
   * base branch, plus what worktrees, archives (an estimate) and logs take on disk. Walks each
   * worktree's folder: `listWorktrees` is the cheap call.
   */
  inspectWorktrees(options: { signal?: AbortSignal } = {}): Promise<WorktreeInventory> {
    return inspectWorktrees(this.#ctx, options);
  }

  /** Counts by status and this manager's slot usage. */
  async stats(): Promise<WorktreeStats> {
    const worktrees = await this.listWorktrees();
    const byStatus = countByStatus(worktrees.map((worktree) => worktree.status));
    return {
      total: worktrees.length,
      byStatus,
      maxConcurrency: this.maxConcurrency,
      availableSlots: this.#ctx.slots.available,
      waiting: this.#ctx.slots.waiting,
    };
  }

  /**
   * The report's figures, from batch records: the most recent batch by default (all zero before
   * the first), `{ batchId }` one batch, `{ all: true }` every batch, `{ since }` batches started
   * since then. The same figures as the batch's `PoolExecutionResult`, the CLI's summary and `--json`.
   * `successRate` is 0–100. `NOT_FOUND` for an unknown `batchId`.
   */
  telemetryStats(scope?: TelemetryScope): Promise<TelemetryStats> {
    return batchStats(this.stateDir, scope);
  }

  /**
   * The human-readable seven-line report of {@link telemetryStats} (same scope: the most recent
   * batch by default), English by default or `locale: 'ja'`; extra lines only when non-zero.
   */
  async telemetryReport(options: TelemetryReportOptions = {}): Promise<string> {
    const { locale, ...scope } = options;
    const language = resolveTelemetryLocale(locale ?? 'en');
    return formatTelemetryReport(await batchStats(this.stateDir, scope), language);
  }

  /** Every recorded batch (id, dates, size, outcome), least recently started first. */
  listBatches(): Promise<BatchSummary[]> {
    return listBatches(this.stateDir);
  }

  /**
   * A batch's record (`<state dir>/batches/<id>.json`): its options, base, target, task results and
   * overlaps; the most recent batch without `batchId`. `NOT_FOUND` (naming recent ones) otherwise.
   */
  batchRecord(batchId?: string): Promise<BatchRecord> {
    return batchRecord(this.stateDir, batchId);
  }

  /** Waits until every event recorded so far is in the shared journal (call before exiting). */
  flush(): Promise<void> {
    return this.#ctx.telemetry.flush();
  }

  /**
   * Records a lifecycle event as if this manager had: it reaches the listeners, the shared journal
   * (so `telemetryStats` and the report count it), the logger and OpenTelemetry. The pool records
   * its execute and task events this way; an executor of your own can too. Returns the stamped event.
   */
  recordEvent(event: WorktreeEventInput): WorktreeEvent {
    return this.#ctx.telemetry.record(event);
  }

  /** Batch ids the telemetry journal knows, least recent first. */
  telemetryBatches(): Promise<string[]> {
    return this.#ctx.telemetry.batches();
  }

  /**
   * One batch's events and counts (`batchId`, else the most recent batch), ready for
   * `renderHtmlReport`. `NOT_FOUND`, naming the recent batches, for an unknown id or none yet.
   */
  async batchReport(options: { batchId?: string } = {}): Promise<BatchReportData> {
    const record = await batchRecord(this.stateDir, options.batchId);
    return loadBatchReport(this.#ctx.telemetry, this.repoPath, record);
  }

  /** The retained raw telemetry events of every process (older ones live on as counts), oldest first. */
  telemetryEvents(scope?: TelemetryScope): Promise<WorktreeEvent[]> {
    return this.#ctx.telemetry.events(scope);
  }

  /**
   * Copies the ignored files `.worktreeinclude` lists from the main checkout into the worktree, then
   * runs the `setup` commands in it (no shell, in order, within `setupTimeoutMs`); each setting
   * defaults to the configuration file's. Records `setup-start` / `setup-complete` (or `error`).
   *
   * @throws MiyabiError `COMMAND_FAILED` or `TIMEOUT` naming the setup command, with its last lines;
   * `CANCELLED` when `signal` aborts; `NOT_FOUND` for an unknown id.
   */
  prepareWorktree(id: string, options?: PrepareWorktreeOptions): Promise<PrepareResult> {
    return prepareWorktreeOf(this.#ctx, id, options);
  }

  /**
   * Merges the target branch (default: the base) into the worktree's own branch, in the worktree, so
   * a conflict can be resolved there, never in your checkout: `already-merged`, `clean` (committed),
   * or `conflicted` (the merge is left in progress; `conflicts` lists the paths, `conflictsFile` has
   * them one per line). Then resolve, commit, {@link verifyResolution} and `mergeWorktree` again.
   */
  mergeTargetIntoWorktree(id: string, options?: ConflictOptions): Promise<ConflictCheckout> {
    return mergeTargetIntoWorktree(this.#ctx, id, options);
  }

  /** `CONFLICT_UNRESOLVED` unless the merge is committed and no markers remain in `conflicts`. */
  verifyResolution(
    id: string,
    options: { conflicts: readonly string[]; signal?: AbortSignal },
  ): Promise<void> {
    return verifyResolution(this.#ctx, id, options);
  }

  /** Paths with uncommitted changes in the worktree (tracked and untracked, not ignored), sorted. */
  async uncommittedPaths(id: string, options: { signal?: AbortSignal } = {}): Promise<string[]> {
    const record = await liveRecord(this.#ctx, id);
    return uncommittedPaths(record.path, options.signal);
  }

  /** Every archive of a removed worktree (`refs/miyabi/archive/<id>`), oldest first; restoring consumes none. */
  listArchives(options: { signal?: AbortSignal } = {}): Promise<ArchiveEntry[]> {
    return listArchives(this.#ctx.repo.root, options.signal);
  }

  /**
   * Deletes an archive you no longer need. One that is the only ref to work (uncommitted files, or
   * commits no branch, tag or remote branch contains) is refused with `UNMERGED_WORK` unless `force`.
   */
  dropArchive(id: string, options?: { force?: boolean; signal?: AbortSignal }): Promise<DropArchiveResult> {
    return dropArchive(this.#ctx.repo.root, id, options);
  }

  /**
   * Drops the archives that match `merged` (their work is contained elsewhere: restored and
   * merged, say) and/or `olderThan`; at least one is required. An archive that is the only place of
   * some work is kept (and reported, with why) unless `force`. `dryRun` only reports.
   */
  pruneArchives(options: PruneArchivesOptions): Promise<PruneArchivesResult> {
    return pruneArchives(this.#ctx.repo.root, options);
  }
}

const NO_CONFIG: LoadedConfig = { config: DEFAULT_CONFIG, source: null, warnings: [] };

/** The default base: the option, else the configuration's (its absence is the file's fault), else detected. */
async function resolveBase(
  repo: RepositoryInfo,
  option: string | undefined,
  fromFile: string | undefined,
  source: string | null,
): Promise<BaseRef> {
  if (option !== undefined || fromFile === undefined) return resolveDefaultBase(repo, option);
  try {
    return { ...(await resolveDefaultBase(repo, fromFile)), source: 'config' };
  } catch (error) {
    if (!isMiyabiError(error, 'NOT_FOUND')) throw error;
    throw new MiyabiError('INVALID_CONFIG', `${basename(source ?? 'config')}: baseBranch: ${error.message}`, {
      hint: error.hintParts,
      cause: error,
      details: { file: source, baseBranch: fromFile },
    });
  }
}

function assertBranchPattern(pattern: unknown): void {
  const problem = branchPatternProblem(pattern);
  if (problem) {
    throw new MiyabiError('INVALID_ARGUMENT', `branchPattern ${describe(pattern)} ${problem}`, {
      hint: "Pass a pattern like 'feature/issue-{issue}'.",
    });
  }
}
