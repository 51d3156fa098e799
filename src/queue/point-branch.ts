import { MiyabiError } from '../errors.js';
import { runGit } from '../git/run-git.js';
import { writeArchive } from '../git/work-snapshot.js';
import { listGitWorktrees } from '../git/worktree-list.js';
import { newWorktreeId } from '../manager/worktree-id.js';

/**
 * Points `refs/heads/<branch>` at `commit` (present here), by compare-and-swap, losing no commit:
 * a branch of that name with commits `commit` lacks is archived first (restorable, as a rerun's
 * `existingBranches: 'restart'` archives one); one checked out in some worktree is `BRANCH_IN_USE`.
 */
export async function pointBranchAt(options: {
  readonly root: string;
  readonly branch: string;
  readonly commit: string;
  readonly issueNumber: number;
  /** For the archive's record. */
  readonly baseBranch: string;
  readonly signal: AbortSignal | undefined;
}): Promise<void> {
  const { root, branch, commit, issueNumber } = options;
  const ref = `refs/heads/${branch}`;
  const found = await runGit(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], {
    cwd: root,
    okExitCodes: [0, 1],
  });
  const old = found.exitCode === 0 ? found.stdout.trim() : '';
  if (old === commit) return;
  if (old !== '') {
    const holder = (await listGitWorktrees(root)).find((entry) => entry.branch === ref);
    if (holder) {
      throw new MiyabiError(
        'BRANCH_IN_USE',
        `${branch} is checked out in ${holder.path}: it was left as it is`,
        {
          hint: `Switch ${holder.path} to another branch, then fetch ${branch} from the remote.`,
          details: { branch, path: holder.path },
        },
      );
    }
    const counted = await runGit(['rev-list', '--count', old, '--not', commit], { cwd: root });
    const unmergedCommits = Number(counted.stdout.trim());
    // Commits only this branch holds here: archived (restorable) before the branch moves.
    if (unmergedCommits > 0) {
      await writeArchive(root, `${old}^{tree}`, {
        id: newWorktreeId(issueNumber),
        issueNumber,
        branchName: branch,
        baseBranch: options.baseBranch,
        head: old,
        uncommittedPaths: [],
        unmergedCommits,
        archivedAt: new Date().toISOString(),
      });
    }
  }
  await runGit(['update-ref', '-m', 'miyabi-worktree: set a queue task branch', ref, commit, old], {
    cwd: root,
    signal: options.signal,
  });
}
