import type { PoolExecutionResult, TaskResult } from '../../pool/types.js';
import { BIN } from '../bin-name.js';
import { formatDuration } from '../parse-duration.js';
import { renderTable, type TableColumn } from '../render/table.js';
import type { RunTaskOutput, StepError } from './task-executor.js';

/** A `run` batch result: the pool's result, each task's `output` known for every task that ran. */
export type RunBatchResult = PoolExecutionResult<RunTaskOutput>;

export interface SummaryOptions {
  readonly merge: boolean;
  readonly push: boolean;
  readonly keep: boolean;
  readonly interrupted: boolean;
  /** Terminal width for the table. */
  readonly width?: number | undefined;
}

/**
 * The end-of-run text for people: a table (issue, status, time, exit code, merge/push outcome,
 * what went wrong), then what to know — archived work and how to restore it, conflicts, kept
 * worktrees, where the logs are — and a one-line total.
 */
export function renderSummary(result: RunBatchResult, options: SummaryOptions): string {
  const columns: TableColumn<TaskResult<RunTaskOutput>>[] = [
    { header: 'ISSUE', value: (r) => `#${r.issueNumber}` },
    { header: 'STATUS', value: (r) => r.status },
    { header: 'TIME', value: (r) => formatDuration(r.durationMs), align: 'right' },
    { header: 'EXIT', value: (r) => exitText(r.output), align: 'right' },
    ...(options.merge
      ? [{ header: 'MERGE', value: (r: TaskResult<RunTaskOutput>) => stepText(r.output?.merge) }]
      : []),
    ...(options.push
      ? [{ header: 'PUSH', value: (r: TaskResult<RunTaskOutput>) => stepText(r.output?.push) }]
      : []),
    { header: 'DETAIL', value: (r) => detailText(r), maxWidth: 100 },
  ];
  const lines = [renderTable(result.results, columns, options.width ? { width: options.width } : {}), ''];
  for (const r of result.results) {
    const merge = r.output?.merge;
    if (merge && 'error' in merge) lines.push(`#${r.issueNumber}: not merged: ${stepErrorText(merge.error)}`);
    const push = r.output?.push;
    if (push && 'error' in push) lines.push(`#${r.issueNumber}: not pushed: ${stepErrorText(push.error)}`);
    if (r.archiveRef) {
      const id = r.archiveRef.split('/').pop() ?? r.worktreeId;
      lines.push(
        `#${r.issueNumber}: work saved under ${r.archiveRef}; bring it back with: ${BIN} restore ${id}`,
      );
    }
  }
  const logs = result.results
    .map((r) => r.output?.logFile)
    .filter((file): file is string => file !== undefined);
  const [firstLog] = logs;
  if (firstLog) lines.push(`Logs: ${firstLog.slice(0, firstLog.lastIndexOf('/') + 1)}issue-<n>.log`);
  if (options.keep) {
    lines.push(`Worktrees were kept: '${BIN} list' shows them, '${BIN} cleanup' removes them safely.`);
  }
  if (options.interrupted) {
    lines.push(
      options.keep
        ? 'Interrupted: every task was stopped (process groups killed); worktrees were kept.'
        : 'Interrupted: every task was stopped (process groups killed) and its worktree cleaned up; nothing was lost.',
    );
  }
  lines.push(totalLine(result));
  return lines.join('\n');
}

/** `3 succeeded · 1 failed · 1 timed out in 5.2s (batch-…)` */
export function totalLine(result: RunBatchResult): string {
  const parts = [
    [result.successCount, 'succeeded'],
    [result.failedCount, 'failed'],
    [result.timeoutCount, 'timed out'],
    [result.cancelledCount, 'cancelled'],
  ] as const;
  const shown = parts.filter(([count]) => count > 0).map(([count, label]) => `${count} ${label}`);
  const tasks = `${result.totalTasks} task${result.totalTasks === 1 ? '' : 's'}`;
  return `${tasks}: ${shown.join(' · ') || 'none ran'} in ${formatDuration(result.totalDurationMs)} (${result.batchId})`;
}

function exitText(output: RunTaskOutput | undefined): string {
  if (!output) return '';
  if (output.exitCode !== null) return String(output.exitCode);
  return output.signal ?? '';
}

function stepText(step: RunTaskOutput['merge'] | RunTaskOutput['push']): string {
  if (!step) return '';
  if ('error' in step) return step.error.code === 'MERGE_CONFLICT' ? 'conflict' : 'error';
  return 'status' in step ? step.status : 'pushed';
}

function detailText(result: TaskResult<RunTaskOutput>): string {
  if (result.error) return result.error.message;
  return result.output?.lastLines.split(' | ').pop() ?? '';
}

function stepErrorText(error: StepError): string {
  const paths = error.conflicts?.map((conflict) => conflict.path).join(', ');
  return `${error.code ? `[${error.code}] ` : ''}${error.message}${paths ? ` (conflicts: ${paths})` : ''}`;
}
