import type { WorktreeInfo } from '../core/types.js';
import type { GitHubClient } from '../github/client.js';
import type { WorktreeManager } from '../manager/worktree-manager.js';
import type { MemorySampler } from '../process/memory-sampler.js';
import { landingSettings } from './land.js';
import { dropOwnMergedBranch } from './own-merged-branch.js';
import type { PauseGate } from './pause-gate.js';
import { alreadyMerged } from './resume-batch.js';
import { runTask } from './run-task.js';
import { taskLogFile, taskLogHooks } from './task-log-hooks.js';
import type { TaskRunner } from './task-runner.js';
import type { TaskExecutor, WorktreeTask } from './types.js';
import type { ResolvedPoolConfig } from './worktree-pool.js';

export interface LocalRunnerOptions {
  readonly manager: WorktreeManager;
  readonly config: ResolvedPoolConfig;
  readonly executor: TaskExecutor;
  /** Kept worktrees the tasks continue in (`existingBranches: 'continue'`), by issue. */
  readonly continued: ReadonlyMap<number, WorktreeInfo>;
  readonly github: GitHubClient | undefined;
  /** The pool's sampler: measures each task's processes and stops them above `maxMemory`. */
  readonly sampler: MemorySampler;
  /** Told as a task starts waiting to land (true) and when its landing ended (false): the pool lends its slot. */
  readonly lending: (landing: boolean) => void;
  /** The pool's pauses: a task that meets a usage limit waits in its worktree, its program held. */
  readonly gate: PauseGate;
  /** The batch's program (argv[0]; '' for a function): its tasks pause together. */
  readonly program: string;
  /** A resumed batch (`run --resume`): tasks build on the branches their first run left. */
  readonly resumed: boolean;
  /** Tasks whose merge landed before the batch's runner died: their command does not run again. */
  readonly merged: ReadonlySet<number>;
  /** Told before a merge moves a ref, so a resumed batch never merges twice. */
  readonly onMergeIntent: (worktree: WorktreeInfo) => Promise<void>;
  /** With variants: an attempt whose landing waits for its issue's verdict (no follow-ups; its worktree kept). */
  readonly held?: (task: WorktreeTask) => boolean;
  /** A resumed variant's attempt: the worktree its killed run left (found by its branch). */
  readonly continueAttempt?: (task: WorktreeTask) => Promise<WorktreeInfo | undefined>;
  /** Told as a worktree changes hands (the pool's stats and radar). */
  readonly onWorktree: (worktree: WorktreeInfo, status: WorktreeInfo['status'] | 'removed') => void;
}

/** Runs each task here, in a worktree of this repository (`runTask`), with its log recorded for `logs`. */
export function localRunner(options: LocalRunnerOptions): TaskRunner {
  const { manager, config } = options;
  return {
    async run({ task, batchId, signal }) {
      // A variant's follow-ups wait for its issue's verdict: they are the winner's only.
      const held = options.held?.(task) ?? false;
      const logFile = taskLogFile(config.logDir, batchId, task);
      const log = taskLogHooks(manager.stateDir, { issueNumber: task.issueNumber, batchId, logFile });
      const ran = await runTask({
        manager,
        task,
        // Its merge landed before the runner died: the command does not run (nor merge) again.
        executor: options.merged.has(task.issueNumber) ? alreadyMerged : options.executor,
        batchId,
        batchSignal: signal,
        timeoutMs: config.timeoutMs,
        abortGraceMs: config.abortGraceMs,
        autoCleanup: config.autoCleanup && !held,
        prepare: config.prepare,
        merge: held ? undefined : config.merge,
        push: held ? undefined : config.push,
        reuse: config.reuse && !held ? { keepPaths: config.keepPaths, maxIdle: config.maxIdle } : undefined,
        onConflict: config.onConflict,
        // A resumed task builds on the branch its first run left.
        existingBranches: options.resumed ? 'continue' : config.existingBranches,
        resumed: options.resumed,
        // Kept worktrees are found by issue; a resumed variant continues in its own (by its branch).
        continueIn:
          task.variant === undefined
            ? options.continued.get(task.issueNumber)
            : await options.continueAttempt?.(task),
        pullRequest:
          config.pullRequest && options.github && !held
            ? { options: config.pullRequest, client: options.github }
            : undefined,
        logFile,
        bounds: { sampler: options.sampler, maxMemory: config.maxMemory },
        ...(config.check && !held ? { landing: landingSettings(config), onLanding: options.lending } : {}),
        onLogStart: log.started,
        usageLimits: { gate: options.gate, program: options.program, pauseOn: config.pauseOn },
        onMergeIntent: options.onMergeIntent,
        onWorktree: options.onWorktree,
      });
      // Killed at cleanup after its merge: the branch the batch created goes now.
      const result = options.merged.has(task.issueNumber)
        ? await dropOwnMergedBranch(manager, batchId, ran)
        : ran;
      await log.ended(result);
      return result;
    },
    async finish(results) {
      return results;
    },
    async close() {},
  };
}
