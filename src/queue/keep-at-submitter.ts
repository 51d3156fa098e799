import { appendFile } from 'node:fs/promises';
import type { WorktreeInfo } from '../core/types.js';
import { MiyabiError } from '../errors.js';
import type { WorktreeManager } from '../manager/worktree-manager.js';
import type { TaskResult } from '../pool/types.js';
import { openLogFile } from '../state/log-file.js';
import { recordTaskEnd, recordTaskStart } from '../state/task-log-records.js';
import { pointBranchAt } from './point-branch.js';

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
  await pointBranchAt({
    root: manager.repoPath,
    branch,
    commit: keep.commit,
    issueNumber: result.issueNumber,
    baseBranch: keep.baseBranch,
    signal: keep.signal,
  });
  const created = await manager.createWorktree(result.issueNumber, {
    branchName: branch,
    baseBranch: keep.baseBranch,
    existingBranch: 'reuse',
    batchId: keep.batchId,
    ...(keep.signal ? { signal: keep.signal } : {}),
  });
  return manager.updateStatus(created.id, result.status === 'success' ? 'completed' : 'failed');
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
    // The closing line follows from the task's output stream, once its log ends (remote-output).
    `# miyabi-worktree: issue ${kept.issueNumber} ran${worker}; kept here as worktree ${kept.id}, branch ${kept.branchName}\n# in ${kept.path}\n`,
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
