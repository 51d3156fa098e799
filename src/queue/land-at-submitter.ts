import { open } from 'node:fs/promises';
import type { WorktreeInfo } from '../core/types.js';
import { MiyabiError } from '../errors.js';
import { runGit } from '../git/run-git.js';
import { needsPreparation } from '../manager/prepare-worktree.js';
import type { WorktreeManager } from '../manager/worktree-manager.js';
import { failedAt } from '../pool/ended-early.js';
import { endedInConflict, keepsWorktree } from '../pool/keep-policy.js';
import { isCheckFailure, type LandingSettings, land } from '../pool/land.js';
import { attemptOf } from '../pool/resolve-conflict.js';
import { describeError, fail, type Progress } from '../pool/task-outcome.js';
import type { ConflictPolicy, PoolMergeOptions, ResolveAttempt, TaskResult } from '../pool/types.js';
import type { PrepareSettings } from '../setup/prepare-worktree.js';
import { commandOf } from './command-executor.js';
import { fetchTaskCommit } from './fetch-task-branch.js';
import type { QueueHandBack } from './hand-back.js';
import { recordKeptLog } from './keep-at-submitter.js';
import { QUEUE_PAYLOAD_VERSION } from './payload.js';
import { pointBranchAt } from './point-branch.js';
import { ensureBaseOnRemote } from './remote-git.js';

/** The most of a failing check's output a hand-back job carries to its worker (its end). */
export const CHECK_LOG_TRAVELS_BYTES = 256 * 1024;

/**
 * One git step of a batch's landings here at a time: a `git fetch` reads every worktree's admin
 * folder, and fails on one another landing's `worktree remove` is deleting at that moment.
 */
export type GitTurn = <T>(step: () => Promise<T>) => Promise<T>;

/** A batch's {@link GitTurn}: its steps run in the order they asked. */
export function gitTurns(): GitTurn {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(step: () => Promise<T>): Promise<T> => {
    const mine = tail.then(step, step);
    tail = mine.catch(() => undefined);
    return mine;
  };
}

/** What the queue runner lends a task's landing here. */
export interface SubmitterLanding {
  readonly manager: WorktreeManager;
  /** The queue's remote, where the worker pushed the task's branch. */
  readonly remote: string;
  readonly batchId: string;
  /** The task's base branch here (the landing worktree's record names it). */
  readonly baseBranch: string;
  /** The pool's `merge` (absent with `push`/`pullRequest` only: the candidate is checked, nothing moves). */
  readonly merge: PoolMergeOptions | undefined;
  /** The pool's `check` and `onCheckFail`. */
  readonly landing: LandingSettings;
  /** The pool's resolved `prepare`: the landing worktree here is prepared as a task's (none with `--no-setup`). */
  readonly prepare: Required<PrepareSettings>;
  /** The task's log here: the check's output is appended to it, as a local task's. */
  readonly logFile: string;
  readonly signal: AbortSignal;
  /** How a failing check is handed back (`onCheckFail: { fix }`): a job on a worker. */
  readonly handBack: QueueHandBack;
  /** The pool's: false keeps every landing worktree here (a failed check's is kept unless `'remove'`). */
  readonly autoCleanup: boolean;
  /** The pool's: a landing that conflicts is left to it (`afterRemoteTask`). */
  readonly onConflict: ConflictPolicy;
  /** The batch's: its landings' fetches and worktree adds and removals, one at a time. */
  readonly gitTurn: GitTurn;
}

/**
 * A queue task's landing with a check, here (issue 23 item 7): its pushed commit fetched, a worktree
 * of its branch made (and prepared) here, then the pool's own landing (`land`: candidate on the
 * target's current tip, check, compare-and-swap) through the manager's landing queue, as a local
 * task's. A failing check with `onCheckFail: { fix }` is handed back as a job on a worker (the
 * target merged into the branch there, the check's output with it), then landed here again — up to
 * the attempts, shared with conflicts'. The landing worktree is then kept as a local task's would
 * be (a failed check, `autoCleanup: false`), else removed; a conflict goes on as a plain merge's.
 */
export async function landAtSubmitter(done: TaskResult, at: SubmitterLanding): Promise<TaskResult> {
  if (done.status !== 'success') return done;
  const { manager, signal } = at;
  const branch = done.branchName;
  let pushed = done.push?.commit;
  if (!branch || !pushed) {
    if (!at.merge) return done;
    const error = new MiyabiError('NOTHING_COMMITTED', 'the worker pushed no branch to merge');
    return failedAt(done, 'failed', 'merge', describeError(error, signal));
  }
  const progress: Progress = {
    status: 'success',
    ...(done.resolveAttempts ? { resolveAttempts: [...done.resolveAttempts] } : {}),
  };
  let worktree: WorktreeInfo | undefined;
  try {
    worktree = await landingWorktree(done, branch, pushed, at);
    const run = {
      manager,
      landing: at.landing,
      merge: at.merge,
      push: undefined,
      prepare: at.prepare,
      logFile: at.logFile,
      batchId: at.batchId,
    };
    const context = { signal, env: { MIYABI_CONFLICTS: '' } };
    await land(run, worktree, progress, context);
    const policy = at.landing.onCheckFail;
    const fix = typeof policy === 'object' ? commandOf(policy.fix) : undefined;
    const attempts: ResolveAttempt[] = progress.resolveAttempts ?? [];
    const allowed = typeof policy === 'object' ? (policy.attempts ?? 1) : 0;
    // As a local hand-back: a failed fix is an attempt too, and the next one gets the same check log.
    let handing = isCheckFailure(progress);
    const checkLog = () => progress.landing?.lastCheck?.checkLog;
    while (fix && handing && attempts.length < allowed && !signal.aborted) {
      progress.resolveAttempts = attempts;
      const started = performance.now();
      const back = await handCheckBack(at, branch, pushed, fix, checkLog());
      if (back.status !== 'success' || !back.push) {
        progress.status = back.status === 'success' ? 'failed' : back.status;
        progress.stage = 'merge';
        progress.error = back.error ?? { message: 'the fix pushed no branch', code: 'NOTHING_COMMITTED' };
        attempts.push(attemptOf(attempts.length + 1, [], started, progress.error));
        continue;
      }
      pushed = back.push.commit;
      await followFix(manager, worktree, branch, pushed, at);
      progress.status = 'success';
      progress.stage = undefined;
      progress.error = undefined;
      await land(run, worktree, progress, context);
      attempts.push(attemptOf(attempts.length + 1, [], started, progress.error));
      handing = isCheckFailure(progress);
    }
  } catch (error) {
    fail(progress, 'merge', error, signal);
  }
  const result = landed(done, progress, pushed);
  if (!worktree) return result;
  const ending = { ...result, resolveAttempts: result.resolveAttempts?.length };
  // A conflict goes on as a plain merge's does (afterRemoteTask: hand-back, or kept there).
  if (!endedInConflict(ending) && keepsWorktree(ending, { ...at, onCheckFail: at.landing.onCheckFail })) {
    return keepLandingWorktree(result, worktree, at);
  }
  // Nothing of the task's is only here: its branch is on the remote (and in the target once landed).
  await at.gitTurn(() => dropLandingWorktree(manager, worktree, pushed, at.batchId));
  return result;
}

/**
 * The landing worktree kept as a local task's (a failed check: `land <issue>` once fixed there;
 * `autoCleanup: false`), on its branch, with its task log record.
 */
async function keepLandingWorktree(
  result: TaskResult,
  worktree: WorktreeInfo,
  at: SubmitterLanding,
): Promise<TaskResult> {
  const { manager } = at;
  try {
    const kept = await manager.updateStatus(
      worktree.id,
      result.status === 'success' ? 'completed' : 'failed',
    );
    const final = {
      ...result,
      worktreeId: kept.id,
      worktreePath: kept.path,
      logFile: at.logFile,
      cleanedUp: false,
    };
    // Best effort, as a local task's log record: only `logs` would miss it.
    await recordKeptLog(manager.stateDir, kept, final, at).catch(() => {});
    return final;
  } catch (error) {
    if (result.status !== 'success') return result;
    return failedAt(result, 'failed', 'cleanup', describeError(error, at.signal));
  }
}

/** The task's branch here at its pushed commit, a worktree of it, prepared as a task's would be. */
async function landingWorktree(
  done: TaskResult,
  branch: string,
  commit: string,
  at: SubmitterLanding,
): Promise<WorktreeInfo> {
  const { manager, signal } = at;
  const worktree = await at.gitTurn(async () => {
    await fetchTaskCommit({ root: manager.repoPath, remote: at.remote, branch, commit, signal });
    await pointBranchAt({
      root: manager.repoPath,
      branch,
      commit,
      issueNumber: done.issueNumber,
      baseBranch: at.baseBranch,
      signal,
    });
    return manager.createWorktree(done.issueNumber, {
      branchName: branch,
      baseBranch: at.baseBranch,
      existingBranch: 'reuse',
      batchId: at.batchId,
      signal,
    });
  });
  // The check needs what the setup makes (dependencies): it ran on the worker, not here.
  if (needsPreparation(manager.repoPath, at.prepare)) {
    await manager.prepareWorktree(worktree.id, {
      ...at.prepare,
      signal,
      batchId: at.batchId,
      logFile: at.logFile,
    });
  }
  return worktree;
}

/**
 * One hand-back of a failing check: the target's tip (pushed where workers fetch it) and the
 * check's output travel in a job on a worker, which merges the target into the task's branch, runs
 * the fix there with `MIYABI_CHECK_LOG`, and pushes the branch.
 */
async function handCheckBack(
  at: SubmitterLanding,
  branch: string,
  branchCommit: string,
  fix: readonly string[],
  checkLogFile: string | undefined,
): Promise<TaskResult> {
  const root = at.manager.repoPath;
  const into = at.handBack.into;
  const tip = await runGit(['rev-parse', '--verify', `refs/heads/${into}^{commit}`], {
    cwd: root,
    signal: at.signal,
  });
  const targetSha = tip.stdout.trim();
  const { payload } = at.handBack;
  await at.gitTurn(() => ensureBaseOnRemote(root, at.remote, targetSha, payload.batchId, at.signal));
  const checkLog = await tailOf(checkLogFile);
  return at.handBack.run({
    ...payload,
    v: QUEUE_PAYLOAD_VERSION,
    branchName: branch,
    argv: [...fix],
    handBack: { branchCommit, targetSha, into, attempts: 1, checkLog },
  });
}

/** The landing worktree's branch moved on to the fix the worker pushed (a descendant: nothing lost). */
async function followFix(
  manager: WorktreeManager,
  worktree: WorktreeInfo,
  branch: string,
  commit: string,
  at: SubmitterLanding,
): Promise<void> {
  await at.gitTurn(() =>
    fetchTaskCommit({ root: manager.repoPath, remote: at.remote, branch, commit, signal: at.signal }),
  );
  await runGit(['merge', '-q', '--ff-only', commit], { cwd: worktree.path, signal: at.signal });
}

/**
 * The landing worktree removed, and the task's branch here with it (the remote-tracking branch holds
 * its commit, and the target too once landed): a queue batch leaves no task branch here unless kept.
 */
async function dropLandingWorktree(
  manager: WorktreeManager,
  worktree: WorktreeInfo,
  pushed: string,
  batchId: string,
): Promise<void> {
  const removed = await manager.removeWorktree(worktree.id, { batchId }).catch(() => undefined);
  if (!removed?.worktreeRemoved || removed.branchDeleted) return;
  // Compare-and-swap: only while it still points where this landing left it.
  await runGit(['update-ref', '-d', `refs/heads/${worktree.branchName}`, pushed], {
    cwd: manager.repoPath,
    okExitCodes: [0, 1, 128],
  }).catch(() => undefined);
}

/** The end of a check's log (what a worker's agent reads), or a line saying there is none. */
async function tailOf(file: string | undefined): Promise<string> {
  if (!file) return 'the check left no output\n';
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, CHECK_LOG_TRAVELS_BYTES);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    return buffer.toString('utf8');
  } finally {
    await handle.close();
  }
}

/** The worker's result with the landing here on it (its own worktree, output and log stay). */
function landed(done: TaskResult, progress: Progress, pushed: string): TaskResult {
  const push = done.push && pushed !== done.push.commit ? { ...done.push, commit: pushed } : done.push;
  const { stage: _s, error: _e, ...rest } = done as TaskResult & { stage?: unknown; error?: unknown };
  const fields = {
    ...rest,
    ...(push ? { push } : {}),
    ...(progress.landing ? { landing: progress.landing } : {}),
    ...(progress.merge ? { merge: progress.merge } : {}),
    ...(progress.resolveAttempts ? { resolveAttempts: progress.resolveAttempts } : {}),
    ...(progress.uncommitted ? { uncommitted: progress.uncommitted } : {}),
  };
  if (progress.status === 'success') return { ...fields, status: 'success' } as TaskResult;
  return {
    ...fields,
    status: progress.status,
    stage: progress.stage ?? 'merge',
    error: progress.error ?? { message: 'the landing failed' },
  } as TaskResult;
}
