import type { RemoveResult, WorktreeInfo } from '../core/types.js';
import { findTaskProcesses } from '../process/task-processes.js';
import type { ManagerContext } from './context.js';
import { archiveRefName } from './removal-archive.js';
import { assess, assessBranch } from './removal-assessment.js';
import { branchDecision } from './removal-branch-policy.js';
import { refuseIfBeingRemoved } from './removal-claim.js';
import { readEntryLock, refuseForeign, refuseLocked, refuseUnarchivable } from './removal-refusals.js';

/**
 * What `removeWorktree` would do, without changing anything (for `cleanupAll({ dryRun })`): the
 * same refusals, the same branch decision, the same archive, and the processes it would stop.
 */
export async function planRemoval(
  ctx: ManagerContext,
  record: WorktreeInfo,
  options: { deleteBranch?: boolean } = {},
): Promise<RemoveResult> {
  refuseIfBeingRemoved(record);
  const lock = await readEntryLock(ctx, record);
  refuseForeign(ctx, record, lock);
  refuseLocked(record, lock, false);
  // Taking over an interrupted removal: its archive is written, nothing more would be saved.
  const assessment = record.removal
    ? await assessBranch(ctx, record, undefined)
    : await assess(ctx, record, { snapshot: false });
  if (!record.removal) refuseUnarchivable(record, assessment);
  const wouldArchive = assessment.uncommittedPaths.length > 0 || assessment.unmergedCommits > 0;
  const wouldStop = findTaskProcesses(record.id).map((p) => p.pid);
  return {
    id: record.id,
    path: record.path,
    branchName: record.branchName,
    worktreeRemoved: false,
    ...branchDecision(record, assessment, options.deleteBranch ?? true),
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
    ...(wouldStop.length > 0 ? { stoppedProcesses: [...new Set(wouldStop)].sort((a, b) => a - b) } : {}),
  };
}
