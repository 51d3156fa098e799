import { runGit } from '../git/run-git.js';

/** Commits a branch has that its base lacks (`ahead`), and the other way round (`behind`). */
export interface BranchDistance {
  readonly ahead: number;
  readonly behind: number;
}

/** `git rev-list --left-right --count base...branch`; undefined when either is missing. */
export async function branchDistance(
  cwd: string,
  base: string,
  branch: string,
  signal?: AbortSignal,
): Promise<BranchDistance | undefined> {
  const result = await runGit(['rev-list', '--left-right', '--count', `${base}...${branch}`, '--'], {
    cwd,
    signal,
    okExitCodes: [0, 128],
  });
  const [behind, ahead] = result.stdout.trim().split(/\s+/).map(Number);
  if (result.exitCode !== 0 || behind === undefined || ahead === undefined) return undefined;
  if (!Number.isSafeInteger(behind) || !Number.isSafeInteger(ahead)) return undefined;
  return { ahead, behind };
}

/**
 * A worktree's branch against its base branch as it is now; where that branch is gone (or was a
 * remote one), against the commit the worktree recorded as its start. Undefined without the branch.
 */
export async function distanceFromBase(
  cwd: string,
  worktree: { readonly branchName: string; readonly baseBranch: string; readonly baseCommit: string },
  signal?: AbortSignal,
): Promise<BranchDistance | undefined> {
  const branch = `refs/heads/${worktree.branchName}`;
  return (
    (await branchDistance(cwd, `refs/heads/${worktree.baseBranch}`, branch, signal)) ??
    branchDistance(cwd, worktree.baseCommit, branch, signal)
  );
}

/**
 * Estimated bytes only the archives hold: objects they reach that no branch, tag or remote branch
 * does (`git rev-list --disk-usage`, git >= 2.38), as stored (compressed, maybe packed).
 */
export async function archiveDiskUsage(cwd: string, signal?: AbortSignal): Promise<number> {
  const result = await runGit(
    [
      'rev-list',
      '--objects',
      '--disk-usage',
      '--glob=refs/miyabi/archive/*',
      '--not',
      '--branches',
      '--tags',
      '--remotes',
    ],
    { cwd, signal },
  );
  const bytes = Number(result.stdout.trim());
  return Number.isSafeInteger(bytes) ? bytes : 0;
}
