import { appendFile } from 'node:fs/promises';
import type { WorktreeInfo } from '../core/types.js';
import { MiyabiError } from '../errors.js';
import { runGit } from '../git/run-git.js';
import { writeArchive } from '../git/work-snapshot.js';
import { listGitWorktrees } from '../git/worktree-list.js';
import { newWorktreeId } from '../manager/worktree-id.js';
import type { WorktreeManager } from '../manager/worktree-manager.js';
import { closingLine } from '../pool/closing-line.js';
import type { TaskResult } from '../pool/types.js';
import { openLogFile } from '../state/log-file.js';
import { recordTaskEnd, recordTaskStart } from '../state/task-log-records.js';

export interface KeepAtSubmitter {
  readonly manager: WorktreeManager;
  readonly batchId: string;
  /** The task's base branch here (the worktree's record names it). */
  readonly baseBranch: string;
  /** The pushed commit of the task's branch, already fetched here. */
  readonly commit: string;
  /** The task's log here (`<logDir>/<batch>/issue-<n>.log`): `logs <issue>` reads it. */
  readonly logFile: string;
  readonly signal: AbortSignal | undefined;
}

/**
 * Keeps a queue task here as a local batch keeps one: its branch (`feature/issue-N`) set to the
 * commit the worker pushed, a worktree of this manager on it with the status the task ended with
 * (`completed` or `failed`), and a task log record, so `merge`, `resolve`, `logs`, `path`, `list`
 * and `cleanup` find it. A local branch of that name with commits the pushed one lacks is archived
 * first (as a rerun's `existingBranches: 'restart'` does); one checked out elsewhere is refused.
 */
export async function keepAtSubmitter(result: TaskResult, keep: KeepAtSubmitter): Promise<WorktreeInfo> {
  const { manager } = keep;
  const branch = result.branchName;
  if (!branch) throw new MiyabiError('NOT_FOUND', 'the worker reported no task branch to keep');
  await setBranch(manager, branch, result.issueNumber, keep);
  const created = await manager.createWorktree(result.issueNumber, {
    branchName: branch,
    baseBranch: keep.baseBranch,
    existingBranch: 'reuse',
    batchId: keep.batchId,
    ...(keep.signal ? { signal: keep.signal } : {}),
  });
  return manager.updateStatus(created.id, result.status === 'success' ? 'completed' : 'failed');
}

/** Points `refs/heads/<branch>` at the pushed commit, by compare-and-swap, losing no local commit. */
async function setBranch(
  manager: WorktreeManager,
  branch: string,
  issueNumber: number,
  keep: KeepAtSubmitter,
): Promise<void> {
  const root = manager.repoPath;
  const ref = `refs/heads/${branch}`;
  const found = await runGit(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], {
    cwd: root,
    okExitCodes: [0, 1],
  });
  const old = found.exitCode === 0 ? found.stdout.trim() : '';
  if (old === keep.commit) return;
  if (old !== '') {
    const holder = (await listGitWorktrees(root)).find((entry) => entry.branch === ref);
    if (holder) {
      throw new MiyabiError(
        'BRANCH_IN_USE',
        `${branch} is checked out in ${holder.path}: the task was not kept here`,
        {
          hint: `Switch ${holder.path} to another branch, then fetch ${branch} from the remote.`,
          details: { branch, path: holder.path },
        },
      );
    }
    const counted = await runGit(['rev-list', '--count', old, '--not', keep.commit], { cwd: root });
    const unmergedCommits = Number(counted.stdout.trim());
    // Commits only this branch holds here: archived (restorable) before the branch moves.
    if (unmergedCommits > 0) {
      await writeArchive(root, `${old}^{tree}`, {
        id: newWorktreeId(issueNumber),
        issueNumber,
        branchName: branch,
        baseBranch: keep.baseBranch,
        head: old,
        uncommittedPaths: [],
        unmergedCommits,
        archivedAt: new Date().toISOString(),
      });
    }
  }
  await runGit(['update-ref', '-m', 'miyabi-worktree: keep a queue task here', ref, keep.commit, old], {
    cwd: root,
    signal: keep.signal,
  });
}

/**
 * The task's log here says where it is kept and how it ended (`result`, the final one), and its
 * record makes `logs <issue>` and a later `merge <issue>` (which settles the batch record) find it.
 */
export async function recordKeptLog(
  stateDir: string,
  kept: WorktreeInfo,
  result: TaskResult,
  keep: Pick<KeepAtSubmitter, 'batchId' | 'logFile'>,
): Promise<void> {
  await openLogFile(keep.logFile);
  const worker = result.worker ? ` on worker ${result.worker}` : '';
  await appendFile(
    keep.logFile,
    `# miyabi-worktree: issue ${kept.issueNumber} ran${worker}; kept here as worktree ${kept.id}, branch ${kept.branchName}\n# in ${kept.path}\n${closingLine(result)}\n`,
  );
  const record = await recordTaskStart(stateDir, {
    worktreeId: kept.id,
    issueNumber: kept.issueNumber,
    branch: kept.branchName,
    batchId: keep.batchId,
    logFile: keep.logFile,
  });
  await recordTaskEnd(stateDir, record, {
    status: result.status,
    stage: result.stage,
    code: result.error?.code,
  });
}
