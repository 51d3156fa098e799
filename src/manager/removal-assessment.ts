import { existsSync } from 'node:fs';
import type { WorktreeInfo } from '../core/types.js';
import { isInterruptedCheckout } from '../git/interrupted-checkout.js';
import { unarchivableRepositories } from '../git/nested-repositories.js';
import { runGit } from '../git/run-git.js';
import { countUnmergedCommits, readWorktreeState, snapshotWorktree } from '../git/work-snapshot.js';
import type { ManagerContext } from './context.js';

/** What removing a worktree would lose, measured before anything is touched. */
export interface Assessment {
  readonly folderExists: boolean;
  readonly branchTip: string | undefined;
  /** Commits on the branch itself that neither the base nor a remote has. */
  readonly branchUnmergedCommits: number;
  /** Those plus commits only the worktree's detached HEAD reaches. */
  readonly unmergedCommits: number;
  readonly uncommittedPaths: readonly string[];
  /** The tree of the uncommitted state (only when there is some and we are not dry-running). */
  readonly snapshotTree: string | undefined;
  /** The worktree's HEAD when the snapshot was taken (the agent may have moved it off the branch). */
  readonly snapshotHead: string | undefined;
  /** The worktree's HEAD when it is off the branch with commits nothing else keeps. */
  readonly worktreeHead: string | undefined;
  /** Repositories inside it whose work an archive cannot hold ("path: why"). */
  readonly unarchivable: readonly string[];
}

/** What a takeover needs to settle the branch: its tip and unmerged commits (the files may be gone). */
export async function assessBranch(
  ctx: ManagerContext,
  record: WorktreeInfo,
  signal: AbortSignal | undefined,
  known: { tip?: string | undefined } = {},
): Promise<Assessment> {
  const branchTip = known.tip ?? (await readBranchTip(ctx, record.branchName));
  const baseRefs = [`refs/heads/${record.baseBranch}`, record.baseCommit];
  const unmerged =
    branchTip && branchTip !== record.baseCommit
      ? await countUnmergedCommits(ctx.repo.root, `refs/heads/${record.branchName}`, baseRefs, { signal })
      : 0;
  return {
    folderExists: existsSync(record.path),
    branchTip,
    branchUnmergedCommits: unmerged,
    unmergedCommits: unmerged,
    worktreeHead: undefined,
    unarchivable: [],
    uncommittedPaths: [],
    snapshotTree: undefined,
    snapshotHead: undefined,
  };
}

export async function assess(
  ctx: ManagerContext,
  record: WorktreeInfo,
  options: { snapshot: boolean; signal?: AbortSignal | undefined },
): Promise<Assessment> {
  const folderExists = existsSync(record.path);
  // One `git status` gives HEAD, branch and the dirty paths.
  const read = folderExists ? await readWorktreeState(record.path, options.signal) : undefined;
  // A checkout killed midway lists every file as changed, yet holds nothing but part of HEAD.
  const state =
    read && (await isInterruptedCheckout(record.path, read, options.signal))
      ? { ...read, uncommittedPaths: [], nestedRepositories: [] }
      : read;
  const onBranch = state?.branch === record.branchName;
  const branchTip = state?.head && onBranch ? state.head : await readBranchTip(ctx, record.branchName);
  // The base commit too: the base branch may be gone, or have been a remote one.
  const baseRefs = [`refs/heads/${record.baseBranch}`, record.baseCommit];
  const { signal } = options;
  const [unmergedCommits, detachedCommits, snapshot] = await Promise.all([
    // A branch still at its start commit holds nothing new: skip the rev-list.
    branchTip && branchTip !== record.baseCommit
      ? countUnmergedCommits(ctx.repo.root, `refs/heads/${record.branchName}`, baseRefs, { signal })
      : 0,
    // An agent that detached HEAD (or switched away) may have commits that only this worktree's
    // HEAD reaches: its reflog goes with the worktree, so they count as unmerged too.
    state?.head && !onBranch && state.head !== branchTip
      ? countUnmergedCommits(ctx.repo.root, state.head, baseRefs, { signal, otherBranches: true })
      : 0,
    state && options.snapshot
      ? snapshotWorktree(record.path, { signal, state, unbornParent: branchTip ?? record.baseCommit })
      : null,
  ]);
  const unarchivable = state ? await unarchivableRepositories(record.path, state, signal) : [];
  return {
    folderExists,
    branchTip,
    branchUnmergedCommits: unmergedCommits,
    unmergedCommits: unmergedCommits + detachedCommits,
    worktreeHead: detachedCommits > 0 ? state?.head : undefined,
    unarchivable,
    uncommittedPaths: state?.uncommittedPaths ?? [],
    snapshotTree: snapshot?.tree,
    snapshotHead: snapshot?.head,
  };
}

export async function readBranchTip(ctx: ManagerContext, branchName: string): Promise<string | undefined> {
  const tip = await runGit(['rev-parse', '--verify', '--quiet', `refs/heads/${branchName}^{commit}`], {
    cwd: ctx.repo.root,
    okExitCodes: [0, 1],
  });
  return tip.exitCode === 0 ? tip.stdout.trim() : undefined;
}
