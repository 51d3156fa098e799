import type { Landing } from '../core/task-result.js';
import type { WorktreeInfo } from '../core/types.js';
import { isMiyabiError } from '../errors.js';
import { TakenOut } from '../git/land-candidate.js';
import { runGit } from '../git/run-git.js';
import { resolveCheck } from '../process/check-command.js';
import type { CheckRun } from '../setup/run-check.js';
import type { ManagerContext } from './context.js';
import type { LandResult, LandWorktreeOptions } from './land-worktree.js';
import { type QueuedLanding, waitedFor } from './landing-queue.js';

/** The branches that land in the same move as a turn's own, before it, in order of readiness. */
export interface Together {
  readonly ahead: readonly {
    readonly record: WorktreeInfo;
    readonly options: LandWorktreeOptions;
    readonly waitedMs: number;
  }[];
}

/** A run of the check that failed on a tree, in the worktree of the batch's last branch. */
export interface KnownFailure {
  readonly tree: string;
  readonly run: CheckRun;
}

/** One turn of the landing queue: `record`'s branch alone, or with `together`. */
export type LandInTurn = (
  ctx: ManagerContext,
  record: WorktreeInfo,
  into: string,
  waitedMs: number,
  options: LandWorktreeOptions,
  together?: Together,
  known?: KnownFailure,
) => Promise<{ host: LandResult; ahead: readonly LandResult[] }>;

/** The tree of a commit. */
export async function treeOf(ctx: ManagerContext, commit: string): Promise<string> {
  const { stdout } = await runGit(['rev-parse', `${commit}^{tree}`], { cwd: ctx.repo.root });
  return stdout.trim();
}

interface Member extends QueuedLanding {
  readonly record: WorktreeInfo;
  readonly options: LandWorktreeOptions;
  readonly resolve: (result: LandResult) => void;
  readonly reject: (error: unknown) => void;
  /** Runs of the check on batches it was in that failed, and their time: part of its landing. */
  checks: number;
  checkMs: number;
  /** The last failing run of a batch it was the last of. */
  known?: KnownFailure;
}

/**
 * Queues a landing into `into`; with `check.batch` above 1 its turn may take the landings with the
 * same settings waiting behind it (see {@link landGroup}). Resolves with its own result.
 */
export function joinLanding(
  ctx: ManagerContext,
  request: { readonly record: WorktreeInfo; readonly into: string; readonly options: LandWorktreeOptions },
  landInTurn: LandInTurn,
): Promise<LandResult> {
  const { record, into, options } = request;
  const batch = batchOf(ctx, options);
  // Checked together only what lands the same way; a check-only or pushed landing goes alone.
  const key =
    batch > 1 && !options.checkOnly && !options.pushTarget
      ? JSON.stringify([
          options.check ?? ctx.config.config.check,
          options.strategy ?? 'merge',
          options.message ?? null,
          options.batchId ?? null,
          options.setupInputs ?? null,
        ])
      : undefined;
  return new Promise<LandResult>((resolve, reject) => {
    const member: Member = {
      key,
      batch,
      queued: performance.now(),
      record,
      options,
      resolve,
      reject,
      checks: 0,
      checkMs: 0,
      land: (group) => landGroup(ctx, into, group as Member[], landInTurn),
      fail: reject,
    };
    ctx.landings.join(into, member);
  });
}

function batchOf(ctx: ManagerContext, options: LandWorktreeOptions): number {
  try {
    return resolveCheck(options.check ?? ctx.config.config.check)?.batch ?? 1;
  } catch {
    // The turn refuses the malformed check itself, alone.
    return 1;
  }
}

/**
 * Lands a group as merge queues do: all of it checked in one run on top of the target; when that
 * fails, the first half is landed the same way, then the second (known to fail as a whole when the
 * first half landed whole, so split without a run), until the culprit is alone and fails exactly as
 * a landing alone does. A branch that cannot join the others is taken out: it lands alone next.
 */
async function landGroup(
  ctx: ManagerContext,
  into: string,
  group: Member[],
  landInTurn: LandInTurn,
): Promise<Member[]> {
  const later: Member[] = [];

  const alone = async (member: Member, known?: KnownFailure): Promise<boolean> => {
    try {
      const { host } = await landInTurn(
        ctx,
        member.record,
        into,
        waitedFor(member),
        member.options,
        undefined,
        known,
      );
      member.resolve(withEarlierChecks(host, member));
      return true;
    } catch (error) {
      member.reject(withEarlierChecksOnError(error, member));
      return false;
    }
  };

  // All of `members` in one move: 'landed', 'failed' (the check), or 'apart' (each lands alone).
  const together = async (members: Member[]): Promise<'landed' | 'failed' | 'apart'> => {
    const host = members[members.length - 1] as Member;
    const ahead = members.slice(0, -1);
    try {
      const landed = await landInTurn(ctx, host.record, into, waitedFor(host), host.options, {
        ahead: ahead.map((member) => ({
          record: member.record,
          options: member.options,
          waitedMs: waitedFor(member),
        })),
      });
      host.resolve(withEarlierChecks(landed.host, host));
      for (const [index, result] of landed.ahead.entries()) {
        const member = ahead[index] as Member;
        member.resolve(withEarlierChecks(result, member));
      }
      return 'landed';
    } catch (error) {
      if (error instanceof TakenOut) {
        later.push(...members.splice(error.index, 1));
        return 'apart';
      }
      if (isMiyabiError(error, 'CHECK_FAILED')) {
        const run = error.details?.landing as Landing | undefined;
        for (const member of members) {
          member.checks += run?.checks ?? 1;
          member.checkMs += run?.checkMs ?? 0;
        }
        const last = run?.lastCheck;
        host.known =
          last && run
            ? { tree: await treeOf(ctx, run.candidate), run: { ...last, durationMs: 0 } }
            : undefined;
        return 'failed';
      }
      // Anything else (a dirty checkout of the target, an abort): each meets it alone, as its own.
      later.push(...members.splice(0));
      return 'apart';
    }
  };

  // True when every one of `members` landed (so a later half on top is exactly what failed).
  const decide = async (members: Member[], knownFailing: boolean): Promise<boolean> => {
    let whole = true;
    if (!knownFailing) {
      for (;;) {
        if (members.length === 0) return whole;
        if (members.length === 1) return (await alone(members[0] as Member)) && whole;
        const outcome = await together(members);
        if (outcome === 'landed') return whole;
        if (outcome === 'failed') break;
        whole = false;
      }
    } else if (members.length === 1) {
      // On top of the half before it, it is exactly the batch that failed: that run's verdict (its
      // tree compared first: a target moved by someone else makes it run the check again).
      const member = members[0] as Member;
      return alone(member, member.known);
    }
    const half = Math.ceil(members.length / 2);
    const first = await decide(members.slice(0, half), false);
    const second = await decide(members.slice(half), first);
    return whole && first && second;
  };

  await decide([...group], false);
  return later;
}

/** Its result with the runs of failed batches it was in counted (`checks`, `checkMs`). */
function withEarlierChecks(result: LandResult, member: Member): LandResult {
  if (member.checks === 0) return result;
  return {
    ...result,
    landing: {
      ...result.landing,
      checks: result.landing.checks + member.checks,
      checkMs: result.landing.checkMs + member.checkMs,
    },
  };
}

function withEarlierChecksOnError(error: unknown, member: Member): unknown {
  const landing = isMiyabiError(error) ? (error.details?.landing as Landing | undefined) : undefined;
  if (!landing || member.checks === 0 || !isMiyabiError(error)) return error;
  // The details are the error's own, built for this one failure: counted in place.
  (error.details as Record<string, unknown>).landing = {
    ...landing,
    checks: landing.checks + member.checks,
    checkMs: landing.checkMs + member.checkMs,
  };
  return error;
}
