import { isMiyabiError, MiyabiError } from '../errors.js';
import { type MergeBranchOptions, type MergeStrategy, moveTarget, planMerge, readTips } from './merge.js';
import { runGit } from './run-git.js';

/** What landing `source` into `into` would make the target: built, not yet moved to. */
export interface Candidate {
  /** The target's tip the candidate was built on. */
  readonly target: string;
  readonly source: string;
  readonly status: 'up-to-date' | 'merged' | 'fast-forwarded';
  /** The commit the target would take (the target's tip when up to date). */
  readonly commit: string;
}

/**
 * The landing candidate exactly as `mergeBranch` would make it (a merge commit on the target's
 * current tip, or the fast-forward), without moving anything.
 */
export async function buildCandidate(options: MergeBranchOptions): Promise<Candidate> {
  const strategy: MergeStrategy = options.strategy ?? 'merge';
  const { target, source } = await readTips(options);
  const plan = await planMerge(options, strategy, target, source);
  return plan.status === 'up-to-date'
    ? { target, source, status: 'up-to-date', commit: target }
    : { target, source, status: plan.status, commit: plan.commit };
}

/**
 * Several branches' candidates built one on top of the other, each exactly as `mergeBranch` would
 * land it onto the one before (the first onto the target's current tip): the last link's commit is
 * what the target would take. Each of `merges` names one source; `into` and `strategy` are the same.
 *
 * @throws TakenOut with the index of a branch that conflicts there, adds nothing or cannot
 * fast-forward: it lands alone later.
 */
export async function buildChain(merges: readonly MergeBranchOptions[]): Promise<Candidate[]> {
  const links: Candidate[] = [];
  let tip: string | undefined;
  for (const [index, options] of merges.entries()) {
    const strategy: MergeStrategy = options.strategy ?? 'merge';
    try {
      const tips = await readTips(options);
      const target = tip ?? tips.target;
      const plan = await planMerge(options, strategy, target, tips.source);
      if (plan.status === 'up-to-date') throw new MiyabiError('INVALID_ARGUMENT', 'adds nothing here');
      links.push({ target, source: tips.source, status: plan.status, commit: plan.commit });
      tip = plan.commit;
    } catch (error) {
      if (!isMiyabiError(error) || !['MERGE_CONFLICT', 'INVALID_ARGUMENT'].includes(error.code)) throw error;
      throw new TakenOut(index, error);
    }
  }
  return links;
}

/** A branch that cannot land inside a batch (a conflict with one before it): it lands alone later. */
export class TakenOut extends Error {
  constructor(
    readonly index: number,
    override readonly cause: unknown,
  ) {
    super(`landing ${index} taken out of the batch`);
  }
}

/**
 * Moves the target from `old` to exactly `next` (compare-and-swap; the user's checkout of it is
 * fast-forwarded under the merge's rules, `CHECKOUT_DIRTY` refusing). `ok: false` when it moved.
 */
export function swapTarget(
  options: MergeBranchOptions,
  old: string,
  next: string,
): Promise<{ ok: true; checkout: string | null } | { ok: false }> {
  return options.withLock(() => moveTarget(options, old, next));
}

/** Paths that differ between two commits. */
export async function changedPaths(
  cwd: string,
  from: string,
  to: string,
  signal?: AbortSignal,
): Promise<string[]> {
  const { stdout } = await runGit(['diff-tree', '-r', '--name-only', '--no-commit-id', '-z', from, to], {
    cwd,
    signal,
  });
  return stdout.split('\0').filter(Boolean);
}
