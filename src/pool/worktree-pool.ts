import { isAbsolute, join, resolve } from 'node:path';
import PQueue from 'p-queue';
import { DEFAULT_CONFIG, type MiyabiConfig } from '../config/config-types.js';
import { normaliseRelativePath, relativePathProblem } from '../config/relative-path.js';
import { attemptKey, attemptWords } from '../core/attempt.js';
import { describe } from '../core/describe.js';
import {
  assertOptionInRange,
  DEFAULT_ABORT_GRACE_MS,
  DEFAULT_CONCURRENCY,
  DEFAULT_LOG_RETENTION,
  DEFAULT_PAUSE_MAX_MS,
  DEFAULT_RADAR_INTERVAL_MS,
  DEFAULT_RADAR_STATUS_INTERVAL_MS,
  DEFAULT_TIMEOUT_MS,
  sizeOption,
} from '../core/limits.js';
import type { MergeStrategy, WorktreeInfo, WorktreeStatus } from '../core/types.js';
import { MiyabiError } from '../errors.js';
import { branchNameProblem } from '../git/branch-name.js';
import { createGitHubClient, type GitHubClient } from '../github/client.js';
import { parseRepoSlug } from '../github/repo-slug.js';
import { assertIssueNumber } from '../manager/validate.js';
import { countByStatus } from '../manager/worktree-id.js';
import { WorktreeManager } from '../manager/worktree-manager.js';
import type { CheckSpec } from '../process/check-command.js';
import { MemorySampler } from '../process/memory-sampler.js';
import { compilePauseOn } from '../process/usage-limits.js';
import { checkQueueOptions } from '../queue/check-queue-options.js';
import { commandEnvOf, commandOf, resumeCommandOf } from '../queue/command-executor.js';
import type { PoolQueueOptions } from '../queue/types.js';
import { resolvePrepareSettings } from '../setup/prepare-settings.js';
import type { PrepareSettings } from '../setup/prepare-worktree.js';
import type { BatchRecord, MergeIntent } from '../state/batch-records.js';
import { forgetTaskLogs } from '../state/task-log-records.js';
import { type BatchRecorder, newBatchId, startBatchRecord } from './batch-recorder.js';
import { resumeHintOnBusy } from './busy-issue-resume.js';
import { landingSettings } from './land.js';
import { type LocalRunnerOptions, localRunner } from './local-runner.js';
import { admitByMemory } from './memory-admission.js';
import { type OverlapWatch, watchOverlaps } from './overlap-watch.js';
import { PauseGate } from './pause-gate.js';
import { pruneBatchLogs } from './prune-logs.js';
import { resolveLanding } from './resolve-landing.js';
import { planResume, type QueueResume, recordMergeIntent, resumedQueue } from './resume-batch.js';
import { refuseUnsupportedOnQueue } from './runner-support.js';
import { summarise } from './summarise.js';
import { TaskAbort } from './task-outcome.js';
import type { TaskRunner } from './task-runner.js';
import type {
  CheckFailPolicy,
  ConflictPolicy,
  ExecuteOptions,
  OverlapPolicy,
  PoolConfig,
  PoolCreateOptions,
  PoolExecutionResult,
  PoolMergeOptions,
  PoolPullRequestOptions,
  PoolPushOptions,
  PoolStats,
  TaskContext,
  TaskExecutor,
  TaskResult,
  WorktreeTask,
} from './types.js';
import { validateBatch } from './validate-batch.js';
import { resolveVariants, type VariantSettings, variantSpecs } from './variants/resolve-variants.js';
import { resumedVariantIssues } from './variants/resume-attempts.js';
import { type VariantBatch, variantBatch } from './variants/variant-batch.js';

/** The pool's options in force. */
export interface ResolvedPoolConfig {
  readonly maxConcurrency: number;
  readonly timeoutMs: number;
  readonly failFast: boolean;
  readonly autoCleanup: boolean;
  readonly abortGraceMs: number;
  readonly prepare: Required<PrepareSettings>;
  readonly merge: PoolMergeOptions | undefined;
  readonly push: PoolPushOptions | undefined;
  readonly onConflict: ConflictPolicy;
  readonly existingBranches: 'restart' | 'continue';
  readonly logRetention: number;
  readonly pullRequest: PoolPullRequestOptions | undefined;
  /** Absolute folder of the per-task logs. */
  readonly logDir: string;
  readonly reuse: boolean;
  readonly keepPaths: readonly string[];
  readonly maxIdle: number;
  readonly radarIntervalMs: number;
  readonly radarStatusIntervalMs: number;
  readonly onOverlap: OverlapPolicy;
  readonly queue: PoolQueueOptions | undefined;
  /** Bytes; undefined: no limit. */
  readonly maxMemory: number | undefined;
  /** Bytes; undefined: no hold. */
  readonly minFreeMemory: number | undefined;
  /** The landing check (from the options, else the configuration's with merge or a pull request). */
  readonly check: CheckSpec | undefined;
  readonly onCheckFail: CheckFailPolicy;
  readonly allowRedBase: boolean;
  readonly pauseOn: readonly RegExp[];
  readonly pauseMaxMs: number;
  /** The pool's variants: one spec per attempt (one empty spec: each issue runs once). */
  readonly variants: VariantSettings['variants'];
  readonly score: CheckSpec | undefined;
  readonly variantsStopAt: number | undefined;
}

const MERGE_STRATEGIES: readonly MergeStrategy[] = ['merge', 'squash', 'ff-only'];

const DEFAULTS = {
  maxConcurrency: DEFAULT_CONCURRENCY,
  timeoutMs: DEFAULT_TIMEOUT_MS,
  failFast: false,
  autoCleanup: true,
  abortGraceMs: DEFAULT_ABORT_GRACE_MS,
  logRetention: DEFAULT_LOG_RETENTION,
  radarIntervalMs: DEFAULT_RADAR_INTERVAL_MS,
  radarStatusIntervalMs: DEFAULT_RADAR_STATUS_INTERVAL_MS,
  pauseMaxMs: DEFAULT_PAUSE_MAX_MS,
};

/**
 * Runs a batch of tasks in parallel, one worktree each: at most `maxConcurrency` whole lifecycles
 * (create → execute → cleanup) at once, a timeout that aborts the task's signal and settles it even
 * if the executor ignores it, optional fail-fast, and per-task cleanup that loses no work.
 */
export class WorktreePool {
  readonly manager: WorktreeManager;
  /** The options in force: yours, else the manager's configuration file's, else the defaults. */
  readonly config: ResolvedPoolConfig;
  #queue: PQueue;
  readonly #worktrees = new Map<string, WorktreeStatus>();
  #github: GitHubClient | undefined;
  /** The `prepare` option as given (a queue's workers put it on the configuration at each job's base). */
  readonly #prepareGiven: PrepareSettings | undefined;
  /** Measures (and with `maxMemory` bounds) every task's processes; reads /proc only while a task runs. */
  readonly #sampler = new MemorySampler();
  readonly #gate: PauseGate;

  constructor(manager: WorktreeManager, config: PoolConfig = {}) {
    if (!(manager instanceof WorktreeManager)) {
      throw new MiyabiError(
        'INVALID_ARGUMENT',
        `WorktreePool needs a WorktreeManager, got ${describe(manager)}`,
        {
          hint: 'Use WorktreePool.create({ cwd }) or new WorktreePool(await WorktreeManager.discover()).',
        },
      );
    }
    this.manager = manager;
    const resolved = validateConfig(config, manager.config);
    const logDir = resolved.logDir === '' ? join(manager.stateDir, 'logs') : resolved.logDir;
    this.config = { ...resolved, logDir: isAbsolute(logDir) ? logDir : resolve(manager.repoPath, logDir) };
    this.#prepareGiven = config.prepare;
    // With queue and no maxConcurrency given, every job of the batch is in flight: the workers bound them.
    this.#queue = new PQueue({
      concurrency:
        this.config.queue && config.maxConcurrency === undefined ? Infinity : this.config.maxConcurrency,
    });
    this.#gate = new PauseGate({
      pauseMaxMs: this.config.pauseMaxMs,
      record: (event) => this.manager.recordEvent(event),
    });
  }

  /**
   * Starts no new task until `until` (a Date or epoch ms; absent: until {@link unpause}). Running
   * tasks go on; queued ones wait. A `pool-paused` event says so.
   */
  pause(until?: Date | number): void {
    const at = until instanceof Date ? until.getTime() : until;
    if (at !== undefined && (typeof at !== 'number' || !Number.isFinite(at))) {
      throw new MiyabiError(
        'INVALID_ARGUMENT',
        `pause(until) needs a Date or epoch milliseconds, got ${describe(until)}`,
      );
    }
    this.#gate.pause(undefined, at ?? Number.POSITIVE_INFINITY, { worktreeId: 'pool' });
  }

  /** Ends every pause now (the pool's and usage limits'): waiting tasks start, paused ones resume. */
  unpause(): void {
    this.#gate.unpause();
  }

  /** Opens the repository (from `repoPath`, else `cwd`, else the process cwd) and makes a pool on it. */
  static async create(options: PoolCreateOptions = {}): Promise<WorktreePool> {
    // Checked before the repository is opened, so bad options fail alone; again with the file's defaults below.
    validateConfig(options, DEFAULT_CONFIG);
    const managerOptions = {
      ...(options.maxConcurrency !== undefined ? { maxConcurrency: options.maxConcurrency } : {}),
      ...(options.worktreeDir !== undefined ? { worktreeDir: options.worktreeDir } : {}),
      ...(options.baseBranch !== undefined ? { baseBranch: options.baseBranch } : {}),
      ...(options.branchPattern !== undefined ? { branchPattern: options.branchPattern } : {}),
      ...(options.logger !== undefined ? { logger: options.logger } : {}),
      ...(options.config !== undefined ? { config: options.config } : {}),
    };
    const manager = options.repoPath
      ? await WorktreeManager.open({ repoPath: options.repoPath, ...managerOptions })
      : await WorktreeManager.discover({ ...(options.cwd ? { cwd: options.cwd } : {}), ...managerOptions });
    // Resolved as the manager resolved it; passed on only when given, so that queue can tell.
    return new WorktreePool(manager, options);
  }

  /**
   * Runs every task in its own worktree. Resolves (never rejects for a task's failure) with the
   * results in input order; rejects only for bad input, before anything starts: malformed tasks,
   * duplicate issue numbers (two worktrees of one issue would fight over its branch), a bad
   * `branchName`, a merge target that is no local branch, a push remote that does not exist.
   */
  async executeParallel<T = unknown>(
    tasks: readonly WorktreeTask[],
    executor: TaskExecutor<T>,
    options: ExecuteOptions = {},
  ): Promise<PoolExecutionResult<T>> {
    if (typeof executor !== 'function') {
      throw new MiyabiError('INVALID_ARGUMENT', `executor must be a function, got ${describe(executor)}`);
    }
    const continued = await this.#validate(tasks, options);
    const { check } = this.config;
    // A base that already fails its check could land nothing: refused before any task starts.
    if (check && !this.config.allowRedBase) {
      await this.manager.checkBase({
        check,
        ...(this.config.merge?.into !== undefined ? { baseBranch: this.config.merge.into } : {}),
        setup: this.config.prepare.setup,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    }
    return this.#execute(tasks, executor, options, continued, undefined).catch(
      resumeHintOnBusy(this.manager),
    );
  }

  /**
   * Finishes a local batch that did not end (its runner killed, the machine rebooted): the tasks it
   * finished keep their results and are not run again; the others run again with `MIYABI_RESUMED=1`,
   * in the worktree they kept, else on the branch they left, else fresh. The result (and the batch
   * record, under the same id) covers the whole batch. `batchId` absent: the newest unfinished batch
   * of this repository. `executor` absent: the batch's recorded command.
   *
   * A queue batch (its submitter killed) needs a pool with `queue`: the jobs it left are re-attached
   * to (finished: collected and merged here exactly once; waiting or running: awaited; lost or
   * cancelled as orphans: enqueued again, continuing the task's remote branch).
   *
   * @throws MiyabiError `INVALID_ARGUMENT` for an unknown or finished batch, one whose runner still
   * runs (naming its pid), a queue batch without `queue` (or a local one with it), or no executor and
   * no recorded command; nothing starts.
   */
  async resumeBatch<T = unknown>(
    batchId?: string,
    executor?: TaskExecutor<T>,
    options: ExecuteOptions = {},
  ): Promise<PoolExecutionResult<T>> {
    const plan = await planResume(
      this.manager,
      batchId,
      executor,
      this.config.check,
      this.config.queue !== undefined,
    );
    validateTasks(plan.tasks);
    if (this.config.queue && (plan.record.options.variants?.length ?? 1) > 1) {
      // Its attempts would continue in worktrees at the submitter, which ran none of them: not built yet.
      throw new MiyabiError(
        'INVALID_ARGUMENT',
        `resumeBatch: batch ${plan.record.id} ran variants on a queue, which cannot be resumed yet`,
        { hint: 'Run its unfinished issues again as a new batch with executeParallel().' },
      );
    }
    // A queue batch's tasks continue on the workers, from their remote branches: none is kept here.
    const continued = await validateBatch(
      this.manager,
      plan.tasks,
      { ...this.config, existingBranches: this.config.queue ? 'restart' : 'continue' },
      options.signal,
      // An issue's variants continue each in its own kept worktree, found by its branch.
      resumedVariantIssues(plan.record, plan.tasks, this.manager.branchPattern),
    );
    // Without it, a resumed batch's tasks would succeed without their pull requests.
    await this.#connectGitHub();
    return this.#execute(plan.tasks, plan.executor, options, continued, plan.record, plan.merged);
  }

  /** The one batch engine: schedules, fail-fast, cancel, pauses, the record and the summary, on either runner. */
  async #execute<T>(
    tasks: readonly WorktreeTask[],
    executor: TaskExecutor<T>,
    options: ExecuteOptions,
    continued: ReadonlyMap<number, WorktreeInfo>,
    resume: BatchRecord | undefined,
    merged: ReadonlySet<number> = new Set(),
  ): Promise<PoolExecutionResult<T>> {
    const started = performance.now();
    const batchId = resume?.id ?? newBatchId();
    this.#gate.beginBatch(batchId);
    const command = commandOf(executor);
    // Tasks of one program pause together: a function executor's tasks count as one program.
    const program = command?.[0] ?? '';
    let recorder: BatchRecorder | undefined;
    const batch = new AbortController();
    // With variants, each issue runs as several attempts, judged and settled to one result.
    const variants = variantBatch({
      manager: this.manager,
      config: this.config,
      batchId,
      tasks,
      executor: executor as TaskExecutor,
      signal: batch.signal,
      hooks: {
        judged: (key, judgement) => recorder?.attemptJudged(key, judgement) ?? Promise.resolve(),
        landing: (worktree) =>
          recorder ? recordMergeIntent(recorder, worktree, this.config.merge?.into) : Promise.resolve(),
        settled: (result) => {
          failFast(result, attemptWords(result));
          void recorder?.taskEnded(result);
        },
      },
      ...(resume ? { resume: { record: resume, merged } } : {}),
    });
    // With variants, an issue fails (all its attempts did, or its winner's landing), not an attempt.
    const failFast = (result: TaskResult, what: string) => {
      if (this.config.failFast && (result.status === 'failed' || result.status === 'timeout')) {
        batch.abort(new TaskAbort('cancelled', `fail-fast: ${what} ended ${result.status}`));
      }
    };
    // Each running task's own stop, for the radar's `onOverlap: 'stop-later'`.
    const stops = new Map<string, AbortController>();
    let radar: OverlapWatch | undefined;
    const onWorktree = (worktree: WorktreeInfo, status: WorktreeStatus | 'removed') => {
      this.#track(worktree, status);
      if (status === 'active') radar?.add(worktree);
      else if (status === 'removed' || status === 'idle') radar?.remove(worktree.id);
    };
    const runner = await this.#runner(
      tasks,
      (variants?.executor ?? executor) as TaskExecutor,
      continued,
      batchId,
      batch.signal,
      onWorktree,
      {
        resumed: resume !== undefined,
        merged,
        ...(variants
          ? { held: variants.held, continueAttempt: variants.continueIn, variantOf: variants.variantOf }
          : {}),
        program,
        onMergeIntent: (worktree) =>
          recorder ? recordMergeIntent(recorder, worktree, this.config.merge?.into) : Promise.resolve(),
      },
      {
        recordIntent: (intent) => recorder?.mergeIntent(intent) ?? Promise.resolve(),
        ...(resume ? { resumed: resumedQueue(resume, merged) } : {}),
      },
    );
    let finished = false;
    const onCallerAbort = () => batch.abort(new TaskAbort('cancelled', 'batch aborted by the caller'));
    if (options.signal?.aborted) onCallerAbort();
    options.signal?.addEventListener('abort', onCallerAbort, { once: true });
    const admission = admitByMemory(this.manager, batchId, this.config.minFreeMemory);
    try {
      const record = await startBatchRecord(this.manager, batchId, tasks, this.config, new Date(), {
        ...(command ? { command } : {}),
        ...(resume ? { resume } : {}),
      });
      recorder = record;
      const pruned = await pruneBatchLogs(this.config.logDir, this.config.logRetention);
      await forgetTaskLogs(this.manager.stateDir, pruned);
      // A queue's task branches are on its workers: nothing here for the radar to compare.
      radar = this.config.queue ? undefined : this.#startRadar(batchId, stops, tasks);
      // A variant's attempt is judged as it ends, out of its slot (its verdict may stop its siblings).
      const judged = (result: Promise<TaskResult>) => (variants ? result.then(variants.ended) : result);
      const results = await Promise.all(
        (variants?.tasks ?? tasks).map((task) =>
          judged(
            this.#queue.add(async () => {
              await admission.admit(task.issueNumber, batch.signal);
              // A paused pool starts no task of the paused program until the reset (or unpause()).
              await this.#gate.whenOpen(program, batch.signal);
              const stop = new AbortController();
              stops.set(attemptKey(task), stop);
              const variantStop = variants?.signalOf(task);
              const result = await runner
                .run({
                  task,
                  batchId,
                  signal: AbortSignal.any([batch.signal, stop.signal, ...(variantStop ? [variantStop] : [])]),
                })
                .finally(() => {
                  stops.delete(attemptKey(task));
                  admission.release();
                });
              if (!variants?.held(task)) failFast(result, attemptWords(task));
              // Written in the background, in order (never rejects): the slot goes to the next task now.
              void record.taskEnded(result);
              return result;
            }) as Promise<TaskResult>,
          ),
        ),
      );
      await radar?.stop();
      finished = true;
      // Issues settled first: a queue's finish pushes the targets their winners landed in here.
      const final = await runner.finish(variants ? await variants.settle(results) : results);
      // Every count of the batch derives from its record, which a later `merge` may rewrite.
      const ended = await record.finish(
        final,
        radar?.overlaps() ?? [],
        Math.round(performance.now() - started),
      );
      return summarise(batchId, ended.results as TaskResult<T>[], ended.totalDurationMs ?? 0, ended.overlaps);
    } finally {
      if (!finished) await runner.close();
      await radar?.stop();
      options.signal?.removeEventListener('abort', onCallerAbort);
    }
  }

  /** Where the batch's tasks run: here, or (with `queue`) on its workers, opened for this batch. */
  async #runner(
    tasks: readonly WorktreeTask[],
    executor: TaskExecutor,
    continued: ReadonlyMap<number, WorktreeInfo>,
    batchId: string,
    signal: AbortSignal,
    onWorktree: (worktree: WorktreeInfo, status: WorktreeStatus | 'removed') => void,
    local: Pick<
      LocalRunnerOptions,
      'resumed' | 'merged' | 'program' | 'onMergeIntent' | 'held' | 'continueAttempt'
    > & {
      readonly variantOf?: VariantBatch['variantOf'];
    },
    remote: {
      readonly recordIntent: (intent: MergeIntent) => Promise<void>;
      readonly resumed?: QueueResume;
    },
  ): Promise<TaskRunner> {
    const queue = this.config.queue;
    if (!queue) {
      return localRunner({
        manager: this.manager,
        config: this.config,
        executor,
        continued,
        github: this.#github,
        sampler: this.#sampler,
        gate: this.#gate,
        ...local,
        lending: this.#lending,
        onWorktree,
      });
    }
    const argv = commandOf(executor);
    if (!argv) {
      throw new MiyabiError(
        'INVALID_ARGUMENT',
        'a pool with queue sends commands to workers, not functions',
        {
          hint: "Pass commandExecutor(['npm', 'test']) as the executor: its argv travels in the job.",
        },
      );
    }
    const policy = this.config.onConflict;
    if (typeof policy === 'object' && !commandOf(policy.resolve)) {
      throw new MiyabiError(
        'INVALID_ARGUMENT',
        'onConflict: a pool with queue hands conflicts back to workers as commands, not functions',
        {
          hint: "Pass onConflict: { resolve: commandExecutor(['claude', '-p', '…']) }: its argv travels in the job.",
          details: { option: 'onConflict' },
        },
      );
    }
    const { openQueueRunner } = await import('../queue/queue-runner.js');
    const landing = landingSettings(this.config);
    return openQueueRunner({
      manager: this.manager,
      queue,
      batchId,
      issueNumbers: tasks.map((task) => task.issueNumber),
      argv,
      ...(local.held ? { held: local.held } : {}),
      ...(local.variantOf ? { variantOf: local.variantOf } : {}),
      env: commandEnvOf(executor),
      timeoutMs: this.config.timeoutMs,
      maxMemory: this.config.maxMemory,
      merge: this.config.merge,
      reuse: this.config.reuse
        ? { keepPaths: this.config.keepPaths, maxIdle: this.config.maxIdle }
        : undefined,
      prepare: this.#prepareGiven,
      existingBranches: this.config.existingBranches,
      followUps: {
        autoCleanup: this.config.autoCleanup,
        onConflict: this.config.onConflict,
        pullRequest:
          this.config.pullRequest && this.#github
            ? { options: this.config.pullRequest, client: this.#github }
            : undefined,
        logDir: this.config.logDir,
      },
      signal,
      gate: this.#gate,
      pause: {
        pauseOn: this.config.pauseOn,
        pauseMaxMs: this.config.pauseMaxMs,
        resumeCommand: resumeCommandOf(executor),
      },
      ...remote,
      ...(landing ? { landing: { landing, prepare: this.config.prepare } } : {}),
    });
  }

  /** The batch's conflict radar (none with `radarIntervalMs: 0`). */
  #startRadar(
    batchId: string,
    stops: ReadonlyMap<string, AbortController>,
    tasks: readonly WorktreeTask[],
  ): OverlapWatch | undefined {
    if (this.config.radarIntervalMs === 0) return undefined;
    return watchOverlaps({
      manager: this.manager,
      batchId,
      intervalMs: this.config.radarIntervalMs,
      ...(this.config.radarStatusIntervalMs > 0
        ? { statusIntervalMs: this.config.radarStatusIntervalMs }
        : {}),
      onChange: (overlap) => {
        if (this.config.onOverlap !== 'stop-later' || !overlap.conflict) return;
        const paths = overlap.conflictPaths.join(', ');
        // A variant's branch is named for it; any other task is its issue's only attempt.
        const variant = tasks.find(
          (task) => task.variant !== undefined && task.branchName === overlap.b.branch,
        );
        stops
          .get(attemptKey(variant ?? { issueNumber: overlap.b.issue }))
          ?.abort(
            new TaskAbort(
              'cancelled',
              `stopped by the conflict radar: its branch conflicts with #${overlap.a.issue}'s (started first) in ${paths} (onOverlap: 'stop-later')`,
            ),
          );
      },
    });
  }

  /**
   * Checks a batch without running anything: what `executeParallel` would refuse before starting
   * (malformed or duplicate tasks, bad branch names, a merge target that is no local branch, a push
   * remote that does not exist) throws here as the same `INVALID_ARGUMENT`.
   */
  async validate(tasks: readonly WorktreeTask[], options: ExecuteOptions = {}): Promise<void> {
    await this.#validate(tasks, options);
  }

  /** {@link validate}, returning the kept worktrees the tasks continue in (`existingBranches: 'continue'`). */
  async #validate(
    tasks: readonly WorktreeTask[],
    options: ExecuteOptions,
  ): Promise<Map<number, WorktreeInfo>> {
    validateTasks(tasks);
    // A queue's workers make their own worktrees: a kept one here is never theirs to continue in.
    const config = this.config.queue ? { ...this.config, existingBranches: 'restart' as const } : this.config;
    const continued = await validateBatch(this.manager, tasks, config, options.signal).catch(
      resumeHintOnBusy(this.manager),
    );
    await this.#connectGitHub();
    return continued;
  }

  /** With `pullRequest`: the token is found (or missing: GITHUB_AUTH) before any worktree is made. */
  async #connectGitHub(): Promise<void> {
    const pr = this.config.pullRequest;
    if (pr && !this.#github) {
      this.#github =
        pr.client ??
        (await createGitHubClient({
          ...(pr.token !== undefined ? { token: pr.token } : {}),
          ...(pr.baseUrl !== undefined ? { baseUrl: pr.baseUrl } : {}),
        }));
    }
  }

  /**
   * Pre-creates idle worktrees until `count` are idle (at most `maxIdle`), so that the next tasks
   * with `reuse` only switch branch. Returns those this call created.
   */
  warm(count: number, options: { signal?: AbortSignal } = {}): Promise<WorktreeInfo[]> {
    return this.manager.warmWorktrees(count, { maxIdle: this.config.maxIdle, ...options });
  }

  /** `executeParallel` for plain issue numbers and a function of the worktree path. */
  executeSimple<T = unknown>(
    issueNumbers: readonly number[],
    fn: (worktreePath: string, issueNumber: number, ctx: TaskContext) => Promise<T>,
    options: ExecuteOptions = {},
  ): Promise<PoolExecutionResult<T>> {
    if (!Array.isArray(issueNumbers)) {
      throw new MiyabiError(
        'INVALID_ARGUMENT',
        `issueNumbers must be an array, got ${describe(issueNumbers)}`,
      );
    }
    return this.executeParallel(
      issueNumbers.map((issueNumber) => ({ issueNumber })),
      (worktree, task, ctx) => fn(worktree.path, task.issueNumber, ctx),
      options,
    );
  }

  /** Tasks running and queued, free slots, and the worktrees this pool holds by status. */
  stats(): PoolStats {
    const worktreesByStatus = countByStatus(this.#worktrees.values());
    return {
      maxConcurrency: this.config.maxConcurrency,
      activeTasks: this.#queue.pending,
      queuedTasks: this.#queue.size,
      availableSlots: Math.max(0, this.config.maxConcurrency - this.#queue.pending),
      worktreesByStatus,
    };
  }

  /** A task waiting to land (or checking) lends its slot to the next task until its landing ends. */
  readonly #lending = (landing: boolean): void => {
    this.#queue.concurrency += landing ? 1 : -1;
  };

  #track(worktree: WorktreeInfo, status: WorktreeStatus | 'removed'): void {
    if (status === 'removed') this.#worktrees.delete(worktree.id);
    else this.#worktrees.set(worktree.id, status);
  }
}

/** Options checked, on top of the configuration file's values, on top of the defaults. */
function validateConfig(config: PoolConfig, file: MiyabiConfig): ResolvedPoolConfig {
  if (typeof config !== 'object' || config === null) {
    throw new MiyabiError('INVALID_ARGUMENT', `pool config must be an object, got ${describe(config)}`);
  }
  const fromFile = definedOnly({
    maxConcurrency: file.maxConcurrency,
    timeoutMs: file.timeoutMs,
    logRetention: file.logRetention,
    pauseMaxMs: file.pauseMaxMs,
  });
  const maxMemory = sizeOption('maxMemory', config.maxMemory ?? file.maxMemory);
  const minFreeMemory = sizeOption('minFreeMemory', config.minFreeMemory ?? file.minFreeMemory);
  // First: with queue, an option it does not honour is the one thing to say.
  const queue = checkQueue(config);
  const merged = { ...DEFAULTS, ...fromFile, ...definedOnly(config) };
  for (const key of [
    'maxConcurrency',
    'timeoutMs',
    'abortGraceMs',
    'logRetention',
    'radarIntervalMs',
    'radarStatusIntervalMs',
    'pauseMaxMs',
  ] as const)
    assertOptionInRange(key, merged[key]);
  for (const key of ['failFast', 'autoCleanup'] as const) {
    if (typeof merged[key] !== 'boolean') {
      throw new MiyabiError('INVALID_ARGUMENT', `${key} must be true or false, got ${describe(merged[key])}`);
    }
  }
  const reuse = config.reuse ?? file.reuse;
  if (typeof reuse !== 'boolean') {
    throw new MiyabiError('INVALID_ARGUMENT', `reuse must be true or false, got ${describe(reuse)}`);
  }
  const keepPaths = config.keepPaths ?? file.keepPaths;
  if (!Array.isArray(keepPaths)) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `keepPaths must be an array of paths, got ${describe(keepPaths)}`,
    );
  }
  for (const path of keepPaths) {
    const problem = relativePathProblem(path);
    if (problem) {
      throw new MiyabiError('INVALID_ARGUMENT', `keepPaths: ${describe(path)} ${problem}`, {
        hint: "Give ignored folders relative to the repository root, e.g. ['node_modules'].",
      });
    }
  }
  const maxIdle = config.maxIdle ?? file.maxIdle ?? merged.maxConcurrency;
  assertOptionInRange('maxIdle', maxIdle);
  if (reuse && !merged.autoCleanup) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      'reuse needs autoCleanup: a kept worktree is never handed to another task',
      {
        hint: 'Drop reuse, or leave autoCleanup on.',
      },
    );
  }
  if (config.logDir !== undefined && (typeof config.logDir !== 'string' || config.logDir === '')) {
    throw new MiyabiError('INVALID_ARGUMENT', `logDir must be a folder path, got ${describe(config.logDir)}`);
  }
  return {
    maxConcurrency: merged.maxConcurrency,
    timeoutMs: merged.timeoutMs,
    failFast: merged.failFast,
    autoCleanup: merged.autoCleanup,
    abortGraceMs: merged.abortGraceMs,
    prepare: resolvePrepareSettings(file, config.prepare),
    merge: checkMergeOptions(config.merge),
    push: checkPushOptions(config.push),
    onConflict: checkConflictPolicy(config.onConflict),
    existingBranches: checkExistingBranches(config.existingBranches),
    logRetention: merged.logRetention,
    pullRequest: checkPullRequestOptions(config.pullRequest, config),
    logDir: config.logDir ?? '',
    reuse,
    keepPaths: keepPaths.map(normaliseRelativePath),
    maxIdle,
    radarIntervalMs: merged.radarIntervalMs,
    radarStatusIntervalMs: merged.radarStatusIntervalMs,
    onOverlap: checkOverlapPolicy(config.onOverlap, merged.radarIntervalMs),
    queue,
    maxMemory,
    minFreeMemory,
    ...resolveLanding(config, file),
    pauseOn: compilePauseOn(config.pauseOn ?? file.pauseOn),
    pauseMaxMs: merged.pauseMaxMs,
    ...resolveVariants(config, file),
  };
}

function checkOverlapPolicy(policy: OverlapPolicy | undefined, radarIntervalMs: number): OverlapPolicy {
  if (policy !== undefined && policy !== 'warn' && policy !== 'stop-later') {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `onOverlap must be 'warn' or 'stop-later', got ${describe(policy)}`,
      {
        details: { option: 'onOverlap' },
      },
    );
  }
  if (policy === 'stop-later' && radarIntervalMs === 0) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      "onOverlap: 'stop-later' needs the radar, but radarIntervalMs is 0",
      {
        hint: 'Give radarIntervalMs a positive interval, or drop onOverlap.',
        details: { option: 'onOverlap' },
      },
    );
  }
  return policy ?? 'warn';
}

function checkMergeOptions(merge: PoolMergeOptions | undefined): PoolMergeOptions | undefined {
  if (merge === undefined) return undefined;
  if (typeof merge !== 'object' || merge === null) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `merge must be an object like { into, strategy }, got ${describe(merge)}`,
      {
        hint: 'Pass merge: {} to merge into each base branch, or leave it out not to merge.',
      },
    );
  }
  if (merge.strategy !== undefined && !MERGE_STRATEGIES.includes(merge.strategy)) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `merge.strategy must be one of ${MERGE_STRATEGIES.join(', ')}, got ${describe(merge.strategy)}`,
    );
  }
  if (merge.into !== undefined) {
    const problem = branchNameProblem(merge.into);
    if (problem) {
      throw new MiyabiError(
        'INVALID_ARGUMENT',
        `merge.into ${describe(merge.into)} is not a branch name: it ${problem}`,
        {
          details: { option: 'merge.into' },
        },
      );
    }
  }
  if (merge.message !== undefined && typeof merge.message !== 'string') {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `merge.message must be a string, got ${describe(merge.message)}`,
    );
  }
  return merge;
}

function checkExistingBranches(value: PoolConfig['existingBranches']): 'restart' | 'continue' {
  if (value === undefined || value === 'restart' || value === 'continue') return value ?? 'restart';
  throw new MiyabiError(
    'INVALID_ARGUMENT',
    `existingBranches must be 'restart' or 'continue', got ${describe(value)}`,
  );
}

function checkConflictPolicy(policy: ConflictPolicy | undefined): ConflictPolicy {
  if (policy === undefined || policy === 'keep' || policy === 'remove') return policy ?? 'keep';
  const attempts = typeof policy === 'object' && policy !== null ? (policy.attempts ?? 1) : undefined;
  if (
    typeof policy !== 'object' ||
    policy === null ||
    typeof policy.resolve !== 'function' ||
    typeof attempts !== 'number' ||
    !Number.isSafeInteger(attempts) ||
    attempts < 1
  ) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `onConflict must be 'keep', 'remove' or { resolve: executor, attempts: 1 or more }, got ${describe(policy)}`,
    );
  }
  return policy;
}

function checkPushOptions(push: PoolPushOptions | undefined): PoolPushOptions | undefined {
  if (push === undefined) return undefined;
  if (typeof push !== 'object' || push === null) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `push must be an object like { remote }, got ${describe(push)}`,
      {
        hint: "Pass push: {} to push to 'origin', or leave it out not to push.",
      },
    );
  }
  if (
    push.remote !== undefined &&
    (typeof push.remote !== 'string' || push.remote === '' || push.remote.startsWith('-'))
  ) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `push.remote must be a remote name, got ${describe(push.remote)}`,
      {
        details: { option: 'push.remote' },
      },
    );
  }
  return push;
}

function checkPullRequestOptions(
  pr: PoolPullRequestOptions | undefined,
  config: PoolConfig,
): PoolPullRequestOptions | undefined {
  if (pr === undefined) return undefined;
  if (typeof pr !== 'object' || pr === null) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `pullRequest must be an object like { repo }, got ${describe(pr)}`,
    );
  }
  if (typeof pr.repo === 'string') parseRepoSlug(pr.repo);
  if (config.push === undefined) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      'pullRequest needs push: the branch must be on the remote first',
      {
        hint: 'Pass push: {} as well.',
        details: { option: 'pullRequest' },
      },
    );
  }
  if (config.merge !== undefined) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      'pullRequest cannot go with merge: the pull request is the merge',
      {
        hint: 'Choose one: merge locally, or open pull requests.',
        details: { option: 'pullRequest' },
      },
    );
  }
  for (const key of ['reviewers', 'labels'] as const) {
    const list = pr[key];
    if (
      list !== undefined &&
      (!Array.isArray(list) || list.some((item) => typeof item !== 'string' || item === ''))
    ) {
      throw new MiyabiError(
        'INVALID_ARGUMENT',
        `pullRequest.${key} must be a list of names, got ${describe(list)}`,
      );
    }
  }
  return pr;
}

/** The queue option, and no option the queue runner does not honour (checked before anything connects). */
function checkQueue(config: PoolConfig): PoolQueueOptions | undefined {
  const queue = checkQueueOptions(config.queue);
  refuseUnsupportedOnQueue(config);
  return queue;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function validateTasks(tasks: readonly WorktreeTask[]): void {
  if (!Array.isArray(tasks)) {
    throw new MiyabiError('INVALID_ARGUMENT', `tasks must be an array, got ${describe(tasks)}`);
  }
  const seen = new Set<string>();
  for (const [index, task] of tasks.entries()) {
    if (typeof task !== 'object' || task === null) {
      throw new MiyabiError('INVALID_ARGUMENT', `tasks[${index}] must be an object, got ${describe(task)}`);
    }
    assertIssueNumber(task.issueNumber);
    if (task.variants !== undefined) variantSpecs(task.variants, `tasks[${index}].variants`);
    for (const key of ['branchName', 'baseBranch'] as const) {
      const value = task[key];
      const problem = value === undefined ? undefined : branchNameProblem(value);
      if (problem) {
        throw new MiyabiError(
          'INVALID_ARGUMENT',
          `tasks[${index}].${key} ${describe(value)} is not a branch name: it ${problem}`,
          {
            hint: 'Pass a name like feature/issue-42, or leave it out.',
            details: { option: key, issueNumber: task.issueNumber },
          },
        );
      }
    }
    if (seen.has(attemptKey(task))) {
      throw new MiyabiError('INVALID_ARGUMENT', `${attemptWords(task)} appears twice in the batch`, {
        hint: 'Give each issue once: two worktrees of one issue would compete for its branch.',
        details: { issueNumber: task.issueNumber },
      });
    }
    seen.add(attemptKey(task));
  }
}
