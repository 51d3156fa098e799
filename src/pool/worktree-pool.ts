import { randomBytes } from 'node:crypto';
import PQueue from 'p-queue';
import { MiyabiError } from '../errors.js';
import type { WorktreeInfo, WorktreeStatus } from '../manager/types.js';
import { assertIssueNumber, describe } from '../manager/validate.js';
import { WorktreeManager } from '../manager/worktree-manager.js';
import { runTask, TaskAbort } from './run-task.js';
import { summarise } from './summarise.js';
import type {
  ExecuteOptions,
  PoolConfig,
  PoolCreateOptions,
  PoolExecutionResult,
  PoolStats,
  TaskContext,
  TaskExecutor,
  TaskResult,
  WorktreeTask,
} from './types.js';

const DEFAULTS = {
  maxConcurrency: 3,
  timeoutMs: 1_800_000,
  failFast: false,
  autoCleanup: true,
  abortGraceMs: 5_000,
};

/**
 * Runs a batch of tasks in parallel, one worktree each: at most `maxConcurrency` whole lifecycles
 * (create → execute → cleanup) at once, a timeout that aborts the task's signal and settles it even
 * if the executor ignores it, optional fail-fast, and per-task cleanup that loses no work.
 */
export class WorktreePool {
  readonly manager: WorktreeManager;
  readonly config: Readonly<Required<PoolConfig>>;
  #queue: PQueue;
  readonly #worktrees = new Map<string, WorktreeStatus>();

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
    this.config = validateConfig(config);
    this.#queue = new PQueue({ concurrency: this.config.maxConcurrency });
  }

  /** Opens the repository (from `repoPath`, else `cwd`, else the process cwd) and makes a pool on it. */
  static async create(options: PoolCreateOptions = {}): Promise<WorktreePool> {
    const config = validateConfig(options);
    const managerOptions = {
      maxConcurrency: config.maxConcurrency,
      ...(options.worktreeDir !== undefined ? { worktreeDir: options.worktreeDir } : {}),
      ...(options.baseBranch !== undefined ? { baseBranch: options.baseBranch } : {}),
      ...(options.logger !== undefined ? { logger: options.logger } : {}),
    };
    const manager = options.repoPath
      ? await WorktreeManager.open({ repoPath: options.repoPath, ...managerOptions })
      : await WorktreeManager.discover({ ...(options.cwd ? { cwd: options.cwd } : {}), ...managerOptions });
    return new WorktreePool(manager, config);
  }

  /**
   * Runs every task in its own worktree. Resolves (never rejects for a task's failure) with the
   * results in input order; rejects only for bad input, before anything starts. Duplicate issue
   * numbers are refused: two worktrees of one issue would fight over its branch.
   */
  async executeParallel<T = unknown>(
    tasks: readonly WorktreeTask[],
    executor: TaskExecutor<T>,
    options: ExecuteOptions = {},
  ): Promise<PoolExecutionResult<T>> {
    validateTasks(tasks);
    if (typeof executor !== 'function') {
      throw new MiyabiError('INVALID_ARGUMENT', `executor must be a function, got ${describe(executor)}`);
    }
    const started = performance.now();
    const batchId = `batch-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
    const batch = new AbortController();
    const onCallerAbort = () => batch.abort(new TaskAbort('cancelled', 'batch aborted by the caller'));
    if (options.signal?.aborted) onCallerAbort();
    options.signal?.addEventListener('abort', onCallerAbort, { once: true });
    try {
      const results = await Promise.all(
        tasks.map(
          (task) =>
            this.#queue.add(async () => {
              const result = await runTask({
                manager: this.manager,
                task,
                executor: executor as TaskExecutor,
                batchId,
                batchSignal: batch.signal,
                timeoutMs: this.config.timeoutMs,
                abortGraceMs: this.config.abortGraceMs,
                autoCleanup: this.config.autoCleanup,
                onWorktree: (worktree, status) => this.#track(worktree, status),
              });
              if (this.config.failFast && (result.status === 'failed' || result.status === 'timeout')) {
                batch.abort(
                  new TaskAbort('cancelled', `fail-fast: issue ${task.issueNumber} ended ${result.status}`),
                );
              }
              return result as TaskResult<T>;
            }) as Promise<TaskResult<T>>,
        ),
      );
      return summarise(batchId, results, Math.round(performance.now() - started));
    } finally {
      options.signal?.removeEventListener('abort', onCallerAbort);
    }
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
    const worktreesByStatus: Record<WorktreeStatus, number> = { active: 0, idle: 0, completed: 0, failed: 0 };
    for (const status of this.#worktrees.values()) worktreesByStatus[status]++;
    return {
      maxConcurrency: this.config.maxConcurrency,
      activeTasks: this.#queue.pending,
      queuedTasks: this.#queue.size,
      availableSlots: Math.max(0, this.config.maxConcurrency - this.#queue.pending),
      worktreesByStatus,
    };
  }

  #track(worktree: WorktreeInfo, status: WorktreeStatus | 'removed'): void {
    if (status === 'removed') this.#worktrees.delete(worktree.id);
    else this.#worktrees.set(worktree.id, status);
  }
}

function validateConfig(config: PoolConfig): Required<PoolConfig> {
  if (typeof config !== 'object' || config === null) {
    throw new MiyabiError('INVALID_ARGUMENT', `pool config must be an object, got ${describe(config)}`);
  }
  const merged = { ...DEFAULTS, ...definedOnly(config) };
  for (const key of ['maxConcurrency', 'timeoutMs', 'abortGraceMs'] as const) {
    const value = merged[key];
    const integerOnly = key === 'maxConcurrency';
    const valid =
      typeof value === 'number' &&
      Number.isFinite(value) &&
      (key === 'abortGraceMs' ? value >= 0 : value > 0) &&
      (!integerOnly || Number.isSafeInteger(value)) &&
      value <= 2_147_483_647;
    if (!valid) {
      throw new MiyabiError(
        'INVALID_ARGUMENT',
        `${key} must be a ${integerOnly ? 'positive integer' : 'positive finite number of milliseconds'}, got ${describe(value)}`,
        {
          hint: `Pass ${key}: ${DEFAULTS[key]} or another ${integerOnly ? 'positive integer' : 'duration in ms'}.`,
        },
      );
    }
  }
  for (const key of ['failFast', 'autoCleanup'] as const) {
    if (typeof merged[key] !== 'boolean') {
      throw new MiyabiError('INVALID_ARGUMENT', `${key} must be true or false, got ${describe(merged[key])}`);
    }
  }
  return {
    maxConcurrency: merged.maxConcurrency,
    timeoutMs: merged.timeoutMs,
    failFast: merged.failFast,
    autoCleanup: merged.autoCleanup,
    abortGraceMs: merged.abortGraceMs,
  };
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function validateTasks(tasks: readonly WorktreeTask[]): void {
  if (!Array.isArray(tasks)) {
    throw new MiyabiError('INVALID_ARGUMENT', `tasks must be an array, got ${describe(tasks)}`);
  }
  const seen = new Set<number>();
  for (const [index, task] of tasks.entries()) {
    if (typeof task !== 'object' || task === null) {
      throw new MiyabiError('INVALID_ARGUMENT', `tasks[${index}] must be an object, got ${describe(task)}`);
    }
    assertIssueNumber(task.issueNumber);
    if (seen.has(task.issueNumber)) {
      throw new MiyabiError('INVALID_ARGUMENT', `issue ${task.issueNumber} appears twice in the batch`, {
        hint: 'Give each issue once: two worktrees of one issue would compete for its branch.',
        details: { issueNumber: task.issueNumber },
      });
    }
    seen.add(task.issueNumber);
  }
}
