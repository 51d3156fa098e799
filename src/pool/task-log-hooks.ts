import { appendFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import { type Attempt, attemptName } from '../core/attempt.js';
import type { WorktreeInfo } from '../core/types.js';
import { recordTaskEnd, recordTaskStart, type TaskLog } from '../state/task-log-records.js';
import { closingLine } from './closing-line.js';
import type { TaskResult } from './types.js';

/** Records where a task's log is once it starts, and how the task ended: what `logs` reads. */
export interface TaskLogHooks {
  /** For `runTask`'s `onLogStart` (and a remote task's first output at the submitter). */
  started(worktree: Pick<WorktreeInfo, 'id' | 'branchName'>): Promise<void>;
  /** Writes the log's closing line (see `closingLine`), then records the end. */
  ended(result: TaskResult): Promise<void>;
}

/** Where a batch task's log is: `<logDir>/<batchId>/issue-<n>.log` (`issue-<n>-v<k>.log` for a variant), local or remote. */
export function taskLogFile(logDir: string, batchId: string, attempt: number | Attempt): string {
  return join(
    logDir,
    batchId,
    `${attemptName(typeof attempt === 'number' ? { issueNumber: attempt } : attempt)}.log`,
  );
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
      // Before the end is recorded: a follower that sees the end has the closing line to read. On a
      // line of its own, also after output that did not end its last line.
      const newline = (await endsInNewline(task.logFile)) ? '' : '\n';
      await appendFile(task.logFile, `${newline}${closingLine(result)}\n`).catch(() => {});
      const end = { status: result.status, stage: result.stage, code: result.error?.code };
      await recordTaskEnd(stateDir, record, end).catch(() => {});
    },
  };
}

/** Whether the file's last byte is a newline (an empty or missing file counts as ending one). */
async function endsInNewline(file: string): Promise<boolean> {
  const handle = await open(file, 'r').catch(() => undefined);
  if (!handle) return true;
  try {
    const { size } = await handle.stat();
    if (size === 0) return true;
    const last = Buffer.alloc(1);
    await handle.read(last, 0, 1, size - 1);
    return last[0] === 0x0a;
  } finally {
    await handle.close();
  }
}
