import { appendFile } from 'node:fs/promises';
import type { WorktreeInfo, WorktreeStatus } from '../core/types.js';
import type { GitHubClient } from '../github/client.js';
import { needsPreparation } from '../manager/prepare-worktree.js';
import { BRANCH_GONE } from '../manager/removal-branch-policy.js';
import type { WorktreeManager } from '../manager/worktree-manager.js';
import { worktreeEnvironment } from '../process/task-environment.js';
import type { PrepareSettings } from '../setup/prepare-worktree.js';
import { openLogFile } from '../state/log-file.js';
import { contextOfTraceparent, startTaskSpan } from '../telemetry/otel-spans.js';
import { taskCostFields } from '../telemetry/task-cost-fields.js';
import { isConflict, merge, pullRequest, push } from './follow-ups.js';
import { keepsWorktree } from './keep-policy.js';
import { type LandingSettings, landTask } from './land.js';
import { resolveConflict } from './resolve-conflict.js';
import { settleExecutor } from './settle-executor.js';
import { endExecution, type TaskBounds, usageEnvironment, watchExecution } from './task-bounds.js';
import { TaskDeadline } from './task-deadline.js';
import {
  abortMessage,
  classify,
  type ExecutorOutcome,
  fail,
  type Progress,
  TaskAbort,
} from './task-outcome.js';
import type {
  ConflictPolicy,
  PoolMergeOptions,
  PoolPullRequestOptions,
  PoolPushOptions,
  TaskExecutor,
  TaskResult,
  UnmergedWork,
  WorktreeTask,
} from './types.js';
import { type UsageLimitSettings, withUsageLimitPauses } from './usage-limit-pauses.js';

export interface TaskRun {
  readonly manager: WorktreeManager;
  readonly task: WorktreeTask;
  readonly executor: TaskExecutor;
  readonly batchId: string;
  readonly batchSignal: AbortSignal;
  readonly timeoutMs: number;
  readonly abortGraceMs: number;
  readonly autoCleanup: boolean;
  readonly prepare: Required<PrepareSettings>;
  readonly merge: PoolMergeOptions | undefined;
  readonly push: PoolPushOptions | undefined;
  /** With the pool's `reuse`: take an idle worktree and hand it back idle. */
  readonly reuse: { readonly keepPaths: readonly string[]; readonly maxIdle: number } | undefined;
  readonly onConflict: ConflictPolicy;
  readonly existingBranches: 'restart' | 'continue';
  /** The worktree an earlier run kept for this issue, to run in again (`existingBranches: 'continue'`). */
  readonly continueIn?: WorktreeInfo | undefined;
  /** The pull request to open after the push, with the client made when the batch was checked. */
  readonly pullRequest:
    | { readonly options: PoolPullRequestOptions; readonly client: GitHubClient }
    | undefined;
  /** `<logDir>/<batchId>/issue-<n>.log` */
  readonly logFile: string;
  /** Called once the task's log file is started, so the pool can record where it is (`logs`). */
  readonly onLogStart?: (worktree: WorktreeInfo) => Promise<void>;
  /** The pool's memory sampler and `maxMemory`: what measures and bounds the command. */
  readonly bounds?: TaskBounds | undefined;
  /** With a check: the landing (`landTask`), instead of the plain merge. */
  readonly landing?: LandingSettings | undefined;
  /** Called as the task starts waiting to land (true) and when its landing ended (false): its slot is free meanwhile. */
  readonly onLanding?: (landing: boolean) => void;
  /** Called as each landing check starts, for live views. */
  readonly onCheck?: (
    worktree: WorktreeInfo,
    candidate: { readonly into: string; readonly commit: string; readonly target: string },
  ) => void;
  /** Called as the worktree changes hands, so the pool can report statuses. */
  readonly onWorktree: (worktree: WorktreeInfo, status: WorktreeInfo['status'] | 'removed') => void;
  /** Called before the task's merge moves its target (the batch record keeps the intent). */
  readonly onMergeIntent?: (worktree: WorktreeInfo) => Promise<void>;
  /** The task runs again after its batch's runner died (`resumeBatch`): its command gets `MIYABI_RESUMED=1`. */
  readonly resumed?: boolean;
  /** Wait out providers' usage limits (pause, then run again in the worktree); absent: a limit fails the task. */
  readonly usageLimits?: UsageLimitSettings | undefined;
}

/**
 * One whole task lifecycle: create the worktree, prepare it (`.worktreeinclude`, `setup`), run the
 * executor, merge and push when asked — all under a timeout that aborts the task's signal (and
 * settles the task even if the executor ignores it) — then mark and clean up. The first stage that
 * does not succeed decides the result's status and `stage`; later stages are skipped.
 */
export async function runTask(run: TaskRun): Promise<TaskResult> {
  const started = performance.now();
  const { manager, task, batchId } = run;
  const elapsed = () => Math.round(performance.now() - started);
  if (run.batchSignal.aborted) {
    const error = { message: `not started: ${abortMessage(run.batchSignal.reason)}`, code: 'CANCELLED' };
    return finish(run, { status: 'cancelled', stage: 'create', error }, undefined, elapsed());
  }

  const controller = new AbortController();
  const { signal } = controller;
  const onBatchAbort = () => controller.abort(run.batchSignal.reason);
  run.batchSignal.addEventListener('abort', onBatchAbort, { once: true });
  const parent = task.traceparent === undefined ? undefined : contextOfTraceparent(task.traceparent);
  const span = startTaskSpan({
    issueNumber: task.issueNumber,
    batchId,
    ...(parent ? { parent } : {}),
    ...(task.agentType ? { attributes: { 'miyabi.agent.type': task.agentType } } : {}),
  });
  const progress: Progress = { status: 'success' };
  let worktree: WorktreeInfo | undefined;
  let deadline: TaskDeadline | undefined;
  try {
    const createSpan = span.child('create');
    try {
      worktree = run.continueIn
        ? await manager.updateStatus(run.continueIn.id, 'active')
        : await manager.createWorktree(task.issueNumber, {
            signal,
            batchId,
            existingBranch: run.existingBranches === 'restart' ? 'restart' : 'reuse',
            ...(task.branchName !== undefined ? { branchName: task.branchName } : {}),
            ...(task.baseBranch !== undefined ? { baseBranch: task.baseBranch } : {}),
            ...(run.reuse ? { reuse: true, keepPaths: run.reuse.keepPaths } : {}),
          });
      createSpan.end();
    } catch (error) {
      createSpan.end(error);
      fail(progress, 'create', error, signal);
      return finish(run, progress, undefined, elapsed());
    }
    run.onWorktree(worktree, 'active');
    span.setWorktree({ id: worktree.id, branchName: worktree.branchName });
    // MIYABI_CONFLICTS is empty in a task's normal run; a resolver gets the file of paths.
    const env = {
      ...worktreeEnvironment(worktree, batchId),
      MIYABI_CONFLICTS: '',
      ...usageEnvironment(run.logFile),
      ...(run.resumed ? { MIYABI_RESUMED: '1' } : {}),
    };
    // The budget covers everything the task does in its worktree: setup, command, merge and push.
    // It stands still while the task waits out a usage limit.
    deadline = new TaskDeadline(run.timeoutMs, () =>
      controller.abort(new TaskAbort('timeout', `timed out after ${run.timeoutMs} ms`)),
    );
    await startLog(run.logFile, worktree, run.continueIn !== undefined);
    await run.onLogStart?.(worktree);

    if (needsPreparation(manager.repoPath, run.prepare)) {
      try {
        progress.prepare = await manager.prepareWorktree(worktree.id, {
          ...run.prepare,
          signal,
          batchId,
          logFile: run.logFile,
        });
      } catch (error) {
        fail(progress, 'setup', error, signal);
      }
    }

    let outcome: ExecutorOutcome | undefined;
    if (progress.status === 'success') {
      const executor = run.usageLimits
        ? withUsageLimitPauses(run.executor, run.usageLimits, {
            deadline,
            record: (event) => manager.recordEvent(event),
            eventBase: {
              worktreeId: worktree.id,
              issueNumber: task.issueNumber,
              branch: worktree.branchName,
              batchId,
            },
            onPause: (pause) => {
              progress.pause = pause;
            },
          })
        : run.executor;
      const watch = watchExecution(run.bounds, worktree, controller);
      outcome = await execute({ ...run, executor }, worktree, progress, { signal, env, span });
      await endExecution(watch, progress, run.logFile);
    }
    if (progress.status === 'success' && run.landing) {
      // Waiting to land and checking do not count against the task's timeout (the check has its own).
      deadline.stop();
      await run.onMergeIntent?.(worktree);
      await landTask(run, worktree, progress, { signal: run.batchSignal, env, span });
    } else if (progress.status === 'success' && run.merge) {
      await run.onMergeIntent?.(worktree);
      await merge(run, worktree, progress, signal);
      if (isConflict(progress) && typeof run.onConflict === 'object') {
        await resolveConflict(run, worktree, progress, { signal, env, policy: run.onConflict });
      }
    }
    if (progress.status === 'success' && run.push) await push(run, worktree, progress, signal);
    if (progress.status === 'success' && run.pullRequest) {
      await pullRequest(run, worktree, progress, signal, elapsed());
    }
    deadline.stop();

    const finalStatus: WorktreeStatus = progress.status === 'success' ? 'completed' : 'failed';
    // A failed landing check keeps its worktree for the fix (unless asked not to).
    const keepCheck = progress.stage === 'check' && run.landing?.onCheckFail !== 'remove';
    // An executor that ignored its signal may still be writing there: never delete under it.
    const abandoned = outcome?.kind === 'abandoned';
    // A kept worktree's record says how its task ended; one removed next needs no write of that.
    // A task stopped by a usage limit past pauseMax keeps its worktree for `run --resume`.
    const usageLimited = progress.error?.code === 'USAGE_LIMIT';
    const keep =
      keepsWorktree({ ...progress, resolveAttempts: progress.resolveAttempts?.length }, run) ||
      keepCheck ||
      abandoned ||
      usageLimited;
    const marked = keep
      ? await manager.updateStatus(worktree.id, finalStatus).catch((error: unknown) => {
          if (progress.status === 'success') fail(progress, 'cleanup', error, undefined);
          return undefined;
        })
      : { ...worktree, status: finalStatus };
    if (marked) run.onWorktree(marked, marked.status);
    if (keep || !marked) {
      if (abandoned) {
        const message = `${progress.error?.message ?? 'abandoned'}; the executor did not stop within ${run.abortGraceMs} ms, so its worktree was kept (reclaim it with cleanupAll)`;
        progress.error = { ...progress.error, message };
      }
      return finish(run, progress, worktree, elapsed());
    }
    try {
      const id = worktree.id;
      if (run.reuse) {
        const { keepPaths, maxIdle } = run.reuse;
        const handed = await span.step('cleanup', () =>
          manager.idleWorktree(id, { keepPaths, maxIdle, batchId }),
        );
        run.onWorktree(marked, 'removed');
        return finish(run, progress, worktree, elapsed(), {
          cleanedUp: handed.idle !== null || (handed.removed?.worktreeRemoved ?? false),
          keptIdle: handed.idle !== null,
          ...(handed.archived ? { archiveRef: handed.archived.ref } : {}),
          archivedPaths: handed.archived?.uncommittedPaths ?? [],
          stoppedProcesses: handed.stoppedProcesses ?? [],
          branchKeptReason: handed.branchKeptReason,
        });
      }
      const removed = await span.step('cleanup', () => manager.removeWorktree(id, { batchId }));
      run.onWorktree(marked, 'removed');
      return finish(run, progress, worktree, elapsed(), {
        cleanedUp: removed.worktreeRemoved,
        ...(removed.archived ? { archiveRef: removed.archived.ref } : {}),
        archivedPaths: removed.archived?.uncommittedPaths ?? [],
        stoppedProcesses: removed.stoppedProcesses ?? [],
        branchKeptReason: removed.branchDeleted ? undefined : removed.branchKeptReason,
      });
    } catch (cleanupError) {
      // The worktree stays for cleanupAll; a task that had succeeded so far now failed at cleanup.
      if (progress.status === 'success') fail(progress, 'cleanup', cleanupError, undefined);
      // Its record says how the task ended (best effort: the removal itself just failed).
      const kept = await manager.updateStatus(worktree.id, 'failed').catch(() => undefined);
      if (kept) run.onWorktree(kept, kept.status);
      return finish(run, progress, worktree, elapsed());
    }
  } finally {
    deadline?.stop();
    run.batchSignal.removeEventListener('abort', onBatchAbort);
    span.end(progress.status, progress.error ? new Error(progress.error.message) : undefined);
  }
}

/** Runs the executor between its execute events and records its outcome on `progress`. */
async function execute(
  run: TaskRun,
  worktree: WorktreeInfo,
  progress: Progress,
  context: {
    signal: AbortSignal;
    env: Readonly<Record<string, string>>;
    span: ReturnType<typeof startTaskSpan>;
  },
): Promise<ExecutorOutcome> {
  const { manager, task, batchId } = run;
  const eventBase = {
    worktreeId: worktree.id,
    issueNumber: task.issueNumber,
    branch: worktree.branchName,
    batchId,
  };
  const execStarted = performance.now();
  manager.recordEvent({ type: 'execute-start', ...eventBase });
  const executeSpan = context.span.child('execute');
  const outcome = await settleExecutor(run.executor, run, worktree, context, (output) => {
    progress.output = output;
  });
  const classified = classify(outcome, context.signal);
  executeSpan.end(classified.error ? new Error(classified.error.message) : undefined);
  if (classified.output !== undefined) progress.output = classified.output;
  manager.recordEvent({
    type: 'execute-complete',
    ...eventBase,
    durationMs: Math.round(performance.now() - execStarted),
    success: classified.status === 'success',
    status: classified.status,
  });
  if (classified.error) {
    progress.status = classified.status;
    progress.stage = 'execute';
    progress.error = classified.error;
    // A failed or timed-out execution is an error of the run; a cancellation is the caller's choice.
    if (classified.status !== 'cancelled') {
      manager.recordEvent({
        type: 'error',
        ...eventBase,
        operation: 'execute',
        message: classified.error.message,
        ...(classified.error.code !== undefined ? { code: classified.error.code } : {}),
      });
    }
  }
  return outcome;
}

/** The one result of a task, from what `progress` recorded; records its `task-complete` event. */
function finish(
  run: TaskRun,
  progress: Progress,
  worktree: WorktreeInfo | undefined,
  durationMs: number,
  removal?: {
    cleanedUp: boolean;
    keptIdle?: boolean;
    archiveRef?: string;
    archivedPaths: readonly string[];
    stoppedProcesses?: readonly number[];
    branchKeptReason?: string | undefined;
  },
): TaskResult {
  const archivedPaths = removal?.archivedPaths ?? [];
  const unmergedPaths = archivedPaths.length > 0 ? archivedPaths : (progress.uncommitted ?? []);
  const unmergedWork: UnmergedWork | undefined =
    unmergedPaths.length > 0
      ? {
          paths: unmergedPaths,
          ...(archivedPaths.length > 0 && removal?.archiveRef ? { archiveRef: removal.archiveRef } : {}),
        }
      : undefined;
  const fields = {
    issueNumber: run.task.issueNumber,
    ...(run.task.variant !== undefined ? { variant: run.task.variant } : {}),
    worktreeId: worktree?.id ?? '',
    durationMs,
    ...(progress.output !== undefined ? { output: progress.output } : {}),
    ...(progress.resources ? { resources: progress.resources } : {}),
    ...(progress.usage ? { usage: progress.usage } : {}),
    ...(worktree
      ? {
          worktreePath: worktree.path,
          branchName: worktree.branchName,
          baseCommit: worktree.baseCommit,
          logFile: run.logFile,
        }
      : {}),
    ...(worktree?.staleBranch ? { staleBranch: worktree.staleBranch } : {}),
    ...(progress.prepare ? { prepare: progress.prepare } : {}),
    ...(progress.landing ? { landing: progress.landing } : {}),
    ...(progress.merge ? { merge: progress.merge } : {}),
    ...(progress.push ? { push: progress.push } : {}),
    ...(progress.pr ? { pr: progress.pr } : {}),
    ...(unmergedWork ? { unmergedWork } : {}),
    ...(progress.resolveAttempts ? { resolveAttempts: progress.resolveAttempts } : {}),
    ...(progress.pause ? { pause: progress.pause } : {}),
    cleanedUp: removal?.cleanedUp ?? false,
    ...(run.reuse && worktree ? { reusedWorktree: (worktree.reuses ?? 0) > 0 } : {}),
    ...(removal?.keptIdle ? { keptIdle: true } : {}),
    ...(removal?.archiveRef ? { archiveRef: removal.archiveRef } : {}),
    ...(removal?.stoppedProcesses?.length ? { stoppedProcesses: removal.stoppedProcesses } : {}),
    ...(worktree && removal?.branchKeptReason && removal.branchKeptReason !== BRANCH_GONE
      ? { keptBranch: { name: worktree.branchName, reason: removal.branchKeptReason } }
      : {}),
  };
  const result: TaskResult =
    progress.status === 'success'
      ? { ...fields, status: 'success' }
      : {
          ...fields,
          status: progress.status,
          stage: progress.stage ?? 'execute',
          error: progress.error ?? { message: progress.status },
        };
  if (worktree) {
    run.manager.recordEvent({
      type: 'task-complete',
      worktreeId: worktree.id,
      issueNumber: run.task.issueNumber,
      branch: worktree.branchName,
      batchId: run.batchId,
      durationMs,
      status: result.status,
      ...(result.stage !== undefined ? { stage: result.stage } : {}),
      ...(result.error?.code !== undefined ? { code: result.error.code } : {}),
      ...(progress.pr ? { pullRequest: progress.pr.url } : {}),
      ...taskCostFields(result),
      ...(progress.resolveAttempts?.length
        ? { conflict: result.status === 'success' ? ('resolved' as const) : ('unresolved' as const) }
        : {}),
    });
  }
  return result;
}

/** The log file's header (and its folder): the setup and the executor append below it. */
async function startLog(logFile: string, worktree: WorktreeInfo, continued: boolean): Promise<void> {
  // 0600 in a 0700 folder: command output may hold secrets.
  await openLogFile(logFile);
  await appendFile(
    logFile,
    `# miyabi-worktree: issue ${worktree.issueNumber}, worktree ${worktree.id}, branch ${worktree.branchName}\n# in ${worktree.path}${continued ? ' (kept by an earlier run, continued)' : ''}\n`,
  );
}
