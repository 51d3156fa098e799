import type { TaskResult } from '../core/task-result.js';
import { runGit } from '../git/run-git.js';
import { listGitWorktrees } from '../git/worktree-list.js';
import { BRANCH_EXISTED } from '../manager/removal-branch-policy.js';
import type { WorktreeManager } from '../manager/worktree-manager.js';
import { readBatchRecord } from '../state/batch-records.js';

/**
 * A resumed task whose merge landed before its runner was killed at cleanup checks its branch out
 * again as one that existed, so its removal keeps it. The batch's merge intent says whether the
 * batch created that branch: then, once its tip is in the target, it is deleted (compare-and-swap on
 * that tip) and the result no longer says it was kept. A user's branch, or one with a commit the
 * target lacks, stays.
 */
export async function dropOwnMergedBranch(
  manager: WorktreeManager,
  batchId: string,
  result: TaskResult,
): Promise<TaskResult> {
  const kept = result.keptBranch;
  if (kept?.reason !== BRANCH_EXISTED) return result;
  const record = await readBatchRecord(manager.stateDir, batchId);
  const intent = record?.mergeIntents?.find(
    (i) => i.issueNumber === result.issueNumber && i.branch === kept.name && i.createdBranch === true,
  );
  if (!intent) return result;
  const cwd = manager.repoPath;
  const ref = `refs/heads/${kept.name}`;
  // A worktree that has it checked out would be left on a deleted branch.
  if ((await listGitWorktrees(cwd)).some((entry) => entry.branch === ref)) return result;
  const tip = await runGit(['rev-parse', '--verify', '-q', `${ref}^{commit}`], {
    cwd,
    okExitCodes: [0, 1, 128],
  });
  if (tip.exitCode !== 0) return result;
  const commit = tip.stdout.trim();
  const merged = await runGit(['merge-base', '--is-ancestor', commit, `refs/heads/${intent.into}`], {
    cwd,
    okExitCodes: [0, 1, 128],
  });
  if (merged.exitCode !== 0) return result;
  // Compare-and-swap: a commit made on the branch since it was read keeps it.
  const deleted = await runGit(['update-ref', '-d', ref, commit], { cwd, okExitCodes: [0, 1, 128] });
  if (deleted.exitCode !== 0) return result;
  const { keptBranch: _deleted, ...rest } = result;
  return rest as TaskResult;
}
