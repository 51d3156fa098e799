import { appendFile } from 'node:fs/promises';
import { isMiyabiError, MiyabiError, toError } from '../errors.js';
import type { GitHubClient } from '../github/client.js';
import type { PullRequestResult } from '../github/pull-request.js';
import { openWorktreePullRequest } from '../github/worktree-pull-request.js';
import { needsPreparation } from '../manager/prepare-worktree.js';
import type { MergeResult, PushResult, WorktreeInfo } from '../manager/types.js';
import type { WorktreeManager } from '../manager/worktree-manager.js';
import { worktreeEnvironment } from '../process/task-environment.js';
import type { PrepareResult, PrepareSettings } from '../setup/prepare-worktree.js';
import { openLogFile } from '../state/log-file.js';
import type { TaskStage } from '../telemetry/events.js';
import { startTaskSpan } from '../telemetry/otel-spans.js';
import type {
  ConflictPolicy,
  PoolMergeOptions,
  PoolPullRequestOptions,
  PoolPushOptions,
  ResolveAttempt,
  TaskError,
  TaskExecutor,
  TaskResult,
  TaskStatus,
  UnmergedWork,
  WorktreeTask,
} from './types.js';

/** Why a task's signal was aborted: its own timeout, or the batch (fail-fast or caller abort). */
export class TaskAbort extends Error {
  constructor(
    readonly kind: 'timeout' | 'cancelled',
    message: string,
  ) {
    super(message);
  }
}

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
  /** The pull request to open after the push, with the client made when the batch was checked. */
  readonly pullRequest:
    | { readonly options: PoolPullRequestOptions; readonly client: GitHubClient }
    | undefined;
  /** `<logDir>/<batchId>/issue-<n>.log` */
  readonly logFile: string;
  /** Called as the worktree changes hands, so the pool can report statuses. */
  readonly onWorktree: (worktree: WorktreeInfo, status: WorktreeInfo['status'] | 'removed') => void;
}

type ExecutorOutcome =
  | { kind: 'value'; value: unknown }
  | { kind: 'error'; error: unknown }
  | { kind: 'abandoned' };

/** How far a task got: filled in stage by stage, then turned into the one {@link TaskResult}. */
interface Progress {
  status: TaskStatus;
  stage?: TaskStage;
  error?: TaskError;
  output?: unknown;
  prepare?: PrepareResult;
  merge?: MergeResult;
  push?: PushResult;
  pr?: PullRequestResult;
  uncommitted?: readonly string[];
  resolveAttempts?: ResolveAttempt[];
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
  const span = startTaskSpan({
    issueNumber: task.issueNumber,
    batchId,
    ...(task.agentType ? { attributes: { 'miyabi.agent.type': task.agentType } } : {}),
  });
  const progress: Progress = { status: 'success' };
  let worktree: WorktreeInfo | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    const createSpan = span.child('create');
    try {
      worktree = await manager.createWorktree(task.issueNumber, {
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
    const env = { ...worktreeEnvironment(worktree, batchId), MIYABI_CONFLICTS: '' };
    // The budget covers everything the task does in its worktree: setup, command, merge and push.
    timer = setTimeout(
      () => controller.abort(new TaskAbort('timeout', `timed out after ${run.timeoutMs} ms`)),
      run.timeoutMs,
    );
    await startLog(run.logFile, worktree);

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
      outcome = await execute(run, worktree, progress, { signal, env, span });
    }
    if (progress.status === 'success' && run.merge) {
      await merge(run, worktree, progress, signal);
      if (isConflict(progress) && typeof run.onConflict === 'object') {
        await resolveConflict(run, worktree, progress, { signal, env, policy: run.onConflict });
      }
    }
    if (progress.status === 'success' && run.push) await push(run, worktree, progress, signal);
    if (progress.status === 'success' && run.pullRequest) {
      await pullRequest(run, worktree, progress, signal, elapsed());
    }
    clearTimeout(timer);

    const marked = await manager
      .updateStatus(worktree.id, progress.status === 'success' ? 'completed' : 'failed')
      .catch((error: unknown) => {
        if (progress.status === 'success') fail(progress, 'cleanup', error, undefined);
        return undefined;
      });
    if (marked) run.onWorktree(marked, marked.status);
    // A conflicted task keeps its worktree where the conflict can be resolved (unless asked not to).
    const metConflict = isConflict(progress) || (progress.resolveAttempts?.length ?? 0) > 0;
    const keepConflict = progress.stage === 'merge' && metConflict && run.onConflict !== 'remove';
    if (!run.autoCleanup || !marked || keepConflict) return finish(run, progress, worktree, elapsed());
    // An executor that ignored its signal may still be writing there: never delete under it.
    if (outcome?.kind === 'abandoned') {
      const message = `${progress.error?.message ?? 'abandoned'}; the executor did not stop within ${run.abortGraceMs} ms, so its worktree was kept (reclaim it with cleanupAll)`;
      progress.error = { ...progress.error, message };
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
        });
      }
      const removed = await span.step('cleanup', () => manager.removeWorktree(id, { batchId }));
      run.onWorktree(marked, 'removed');
      return finish(run, progress, worktree, elapsed(), {
        cleanedUp: removed.worktreeRemoved,
        ...(removed.archived ? { archiveRef: removed.archived.ref } : {}),
        archivedPaths: removed.archived?.uncommittedPaths ?? [],
      });
    } catch (cleanupError) {
      // The worktree stays for cleanupAll; a task that had succeeded so far now failed at cleanup.
      if (progress.status === 'success') fail(progress, 'cleanup', cleanupError, undefined);
      return finish(run, progress, worktree, elapsed());
    }
  } finally {
    clearTimeout(timer);
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

/**
 * Merges the task's branch. A branch with nothing to merge while the worktree holds changes is
 * `NOTHING_COMMITTED`: the task's work was never merged, whatever "up-to-date" suggests.
 */
async function merge(run: TaskRun, worktree: WorktreeInfo, progress: Progress, signal: AbortSignal) {
  const options = run.merge ?? {};
  try {
    const merged = await run.manager.mergeWorktree(worktree.id, { ...options, signal, batchId: run.batchId });
    progress.merge = merged;
    if (merged.status !== 'up-to-date') return;
    const paths = await run.manager.uncommittedPaths(worktree.id, { signal });
    if (paths.length === 0) return;
    progress.uncommitted = paths;
    const error = new MiyabiError(
      'NOTHING_COMMITTED',
      `nothing to merge: the task committed nothing but left ${paths.length} changed file(s) (${preview(paths)})`,
    );
    run.manager.recordEvent({
      type: 'error',
      worktreeId: worktree.id,
      issueNumber: worktree.issueNumber,
      branch: worktree.branchName,
      batchId: run.batchId,
      operation: 'merge',
      code: error.code,
      message: error.message,
    });
    fail(progress, 'merge', error, signal);
  } catch (error) {
    fail(progress, 'merge', error, signal);
  }
}

function isConflict(progress: Progress): boolean {
  return (
    progress.stage === 'merge' &&
    (progress.error?.code === 'MERGE_CONFLICT' || progress.error?.code === 'CONFLICT_UNRESOLVED')
  );
}

/**
 * Hands a merge conflict back: merges the target into the task's branch in its worktree, runs the
 * resolver there with the conflicting paths, checks the resolution is committed and marker-free,
 * and merges again — up to `attempts` times. Each attempt is recorded on the result.
 */
async function resolveConflict(
  run: TaskRun,
  worktree: WorktreeInfo,
  progress: Progress,
  context: {
    signal: AbortSignal;
    env: Readonly<Record<string, string>>;
    policy: Exclude<ConflictPolicy, 'keep' | 'remove'>;
  },
): Promise<void> {
  const { signal, policy } = context;
  const attempts: ResolveAttempt[] = [];
  progress.resolveAttempts = attempts;
  // Paths that conflicted so far: a resolver may have committed markers that a later merge calls clean.
  const seen = new Set<string>();
  for (let attempt = 1; attempt <= (policy.attempts ?? 1) && !signal.aborted; attempt++) {
    const started = performance.now();
    let conflicts: readonly string[] = [];
    try {
      const checkout = await run.manager.mergeTargetIntoWorktree(worktree.id, {
        ...(run.merge?.into !== undefined ? { into: run.merge.into } : {}),
        signal,
      });
      conflicts = checkout.conflicts;
      if (checkout.status === 'conflicted') {
        const outcome = await settleExecutor(
          policy.resolve,
          run,
          worktree,
          { signal, env: { ...context.env, MIYABI_CONFLICTS: checkout.conflictsFile }, conflicts },
          () => {},
        );
        if (outcome.kind === 'error') throw outcome.error;
        if (outcome.kind === 'abandoned' || signal.aborted)
          throw signal.reason ?? new Error('resolver abandoned');
      }
      for (const path of conflicts) seen.add(path);
      await run.manager.verifyResolution(worktree.id, { conflicts: [...seen], signal });
    } catch (error) {
      fail(progress, 'merge', error, signal);
      attempts.push(attemptOf(attempt, conflicts, started, progress.error));
      continue;
    }
    progress.status = 'success';
    progress.stage = undefined;
    progress.error = undefined;
    await merge(run, worktree, progress, signal);
    attempts.push(
      attemptOf(attempt, conflicts, started, progress.status === 'success' ? undefined : progress.error),
    );
    if (progress.status === 'success') return;
  }
}

function attemptOf(
  attempt: number,
  conflicts: readonly string[],
  started: number,
  error: TaskError | undefined,
): ResolveAttempt {
  return {
    attempt,
    conflicts,
    outcome: error ? 'failed' : 'resolved',
    durationMs: Math.round(performance.now() - started),
    ...(error ? { error } : {}),
  };
}

async function push(run: TaskRun, worktree: WorktreeInfo, progress: Progress, signal: AbortSignal) {
  try {
    progress.push = await run.manager.pushWorktree(worktree.id, {
      remote: run.push?.remote ?? 'origin',
      signal,
      batchId: run.batchId,
    });
  } catch (error) {
    fail(progress, 'push', error, signal);
  }
}

/**
 * Opens or updates the pull request of the pushed branch against the worktree's base branch: title
 * from the issue, body with `Closes #N`, the branch's commits and files, and the run's last lines.
 */
async function pullRequest(
  run: TaskRun,
  worktree: WorktreeInfo,
  progress: Progress,
  signal: AbortSignal,
  durationMs: number,
) {
  const { options, client } = run.pullRequest!;
  const { task } = run;
  try {
    const lastLines = outputLastLines(progress.output);
    progress.pr = await openWorktreePullRequest(worktree, {
      client,
      repo: options.repo,
      ...(task.context ? { issue: task.context } : {}),
      ...(task.description ? { fallbackTitle: task.description } : {}),
      ...(options.draft !== undefined ? { draft: options.draft } : {}),
      ...(options.reviewers ? { reviewers: options.reviewers } : {}),
      ...(options.labels ? { labels: options.labels } : {}),
      durationMs,
      ...(lastLines !== undefined ? { lastLines } : {}),
      signal,
    });
  } catch (error) {
    // The pull request exists even when its reviewers or labels failed: the result still names it.
    const details = isMiyabiError(error) ? error.details : undefined;
    if (details && typeof details.url === 'string' && typeof details.number === 'number') {
      progress.pr = { url: details.url, number: details.number, created: details.created === true };
    }
    fail(progress, 'pr', error, signal);
  }
}

/** `output.lastLines` when the executor's output has them (the CLI's does). */
function outputLastLines(output: unknown): string | undefined {
  if (typeof output !== 'object' || output === null || !('lastLines' in output)) return undefined;
  const lines = output.lastLines;
  return typeof lines === 'string' ? lines : Array.isArray(lines) ? lines.map(String).join('\n') : undefined;
}

/** Marks the task ended at `stage`: timed out or cancelled if its signal says so, else failed. */
function fail(progress: Progress, stage: TaskStage, error: unknown, signal: AbortSignal | undefined): void {
  progress.stage = stage;
  const reason: unknown = signal?.aborted ? signal.reason : undefined;
  if (reason instanceof TaskAbort && reason.kind === 'timeout') {
    progress.status = 'timeout';
    progress.error = { message: reason.message, code: 'TIMEOUT' };
  } else if (signal?.aborted || isMiyabiError(error, 'CANCELLED')) {
    progress.status = 'cancelled';
    progress.error = describeError(error, signal);
  } else {
    // A setup that ran out of its own budget is a timeout too.
    progress.status = isMiyabiError(error, 'TIMEOUT') ? 'timeout' : 'failed';
    progress.error = describeError(error, undefined);
  }
}

/** The one result of a task, from what `progress` recorded; records its `task-complete` event. */
function finish(
  run: TaskRun,
  progress: Progress,
  worktree: WorktreeInfo | undefined,
  durationMs: number,
  removal?: { cleanedUp: boolean; keptIdle?: boolean; archiveRef?: string; archivedPaths: readonly string[] },
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
    worktreeId: worktree?.id ?? '',
    durationMs,
    ...(progress.output !== undefined ? { output: progress.output } : {}),
    ...(worktree
      ? { worktreePath: worktree.path, branchName: worktree.branchName, logFile: run.logFile }
      : {}),
    ...(worktree?.staleBranch ? { staleBranch: worktree.staleBranch } : {}),
    ...(progress.prepare ? { prepare: progress.prepare } : {}),
    ...(progress.merge ? { merge: progress.merge } : {}),
    ...(progress.push ? { push: progress.push } : {}),
    ...(progress.pr ? { pr: progress.pr } : {}),
    ...(unmergedWork ? { unmergedWork } : {}),
    ...(progress.resolveAttempts ? { resolveAttempts: progress.resolveAttempts } : {}),
    cleanedUp: removal?.cleanedUp ?? false,
    ...(run.reuse && worktree ? { reusedWorktree: (worktree.reuses ?? 0) > 0 } : {}),
    ...(removal?.keptIdle ? { keptIdle: true } : {}),
    ...(removal?.archiveRef ? { archiveRef: removal.archiveRef } : {}),
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
      ...(progress.resolveAttempts?.length
        ? { conflict: result.status === 'success' ? ('resolved' as const) : ('unresolved' as const) }
        : {}),
    });
  }
  return result;
}

/** The log file's header (and its folder): the setup and the executor append below it. */
async function startLog(logFile: string, worktree: WorktreeInfo): Promise<void> {
  // 0600 in a 0700 folder: command output may hold secrets.
  await openLogFile(logFile);
  await appendFile(
    logFile,
    `# miyabi-worktree: issue ${worktree.issueNumber}, worktree ${worktree.id}, branch ${worktree.branchName}\n# in ${worktree.path}\n`,
  );
}

/** Runs the executor; once the signal aborts it gets `abortGraceMs` to settle, then it is abandoned. */
async function settleExecutor(
  executor: TaskExecutor,
  run: TaskRun,
  worktree: WorktreeInfo,
  context: {
    signal: AbortSignal;
    env: Readonly<Record<string, string>>;
    conflicts?: readonly string[];
  },
  setOutput: (output: unknown) => void,
): Promise<ExecutorOutcome> {
  const { signal } = context;
  const execution: Promise<ExecutorOutcome> = Promise.resolve()
    .then(() =>
      executor(worktree, run.task, {
        signal,
        worktree,
        task: run.task,
        batchId: run.batchId,
        timeoutMs: run.timeoutMs,
        logFile: run.logFile,
        env: context.env,
        conflicts: context.conflicts ?? [],
        setOutput,
      }),
    )
    .then(
      (value): ExecutorOutcome => ({ kind: 'value', value }),
      (error: unknown): ExecutorOutcome => ({ kind: 'error', error }),
    );
  let graceTimer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const abandoned = new Promise<ExecutorOutcome>((resolve) => {
    onAbort = () => {
      graceTimer = setTimeout(() => resolve({ kind: 'abandoned' }), run.abortGraceMs);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([execution, abandoned]);
  } finally {
    clearTimeout(graceTimer);
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

function classify(
  outcome: ExecutorOutcome,
  signal: AbortSignal,
): { status: TaskStatus; error?: TaskError; output?: unknown } {
  if (signal.aborted) {
    // Whatever the executor did after its signal aborted, the abort decides the outcome.
    const reason = signal.reason;
    if (reason instanceof TaskAbort && reason.kind === 'timeout') {
      return { status: 'timeout', error: { message: reason.message, code: 'TIMEOUT' } };
    }
    return { status: 'cancelled', error: { message: abortMessage(reason), code: 'CANCELLED' } };
  }
  if (outcome.kind === 'value') return { status: 'success', output: outcome.value };
  if (outcome.kind === 'error') return { status: 'failed', error: describeError(outcome.error, undefined) };
  return { status: 'failed', error: { message: 'executor was abandoned' } };
}

function abortMessage(reason: unknown): string {
  if (reason instanceof Error) return reason.message;
  return reason === undefined ? 'aborted' : String(reason);
}

function preview(paths: readonly string[]): string {
  return paths.length > 3 ? `${paths.slice(0, 3).join(', ')}, …` : paths.join(', ');
}

/** A thrown value (of any type) as plain data; conflicting paths of a `MERGE_CONFLICT` included. */
export function describeError(error: unknown, signal: AbortSignal | undefined): TaskError {
  if (signal?.aborted && !(isMiyabiError(error) && error.code !== 'CANCELLED')) {
    return { message: abortMessage(signal.reason), code: 'CANCELLED' };
  }
  const err = toError(error);
  if (err instanceof MiyabiError) {
    return {
      message: err.message,
      code: err.code,
      hint: err.hint,
      ...(err.conflicts ? { conflicts: err.conflicts.map((conflict) => conflict.path) } : {}),
    };
  }
  const code = (err as { code?: unknown }).code;
  return { message: err.message, ...(typeof code === 'string' ? { code } : {}) };
}
