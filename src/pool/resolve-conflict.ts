import type { WorktreeInfo } from '../core/types.js';
import { merge } from './follow-ups.js';
import type { TaskRun } from './run-task.js';
import { settleExecutor } from './settle-executor.js';
import { fail, type Progress } from './task-outcome.js';
import type { ConflictPolicy, ResolveAttempt, TaskError } from './types.js';

/** Hands a merge conflict back (see {@link handBack}), then merges again. */
export function resolveConflict(
  run: TaskRun,
  worktree: WorktreeInfo,
  progress: Progress,
  context: {
    signal: AbortSignal;
    env: Readonly<Record<string, string>>;
    policy: Exclude<ConflictPolicy, 'keep' | 'remove'>;
  },
): Promise<void> {
  return handBack(run, worktree, progress, {
    ...context,
    retry: () => merge(run, worktree, progress, context.signal),
  });
}

/**
 * The one hand-back, for conflicts and failing checks: merges the target into the task's branch in
 * its worktree, runs the executor there (with the conflicting paths, and `MIYABI_CHECK_LOG` after a
 * failing check; without either it has nothing to do), checks the result is committed and
 * marker-free, then `retry` (the merge, or the landing) — up to `attempts` times, shared by both
 * kinds. Each attempt is recorded on the result.
 */
export async function handBack(
  run: TaskRun,
  worktree: WorktreeInfo,
  progress: Progress,
  context: {
    signal: AbortSignal;
    env: Readonly<Record<string, string>>;
    policy: Exclude<ConflictPolicy, 'keep' | 'remove'>;
    retry: () => Promise<void>;
    /** Set after a failing check: the file holding its output. */
    checkLog?: string | undefined;
  },
): Promise<void> {
  const { signal, policy } = context;
  const attempts: ResolveAttempt[] = progress.resolveAttempts ?? [];
  progress.resolveAttempts = attempts;
  let checkLog = context.checkLog;
  // Paths that conflicted so far: a resolver may have committed markers that a later merge calls clean.
  const seen = new Set<string>();
  for (let attempt = attempts.length + 1; attempt <= (policy.attempts ?? 1) && !signal.aborted; attempt++) {
    const started = performance.now();
    let conflicts: readonly string[] = [];
    try {
      const checkout = await run.manager.mergeTargetIntoWorktree(worktree.id, {
        ...(run.merge?.into !== undefined ? { into: run.merge.into } : {}),
        signal,
      });
      conflicts = checkout.conflicts;
      if (checkout.status === 'conflicted' || checkLog !== undefined) {
        const env = {
          ...context.env,
          MIYABI_CONFLICTS: checkout.status === 'conflicted' ? checkout.conflictsFile : '',
          ...(checkLog !== undefined ? { MIYABI_CHECK_LOG: checkLog } : {}),
        };
        const outcome = await settleExecutor(
          policy.resolve,
          run,
          worktree,
          { signal, env, conflicts },
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
    await context.retry();
    checkLog = progress.stage === 'check' ? progress.landing?.lastCheck?.checkLog : undefined;
    attempts.push(
      attemptOf(attempt, conflicts, started, progress.status === 'success' ? undefined : progress.error),
    );
    if (progress.status === 'success') return;
  }
}

export function attemptOf(
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
