import type { Landing } from '../core/task-result.js';
import type { WorktreeInfo } from '../core/types.js';
import { isMiyabiError } from '../errors.js';
import { TakenOut } from '../git/land-candidate.js';
import { runGit } from '../git/run-git.js';
import { resolveCheck } from '../process/check-command.js';
import type { CheckRun } from '../setup/run-check.js';
import type { ManagerContext } from './context.js';
import type { LandResult, LandWorktreeOptions } from './land-worktree.js';
import { type LeftOver, type QueuedLanding, waitedFor } from './landing-queue.js';

/**
 * Prefixes of a failing batch checked at the same time, each in its last branch's worktree: a batch
 * of up to this many + 1 finds its culprit in one more round (more: a few rounds, k-ary).
 */
export const PARALLEL_PREFIX_CHECKS = 3;

/** The branches that land in the same move as a turn's own, before it, in order of readiness. */
export interface Together {
  readonly ahead: readonly {
    readonly record: WorktreeInfo;
    readonly options: LandWorktreeOptions;
    readonly waitedMs: number;
  }[];
}

/**
 * A run of the check on a tree, in the worktree of the batch's (or prefix's) last branch: a failing
 * one is the culprit's verdict, a passing one lets that tree land without a run of its own.
 */
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
 * fails, prefixes of it are checked at the same time (see {@link splitAtCulprit}): the longest
 * passing one lands without another run, the branch after it fails with its prefix's run as its
 * verdict (exactly what it is alone on top of the target then), and the rest is left for the next
 * turn. A branch that cannot join the others is taken out: it lands alone next.
 */
async function landGroup(
  ctx: ManagerContext,
  into: string,
  group: Member[],
  landInTurn: LandInTurn,
): Promise<LeftOver> {
  const later: Member[] = [];
  const again: Member[] = [];

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
  const together = async (
    members: Member[],
    known?: KnownFailure,
  ): Promise<'landed' | 'failed' | 'apart'> => {
    const host = members[members.length - 1] as Member;
    const ahead = members.slice(0, -1);
    try {
      const landed = await landInTurn(
        ctx,
        host.record,
        into,
        waitedFor(host),
        host.options,
        {
          ahead: ahead.map((member) => ({
            record: member.record,
            options: member.options,
            waitedMs: waitedFor(member),
          })),
        },
        known,
      );
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
  // `split`: find the culprit by checking prefixes at the same time (the group's first failure only).
  const decide = async (members: Member[], knownFailing: boolean, split = false): Promise<boolean> => {
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
      if (split) return settleFailed(members);
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

  // A group whose whole chain failed on top of the target: its culprit found by prefixes checked at
  // the same time; what follows the culprit is left for the next turn.
  const settleFailed = async (members: Member[]): Promise<boolean> => {
    const found = await splitAtCulprit(ctx, into, members, landInTurn);
    if (!found) {
      const half = Math.ceil(members.length / 2);
      const first = await decide(members.slice(0, half), false);
      return (await decide(members.slice(half), first)) && first;
    }
    const { passing, culprit, rest } = found;
    // The passing prefix's run was on this very chain: it lands without another (its tree is
    // compared first: a target moved by someone else makes it run the check again).
    const host = passing[passing.length - 1];
    if (host && (await together(passing, host.known)) !== 'landed') {
      // Not landed after all (the target moved, a conflict): what is left goes to the next turn.
      again.push(...passing, culprit, ...rest);
      return false;
    }
    await alone(culprit, culprit.known);
    again.push(...rest);
    return false;
  };

  // The queue hands up to TURN_BATCHES batches: the first is decided; the next is checked at the same
  // time on top of the first's chain (speculative, as merge queues do) and lands on that run when the
  // first landed whole (its tree compared: on anything else it is checked again, or waits its turn).
  const batch = group[0]?.batch ?? 1;
  const first = group.slice(0, batch);
  const next = group.slice(batch);
  // Counted on the next batch only: the first's landing never waits for it.
  const speculation =
    next.length > 0 ? checkChain(ctx, into, [...first, ...next], landInTurn, next) : undefined;
  const landedWhole = await decide(first, false, true);
  const verdict = await speculation;
  const host = next[next.length - 1];
  if (!host) return { alone: later, again };
  if (!landedWhole || verdict === undefined) again.push(...next);
  else if (verdict) {
    if ((await together(next, host.known)) !== 'landed') again.push(...next);
  } else await settleFailed(next);
  return { alone: later, again };
}

/**
 * Checks the chain of `members` (each merged onto the one before, the first onto the target's tip) in
 * its last branch's worktree without moving anything: the run is remembered on that branch (`known`)
 * and counted on every branch it held (or on `counted`). Undefined when it could not be built or
 * checked (a conflict, an abort).
 */
async function checkChain(
  ctx: ManagerContext,
  into: string,
  members: Member[],
  landInTurn: LandInTurn,
  counted: readonly Member[] = members,
): Promise<boolean | undefined> {
  const host = members[members.length - 1] as Member;
  const remember = async (run: Landing | undefined) => {
    for (const member of counted) {
      member.checks += run?.checks ?? 1;
      member.checkMs += run?.checkMs ?? 0;
    }
    const last = run?.lastCheck;
    host.known =
      last && run ? { tree: await treeOf(ctx, run.candidate), run: { ...last, durationMs: 0 } } : undefined;
  };
  try {
    const { host: result } = await landInTurn(
      ctx,
      host.record,
      into,
      waitedFor(host),
      { ...host.options, checkOnly: true },
      {
        ahead: members.slice(0, -1).map((member) => ({
          record: member.record,
          options: member.options,
          waitedMs: waitedFor(member),
        })),
      },
    );
    await remember(result.landing);
    return true;
  } catch (error) {
    if (!isMiyabiError(error, 'CHECK_FAILED')) return undefined;
    await remember(error.details?.landing as Landing | undefined);
    return false;
  }
}

/**
 * The culprit of a batch whose whole chain failed: prefixes of the chain checked at the same time
 * (up to {@link PARALLEL_PREFIX_CHECKS} a round), each in its last branch's worktree, until a passing
 * prefix (or none) is followed by a branch whose prefix failed. Each run is remembered on its last
 * branch (`known`) and counted on every branch it held. Undefined when a prefix could not be built
 * or checked (a conflict, an abort): the caller bisects one run at a time.
 */
async function splitAtCulprit(
  ctx: ManagerContext,
  into: string,
  members: Member[],
  landInTurn: LandInTurn,
): Promise<{ passing: Member[]; culprit: Member; rest: Member[] } | undefined> {
  // Prefix lengths: `low` passed (0: the target itself), `high` failed (the whole batch at first).
  let low = 0;
  let high = members.length;
  while (high - low > 1) {
    const gap = high - low;
    const count = Math.min(PARALLEL_PREFIX_CHECKS, gap - 1);
    const lengths = Array.from({ length: count }, (_, i) => low + Math.round(((i + 1) * gap) / (count + 1)));
    const verdicts = await Promise.all(
      lengths.map((length) => checkChain(ctx, into, members.slice(0, length), landInTurn)),
    );
    if (verdicts.some((verdict) => verdict === undefined)) return undefined;
    const failing = verdicts.indexOf(false);
    if (failing === -1) low = lengths[count - 1] as number;
    else {
      high = lengths[failing] as number;
      if (failing > 0) low = lengths[failing - 1] as number;
    }
  }
  return {
    passing: members.slice(0, low),
    culprit: members[low] as Member,
    rest: members.slice(high),
  };
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
