import { appendFile } from 'node:fs/promises';
import type { WorktreeInfo } from '../core/types.js';
import { recordTaskEnd, recordTaskStart, type TaskLog } from '../state/task-log-records.js';
import { closingLine } from './closing-line.js';
import type { TaskResult } from './types.js';

/** Records where a task's log is once it starts, and how the task ended: what `logs` reads. */
export interface TaskLogHooks {
  /** For `runTask`'s `onLogStart`. */
  started(worktree: WorktreeInfo): Promise<void>;
  /** Writes the log's closing line (see `closingLine`), then records the end. */
  ended(result: TaskResult): Promise<void>;
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
    async ended(result) {
      if (!record) return;
      // Before the end is recorded: a follower that sees the end has the closing line to read.
      await appendFile(task.logFile, `${closingLine(result)}\n`).catch(() => {});
      const end = { status: result.status, stage: result.stage, code: result.error?.code };
      await recordTaskEnd(stateDir, record, end).catch(() => {});
    },
  };
}
