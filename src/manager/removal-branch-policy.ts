import { runGit } from '../git/run-git.js';
import type { ManagerContext } from './context.js';
import type { Assessment } from './removal-assessment.js';
import type { ArchiveInfo, WorktreeInfo } from './types.js';

/** Deletes the branch when nothing on it would be lost, else keeps it and says why. */
export async function settleBranch(
  ctx: ManagerContext,
  record: WorktreeInfo,
  assessment: Assessment,
  options: { deleteBranch: boolean; force: boolean; archived: ArchiveInfo | null },
): Promise<{ branchDeleted: boolean; branchKeptReason?: string }> {
  if (!assessment.branchTip) return { branchDeleted: false, branchKeptReason: 'the branch no longer exists' };
  const keep = options.deleteBranch
    ? branchKeepReason(record, assessment, !options.force)
    : 'deleteBranch is false';
  if (keep) return { branchDeleted: false, branchKeptReason: keep };
  // Compare-and-swap: a commit made since the assessment keeps the branch.
  const deleted = await runGit(
    ['update-ref', '-d', `refs/heads/${record.branchName}`, assessment.branchTip],
    {
      cwd: ctx.repo.root,
    },
  ).then(
    () => true,
    () => false,
  );
  return deleted
    ? { branchDeleted: true }
    : { branchDeleted: false, branchKeptReason: 'the branch moved during removal' };
}

export function branchKeepReason(
  record: WorktreeInfo,
  assessment: Assessment,
  safe: boolean,
): string | undefined {
  if (!safe) return undefined;
  if (record.reusedBranch) return 'the branch existed before this worktree';
  if (assessment.branchUnmergedCommits > 0) {
    return `${assessment.branchUnmergedCommits} commit(s) are in neither ${record.baseBranch} nor any remote branch`;
  }
  return undefined;
}
