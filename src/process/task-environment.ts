import type { WorktreeInfo } from '../manager/types.js';
import { WORKTREE_ID_VAR } from './task-processes.js';

/**
 * The `MIYABI_*` variables a task's processes carry: its issue, path and branch for the command,
 * and `MIYABI_WORKTREE_ID`, by which removal finds and stops processes that outlived their runner.
 */
export function worktreeEnvironment(worktree: WorktreeInfo, batchId?: string): Record<string, string> {
  return {
    MIYABI_ISSUE_NUMBER: String(worktree.issueNumber),
    MIYABI_WORKTREE_PATH: worktree.path,
    MIYABI_BRANCH: worktree.branchName,
    [WORKTREE_ID_VAR]: worktree.id,
    ...(batchId !== undefined ? { MIYABI_BATCH_ID: batchId } : {}),
  };
}
