import type { WorktreeInfo } from '../core/types.js';
import { runGit } from '../git/run-git.js';
import { updateKeptBranches } from '../state/kept-branches.js';
import type { ManagerContext } from './context.js';
import type { Assessment } from './removal-assessment.js';

/** The kept reason when there was no branch to delete: nothing is kept then. */
export const BRANCH_GONE = 'the branch no longer exists';

/** The kept reason of a branch the worktree checked out rather than created. */
export const BRANCH_EXISTED = 'the branch existed before this worktree';

/** What removal does with the branch: delete it, or keep it and say why (a dry run reports this). */
export function branchDecision(
  record: WorktreeInfo,
  assessment: Assessment,
  deleteBranch: boolean,
): { branchDeleted: boolean; branchKeptReason?: string } {
  // An idle reusable worktree is detached: it has no branch to keep or delete.
  if (record.branchName === '') return { branchDeleted: false };
  if (!assessment.branchTip) return { branchDeleted: false, branchKeptReason: BRANCH_GONE };
  const keep = deleteBranch ? branchKeepReason(record, assessment) : 'deleteBranch is false';
  return keep ? { branchDeleted: false, branchKeptReason: keep } : { branchDeleted: true };
}

/**
 * Deletes the branch when nothing on it would be lost, else keeps it and says why. `force` has no
 * say here: a branch the user had before, or whose tip nothing else contains, is always kept.
 */
export async function settleBranch(
  ctx: ManagerContext,
  record: WorktreeInfo,
  assessment: Assessment,
  options: { deleteBranch: boolean },
): Promise<{ branchDeleted: boolean; branchKeptReason?: string }> {
  const decision = branchDecision(record, assessment, options.deleteBranch);
  if (!decision.branchDeleted && options.deleteBranch && !record.reusedBranch) {
    // Ours, kept only for its commits: `cleanupAll({ merged })` deletes it once they are merged.
    if (assessment.branchTip && assessment.branchUnmergedCommits > 0) await rememberKeptBranch(ctx, record);
  }
  if (!decision.branchDeleted || !assessment.branchTip) return decision;
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

async function rememberKeptBranch(ctx: ManagerContext, record: WorktreeInfo): Promise<void> {
  const entry = { name: record.branchName, baseBranch: record.baseBranch, keptAt: new Date().toISOString() };
  await updateKeptBranches(ctx.repo.stateDir, (branches) => [
    ...branches.filter((branch) => branch.name !== entry.name),
    entry,
  ]);
}

/** Why the branch must stay, whatever the caller asked: it was not ours, or holds the only ref to commits. */
export function branchKeepReason(record: WorktreeInfo, assessment: Assessment): string | undefined {
  if (record.reusedBranch) return BRANCH_EXISTED;
  if (assessment.branchUnmergedCommits > 0) {
    return `${assessment.branchUnmergedCommits} commit(s) are in neither ${record.baseBranch} nor any remote branch`;
  }
  return undefined;
}
