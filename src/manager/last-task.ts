import type { WorktreeInfo } from '../core/types.js';
import { readTaskLog } from '../state/task-log-records.js';

/**
 * The worktrees with how each one's last pool task ended (`lastTask`), from the tasks' log
 * records: one small file per worktree, so listing stays cheap.
 */
export async function withLastTasks(
  stateDir: string,
  worktrees: readonly WorktreeInfo[],
): Promise<WorktreeInfo[]> {
  return Promise.all(
    worktrees.map(async (worktree) => {
      const record = await readTaskLog(stateDir, worktree.id);
      if (record?.status === undefined || record.endedAt === undefined) return worktree;
      const { status, stage, code, batchId, endedAt } = record;
      return {
        ...worktree,
        lastTask: { status, ...(stage ? { stage } : {}), ...(code ? { code } : {}), batchId, endedAt },
      };
    }),
  );
}
