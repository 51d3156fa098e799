import type { Landing } from '../core/task-result.js';
import type { MergeResult, WorktreeInfo } from '../core/types.js';
import { isMiyabiError } from '../errors.js';
import type { CheckSpec } from '../process/check-command.js';
import { isConflict, refuseNothingCommitted } from './follow-ups.js';
import { handBack } from './resolve-conflict.js';
import type { TaskRun } from './run-task.js';
import { fail, type Progress } from './task-outcome.js';
import type { CheckFailPolicy } from './types.js';
import type { ResolvedPoolConfig } from './worktree-pool.js';

/** A batch's landing settings (pool options `check`, `onCheckFail`). */
export interface LandingSettings {
  readonly check: CheckSpec;
  readonly onCheckFail: CheckFailPolicy;
}

/** A batch's landing settings from its resolved options: none without a check. Local and queue batches alike. */
export function landingSettings(
  config: Pick<ResolvedPoolConfig, 'check' | 'onCheckFail'>,
): LandingSettings | undefined {
  return config.check ? { check: config.check, onCheckFail: config.onCheckFail } : undefined;
}

/**
 * The landing of a successful task (instead of the plain merge): check, then compare-and-swap
 * (`landWorktree`); a conflict or a failing check handed back when the pool says so. Runs under
 * the batch's signal only: waiting and checking do not count against the task's `timeout`.
 */
export async function landTask(
  run: TaskRun,
  worktree: WorktreeInfo,
  progress: Progress,
  context: {
    signal: AbortSignal;
    env: Readonly<Record<string, string>>;
    span?: { child(step: 'check'): { end(error?: unknown): void } };
  },
): Promise<void> {
  const landing = run.landing as LandingSettings;
  run.onLanding?.(true);
  // `miyabi.task.check`: the landing, from its wait in the queue to the target's move (or the failure).
  const span = context.span?.child('check');
  try {
    const retry = () => land(run, worktree, progress, context);
    await retry();
    if (isConflict(progress) && typeof run.onConflict === 'object') {
      await handBack(run, worktree, progress, { ...context, policy: run.onConflict, retry });
    } else if (isCheckFailure(progress) && typeof landing.onCheckFail === 'object') {
      const { fix, attempts } = landing.onCheckFail;
      await handBack(run, worktree, progress, {
        ...context,
        policy: { resolve: fix, ...(attempts !== undefined ? { attempts } : {}) },
        retry,
        checkLog: progress.landing?.lastCheck?.checkLog,
      });
    }
  } finally {
    span?.end(
      progress.status === 'success' ? undefined : new Error(progress.error?.message ?? progress.status),
    );
    run.onLanding?.(false);
  }
}

/** What one landing attempt needs of a task's run (a queue task's at its submitter too). */
export type LandRun = Pick<
  TaskRun,
  'manager' | 'landing' | 'merge' | 'push' | 'prepare' | 'logFile' | 'batchId' | 'onCheck'
>;

/** One landing attempt, recorded on `progress` (`landing`, and `merge` when it landed). */
export async function land(
  run: LandRun,
  worktree: WorktreeInfo,
  progress: Progress,
  context: { signal: AbortSignal; env: Readonly<Record<string, string>> },
): Promise<void> {
  const { signal } = context;
  const landing = run.landing as LandingSettings;
  const previous = progress.landing;
  try {
    const landed = await run.manager.landWorktree(worktree.id, {
      ...run.merge,
      // Without merge (push, pull request): the candidate is checked, no branch moves.
      ...(run.merge ? {} : { checkOnly: true }),
      // With merge and push: the landed target goes to the remote too.
      ...(run.merge && run.push ? { pushTarget: { remote: run.push.remote ?? 'origin' } } : {}),
      check: landing.check,
      // The batch's setup (none with --no-setup) is what runs again when a lockfile changes.
      prepare: run.prepare,
      env: context.env,
      logFile: run.logFile,
      batchId: run.batchId,
      signal,
      ...(run.onCheck ? { onCheck: (candidate) => run.onCheck?.(worktree, candidate) } : {}),
    });
    progress.landing = accumulate(previous, landed.landing);
    if (!run.merge) return;
    progress.merge = landed.merge;
    if (landed.merge.status === 'up-to-date') await refuseNothingCommitted(run, worktree, progress, signal);
  } catch (error) {
    const details = isMiyabiError(error) ? error.details : undefined;
    const landed = details?.landed as { merge: MergeResult; landing: Landing } | undefined;
    if (landed) {
      // Landed here, checked; only the push of the target failed.
      progress.landing = accumulate(previous, landed.landing);
      progress.merge = landed.merge;
      fail(progress, 'push', error, signal);
      return;
    }
    const failed = details?.landing as Landing | undefined;
    if (failed) progress.landing = accumulate(previous, failed);
    fail(progress, isMiyabiError(error, 'CHECK_FAILED') ? 'check' : 'merge', error, signal);
  }
}

/** A retried landing counts every check and all the time since the first. */
function accumulate(previous: Landing | undefined, next: Landing): Landing {
  if (!previous) return next;
  return {
    ...next,
    targetBefore: previous.targetBefore,
    checks: previous.checks + next.checks,
    checkMs: previous.checkMs + next.checkMs,
    waitedMs: previous.waitedMs + next.waitedMs,
  };
}

export function isCheckFailure(progress: Progress): boolean {
  return progress.stage === 'check' && progress.error?.code === 'CHECK_FAILED';
}
