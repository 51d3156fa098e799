import type { Landing } from '../../core/task-result.js';
import type { MergeResult } from '../../core/types.js';
import type { VariantDecision, VariantOutcome } from '../../core/variant.js';
import { variantWords } from '../../core/variant-words.js';
import { isMiyabiError } from '../../errors.js';
import type { WorktreeManager } from '../../manager/worktree-manager.js';
import type { CheckSpec } from '../../process/check-command.js';
import type { PrepareSettings } from '../../setup/prepare-worktree.js';
import { fail, type Progress } from '../task-outcome.js';
import type { PoolMergeOptions, TaskResult } from '../types.js';
import { archiveLoser } from './archive-loser.js';
import type { Judgement } from './judge-attempt.js';

/** One ended attempt of an issue with its verdict. */
export interface JudgedAttempt {
  readonly variant: number;
  readonly name: string;
  readonly result: TaskResult;
  readonly judgement: Judgement;
  /** Order in which the attempts ended (the last tie-break: earlier wins). */
  readonly endedAt: number;
}

export interface IssueSettings {
  readonly manager: WorktreeManager;
  readonly batchId: string;
  readonly merge: PoolMergeOptions | undefined;
  readonly check: CheckSpec | undefined;
  readonly score: CheckSpec | undefined;
  readonly prepare: Required<PrepareSettings>;
  readonly autoCleanup: boolean;
  readonly signal: AbortSignal;
  /** Resumed: the branch whose merge already landed before a kill (it wins, and is not landed again). */
  readonly landed?: string;
  /** Before a candidate's merge moves its target (its worktree id): the batch record's merge intent. */
  readonly onLanding?: (worktreeId: string) => Promise<void>;
}

/** Whether an attempt may win: its command succeeded and the gate (if any) passed. */
export function passed(attempt: JudgedAttempt): boolean {
  return attempt.result.status === 'success' && attempt.judgement.checkPassed !== false;
}

/**
 * The order in which an issue's passing attempts are tried: by score (higher first; none is
 * lowest), then fewer changed lines, then earlier finish. With no check and no score: the first to succeed.
 */
export function rank(attempts: readonly JudgedAttempt[], decidedBy: VariantDecision): JudgedAttempt[] {
  const passing = attempts.filter(passed);
  if (decidedBy === 'first-success') return passing.sort((a, b) => a.endedAt - b.endedAt);
  return passing.sort(
    (a, b) =>
      (b.judgement.score ?? -1) - (a.judgement.score ?? -1) ||
      (a.judgement.changedLines ?? Number.POSITIVE_INFINITY) -
        (b.judgement.changedLines ?? Number.POSITIVE_INFINITY) ||
      a.endedAt - b.endedAt,
  );
}

/**
 * Settles an issue once all its attempts ended: the best-ranked lands (with `merge`: through the
 * landing, checked on the moved target when there is a check), else the next; then every attempt's
 * worktree is removed as any task's (the losers' work archived) or kept without `autoCleanup`.
 * Returns the issue's one result: the winner's, with the scoreboard.
 */
export async function settleIssue(
  attempts: readonly JudgedAttempt[],
  settings: IssueSettings,
  started: number,
): Promise<TaskResult> {
  const decidedBy: VariantDecision = settings.score ? 'score' : settings.check ? 'check' : 'first-success';
  const landingErrors = new Map<number, Progress>();
  let winner: JudgedAttempt | undefined;
  let landed: Progress | undefined;
  const already = attempts.find(
    (attempt) => settings.landed !== undefined && attempt.result.branchName === settings.landed,
  );
  for (const candidate of already ? [already] : rank(attempts, decidedBy)) {
    const progress: Progress =
      candidate === already ? { status: 'success' } : await landAttempt(candidate, settings);
    if (progress.status === 'success') {
      winner = candidate;
      landed = progress;
      break;
    }
    landingErrors.set(candidate.variant, progress);
    if (settings.signal.aborted) break;
  }
  const removals = new Map<number, { archiveRef?: string; cleanedUp: boolean }>();
  for (const attempt of attempts) {
    removals.set(attempt.variant, await cleanUp(attempt, attempt !== winner, settings));
  }
  const board: VariantOutcome[] = attempts.map((attempt) =>
    outcome(attempt, attempt === winner, landingErrors.get(attempt.variant), removals.get(attempt.variant)),
  );
  return issueResult(attempts, board, { winner, landed, landingErrors, removals, decidedBy, started });
}

/** Lands one candidate (or, without `merge`, takes it as it is). */
async function landAttempt(attempt: JudgedAttempt, settings: IssueSettings): Promise<Progress> {
  const progress: Progress = { status: 'success' };
  const { result } = attempt;
  if (!settings.merge) return progress;
  const { signal } = settings;
  const options = { ...settings.merge, batchId: settings.batchId, signal };
  try {
    await settings.onLanding?.(result.worktreeId);
    if (settings.check) {
      const done = await settings.manager.landWorktree(result.worktreeId, {
        ...options,
        check: settings.check,
        prepare: settings.prepare,
        env: { MIYABI_VARIANT: String(attempt.variant), MIYABI_VARIANT_NAME: attempt.name },
        ...(result.logFile ? { logFile: result.logFile } : {}),
      });
      progress.landing = done.landing;
      progress.merge = done.merge;
    } else {
      progress.merge = await settings.manager.mergeWorktree(result.worktreeId, options);
    }
  } catch (error) {
    const details = isMiyabiError(error) ? error.details : undefined;
    const failed = details?.landing as Landing | undefined;
    if (failed) progress.landing = failed;
    fail(progress, isMiyabiError(error, 'CHECK_FAILED') ? 'check' : 'merge', error, signal);
  }
  return progress;
}

/** Removes an attempt's kept worktree as any task's removal does (a loser's commits archived too), unless kept. */
async function cleanUp(
  attempt: JudgedAttempt,
  lost: boolean,
  settings: IssueSettings,
): Promise<{ archiveRef?: string; cleanedUp: boolean }> {
  const id = attempt.result.worktreeId;
  if (id === '' || !settings.autoCleanup) return { cleanedUp: false };
  try {
    if (lost) return await archiveLoser(settings.manager, id, settings.batchId);
    const removed = await settings.manager.removeWorktree(id, { batchId: settings.batchId });
    return {
      cleanedUp: removed.worktreeRemoved,
      ...(removed.archived ? { archiveRef: removed.archived.ref } : {}),
    };
  } catch {
    // Left for cleanup, as a task whose removal failed: its record still names it.
    await settings.manager.updateStatus(id, 'failed').catch(() => undefined);
    return { cleanedUp: false };
  }
}

function outcome(
  attempt: JudgedAttempt,
  won: boolean,
  landing: Progress | undefined,
  removal: { archiveRef?: string; cleanedUp: boolean } | undefined,
): VariantOutcome {
  const { result, judgement } = attempt;
  const error =
    landing?.error ?? judgement.checkError ?? (result.status === 'success' ? undefined : result.error);
  const stage =
    landing?.stage ??
    (judgement.checkPassed === false ? 'check' : result.status === 'success' ? undefined : result.stage);
  return {
    variant: attempt.variant,
    name: attempt.name,
    branch: result.branchName ?? '',
    worktreeId: result.worktreeId,
    status: result.status,
    ...(stage ? { stage } : {}),
    ...(judgement.checkPassed !== undefined ? { checkPassed: judgement.checkPassed } : {}),
    ...(judgement.score !== undefined ? { score: judgement.score } : {}),
    ...(judgement.changedLines !== undefined ? { changedLines: judgement.changedLines } : {}),
    durationMs: result.durationMs,
    ...(result.worker ? { worker: result.worker } : {}),
    ...(error ? { error: { message: error.message, ...(error.code ? { code: error.code } : {}) } } : {}),
    ...(result.logFile ? { logFile: result.logFile } : {}),
    ...(removal?.archiveRef ? { archiveRef: removal.archiveRef } : {}),
    won,
  };
}

/** The issue's one result: the winner's (landed), else the failure of the best it had. */
function issueResult(
  attempts: readonly JudgedAttempt[],
  board: readonly VariantOutcome[],
  settled: {
    winner: JudgedAttempt | undefined;
    landed: Progress | undefined;
    landingErrors: ReadonlyMap<number, Progress>;
    removals: ReadonlyMap<number, { archiveRef?: string; cleanedUp: boolean }>;
    decidedBy: VariantDecision;
    started: number;
  },
): TaskResult {
  const { winner, landed } = settled;
  const lead = winner ?? attempts.find(passed) ?? attempts[0];
  const {
    variant: _variant,
    status: _status,
    stage: _stage,
    error: _error,
    ...fields
  } = lead?.result ?? ({ issueNumber: 0, worktreeId: '', durationMs: 0, cleanedUp: false } as TaskResult);
  const removal = lead ? settled.removals.get(lead.variant) : undefined;
  const common = {
    ...fields,
    durationMs:
      Math.max(...attempts.map((a) => a.result.durationMs)) + Math.round(performance.now() - settled.started),
    ...(landed?.merge ? { merge: landed.merge as MergeResult } : {}),
    ...(landed?.landing ? { landing: landed.landing } : {}),
    cleanedUp: removal?.cleanedUp ?? false,
    ...(removal?.archiveRef ? { archiveRef: removal.archiveRef } : {}),
    variants: board,
    ...(winner ? { winner: winner.variant } : {}),
    decidedBy: settled.decidedBy,
  };
  if (winner) return { ...common, status: 'success' };
  const tried = lead ? settled.landingErrors.get(lead.variant) : undefined;
  if (tried?.error) {
    return {
      ...common,
      status: tried.status === 'success' ? 'failed' : tried.status,
      stage: tried.stage ?? 'merge',
      error: tried.error,
    };
  }
  const cancelled = attempts.every((a) => a.result.status === 'cancelled');
  const gateFailed = attempts.some((a) => a.judgement.checkPassed === false);
  const why = board.map((entry) => `v${entry.variant} ${variantWords(entry)}`).join(' · ');
  return {
    ...common,
    status: cancelled ? 'cancelled' : 'failed',
    stage: gateFailed ? 'check' : (attempts[0]?.result.stage ?? 'execute'),
    error: {
      message: `no variant of issue ${lead?.result.issueNumber ?? ''} passed: ${why}`,
      code: gateFailed ? 'CHECK_FAILED' : (attempts[0]?.result.error?.code ?? 'COMMAND_FAILED'),
    },
  };
}
