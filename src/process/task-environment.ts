import type { WorktreeInfo } from '../core/types.js';
import { WORKTREE_ID_VAR } from './task-processes.js';

/**
 * The `MIYABI_*` variables a task's processes carry: its issue, path and branch for the command,
 * and `MIYABI_WORKTREE_ID`, by which removal finds and stops processes that outlived their runner;
 * with config `ports`, `MIYABI_PORT` (the first of its block) and `MIYABI_PORTS` (all, comma-separated).
 */
export function worktreeEnvironment(worktree: WorktreeInfo, batchId?: string): Record<string, string> {
  return {
    MIYABI_ISSUE_NUMBER: String(worktree.issueNumber),
    MIYABI_WORKTREE_PATH: worktree.path,
    MIYABI_BRANCH: worktree.branchName,
    [WORKTREE_ID_VAR]: worktree.id,
    // Config `ports`: the worktree's own block, so dev servers of parallel tasks never collide.
    ...(worktree.ports && worktree.ports.length > 0
      ? { MIYABI_PORT: String(worktree.ports[0]), MIYABI_PORTS: worktree.ports.join(',') }
      : {}),
    ...(batchId !== undefined ? { MIYABI_BATCH_ID: batchId } : {}),
  };
}
