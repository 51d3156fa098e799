import type { ManagerContext } from './context.js';
import { archiveRefName } from './removal-archive.js';
import { assess, assessBranch, refuseUnarchivable } from './removal-assessment.js';
import { branchKeepReason } from './removal-branch-policy.js';
import { refuseIfBeingRemoved } from './removal-claim.js';
import type { RemoveResult, WorktreeInfo } from './types.js';

/** What `removeWorktree` would do, without changing anything (for `cleanupAll({ dryRun })`). */
export async function planRemoval(ctx: ManagerContext, record: WorktreeInfo): Promise<RemoveResult> {
  refuseIfBeingRemoved(record);
  // Taking over an interrupted removal: its archive is written, nothing more would be saved.
  const assessment = record.removal
    ? await assessBranch(ctx, record, undefined)
    : await assess(ctx, record, { snapshot: false });
  refuseUnarchivable(record, assessment);
  const wouldArchive = assessment.uncommittedPaths.length > 0 || assessment.unmergedCommits > 0;
  const keep = branchKeepReason(record, assessment);
  return {
    id: record.id,
    path: record.path,
    branchName: record.branchName,
    worktreeRemoved: false,
    branchDeleted: false,
    ...(keep ? { branchKeptReason: keep } : {}),
    archived: record.removal
      ? record.removal.archived
      : wouldArchive
        ? {
            ref: archiveRefName(record.id),
            commit: '',
            uncommittedPaths: assessment.uncommittedPaths,
            unmergedCommits: assessment.unmergedCommits,
          }
        : null,
    forced: false,
  };
}
