import { writeArchive } from '../git/work-snapshot.js';
import type { ManagerContext } from './context.js';
import type { Assessment } from './removal-assessment.js';
import type { ArchiveInfo, WorktreeInfo } from './types.js';

export function archiveRefName(id: string): string {
  return `refs/miyabi/archive/${id}`;
}

/** Saves what would be lost under refs/miyabi/archive/<id>; null when nothing would be. */
export async function archive(
  ctx: ManagerContext,
  record: WorktreeInfo,
  assessment: Assessment,
): Promise<ArchiveInfo | null> {
  const head = assessment.snapshotHead ?? assessment.worktreeHead ?? assessment.branchTip;
  if (!head || (!assessment.snapshotTree && assessment.unmergedCommits === 0)) return null;
  const tree = assessment.snapshotTree ?? `${head}^{tree}`;
  const { ref, commit } = await writeArchive(ctx.repo.root, tree, {
    id: record.id,
    issueNumber: record.issueNumber,
    branchName: record.branchName,
    baseBranch: record.baseBranch,
    head,
    uncommittedPaths: assessment.uncommittedPaths,
    unmergedCommits: assessment.unmergedCommits,
    archivedAt: new Date().toISOString(),
  });
  return {
    ref,
    commit,
    uncommittedPaths: assessment.uncommittedPaths,
    unmergedCommits: assessment.unmergedCommits,
  };
}
