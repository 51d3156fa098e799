import type { CheckFailPolicy, ConflictPolicy, TaskError, TaskStage, TaskStatus } from './types.js';

/** How a task ended, as far as keeping its worktree goes. */
export interface TaskEnding {
  readonly status: TaskStatus;
  readonly stage?: TaskStage | undefined;
  readonly error?: TaskError | undefined;
  /** Hand-back attempts made (a conflict was met even when the last merge failed otherwise). */
  readonly resolveAttempts?: number | undefined;
}

/** Whether a merge conflict (or its failed hand-back) ended the task. */
export function endedInConflict(ending: TaskEnding): boolean {
  const conflicted =
    ending.stage === 'merge' &&
    (ending.error?.code === 'MERGE_CONFLICT' || ending.error?.code === 'CONFLICT_UNRESOLVED');
  return conflicted || (ending.stage === 'merge' && (ending.resolveAttempts ?? 0) > 0);
}

/**
 * Whether a task's worktree stays after it ends, wherever the task ran: always without
 * `autoCleanup`; a conflicted task's unless `onConflict: 'remove'` (it is where the conflict is
 * resolved); a failed landing check's, given `onCheckFail`, unless `'remove'` (`land <issue>` once
 * fixed); a merge refused by the user's dirty checkout (`merge <issue>` finishes it there); a
 * usage limit past `pauseMax` (its work continues after the reset).
 */
export function keepsWorktree(
  ending: TaskEnding,
  policy: {
    readonly autoCleanup: boolean;
    readonly onConflict: ConflictPolicy;
    readonly onCheckFail?: CheckFailPolicy | undefined;
  },
): boolean {
  if (!policy.autoCleanup) return true;
  if (endedInConflict(ending) && policy.onConflict !== 'remove') return true;
  if (ending.error?.code === 'USAGE_LIMIT') return true;
  if (ending.stage === 'check' && policy.onCheckFail !== undefined && policy.onCheckFail !== 'remove')
    return true;
  return ending.stage === 'merge' && ending.error?.code === 'CHECKOUT_DIRTY';
}
