import { runGit } from '../../git/run-git.js';
import { writeArchive } from '../../git/work-snapshot.js';
import type { WorktreeManager } from '../../manager/worktree-manager.js';

/**
 * Removes a losing variant's worktree as any task's removal does (its uncommitted files archived),
 * then makes the archive hold its commits too and deletes its branch (compare-and-swap on its tip):
 * the work stays restorable (`restoreWorktree(id)` recreates the branch) and `archives` lists it,
 * while the issue's branch names stay free for the next batch.
 */
export async function archiveLoser(
  manager: WorktreeManager,
  id: string,
  batchId: string,
): Promise<{ archiveRef?: string; cleanedUp: boolean }> {
  const info = await manager.getWorktree(id);
  const removed = await manager.removeWorktree(id, { batchId });
  const cleanedUp = removed.worktreeRemoved;
  if (removed.branchDeleted)
    return { cleanedUp, ...(removed.archived ? { archiveRef: removed.archived.ref } : {}) };
  const cwd = manager.repoPath;
  const ref = `refs/heads/${info.branchName}`;
  const found = await runGit(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], {
    cwd,
    okExitCodes: [0, 1],
  });
  const tip = found.stdout.trim();
  if (found.exitCode !== 0 || tip === '')
    return { cleanedUp, ...(removed.archived ? { archiveRef: removed.archived.ref } : {}) };
  const counted = await runGit(['rev-list', '--count', tip, '--not', info.baseCommit], { cwd });
  // The removal's archive (of uncommitted files) already has the branch tip as its parent.
  const archived =
    removed.archived ??
    (await writeArchive(cwd, `${tip}^{tree}`, {
      id,
      issueNumber: info.issueNumber,
      branchName: info.branchName,
      baseBranch: info.baseBranch,
      head: tip,
      uncommittedPaths: [],
      unmergedCommits: Number(counted.stdout.trim()),
      archivedAt: new Date().toISOString(),
    }));
  await runGit(['update-ref', '-m', 'miyabi-worktree: losing variant archived', '-d', ref, tip], { cwd });
  return { cleanedUp, archiveRef: archived.ref };
}
