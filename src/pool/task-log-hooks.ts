import type { WorktreeInfo } from '../core/types.js';
import { recordTaskEnd, recordTaskStart, type TaskLog } from '../state/task-log-records.js';
import type { ExecutionOutcome } from '../telemetry/events.js';

/** Records where a task's log is once it starts, and how the task ended: what `logs` reads. */
export interface TaskLogHooks {
  /** For `runTask`'s `onLogStart`. */
  started(worktree: WorktreeInfo): Promise<void>;
  ended(status: ExecutionOutcome): Promise<void>;
}

/** Best effort: a record that cannot be written never fails the task (its log only stays unknown to `logs`). */
export function taskLogHooks(
  stateDir: string,
  task: { readonly issueNumber: number; readonly batchId: string; readonly logFile: string },
): TaskLogHooks {
  let record: TaskLog | undefined;
  return {
    async started(worktree) {
      record = await recordTaskStart(stateDir, {
        worktreeId: worktree.id,
        issueNumber: task.issueNumber,
        branch: worktree.branchName,
        batchId: task.batchId,
        logFile: task.logFile,
      }).catch(() => undefined);
    },
    async ended(status) {
      if (record) await recordTaskEnd(stateDir, record, status).catch(() => {});
    },
  };
}
