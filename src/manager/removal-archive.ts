import type { ArchiveInfo, WorktreeInfo } from '../core/types.js';
import { writeArchive } from '../git/work-snapshot.js';
import type { ManagerContext } from './context.js';
import type { Assessment } from './removal-assessment.js';

export function archiveRefName(id: string): string {
  return `refs/miyabi/archive/${id}`;
}

/**
 * Saves what would be lost under refs/miyabi/archive/<id>; null when nothing would be. Commits on
 * the branch need none: removal keeps a branch with unmerged commits, so it holds them. With
 * `commitsOnly` (a forced removal) the uncommitted files are left out, but commits no branch
 * contains (a detached HEAD's) are still saved: no removal drops the only ref to a commit.
 */
export async function archive(
  ctx: ManagerContext,
  record: WorktreeInfo,
  assessment: Assessment,
  options: { commitsOnly?: boolean } = {},
): Promise<ArchiveInfo | null> {
  const snapshotTree = options.commitsOnly ? undefined : assessment.snapshotTree;
  const uncommittedPaths = snapshotTree ? assessment.uncommittedPaths : [];
  const head =
    (snapshotTree ? assessment.snapshotHead : undefined) ?? assessment.worktreeHead ?? assessment.branchTip;
  // Only a detached HEAD's commits lack a kept ref (`worktreeHead` is set just for those).
  const commitsWithoutRef = assessment.worktreeHead !== undefined;
  if (!head || (!snapshotTree && !commitsWithoutRef)) return null;
  const tree = snapshotTree ?? `${head}^{tree}`;
  const { ref, commit } = await writeArchive(ctx.repo.root, tree, {
    id: record.id,
    issueNumber: record.issueNumber,
    branchName: record.branchName,
    baseBranch: record.baseBranch,
    head,
    uncommittedPaths,
    unmergedCommits: assessment.unmergedCommits,
    archivedAt: new Date().toISOString(),
  });
  return {
    ref,
    commit,
    uncommittedPaths,
    unmergedCommits: assessment.unmergedCommits,
  };
}
