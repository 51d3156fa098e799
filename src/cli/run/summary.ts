import { formatDuration, type PoolExecutionResult, type TaskError, type TaskResult } from '../../index.js';
import { variantsLine } from '../../internal.js';
import { BIN } from '../bin-name.js';
import { overlapLine } from '../render/overlaps.js';
import { renderTable, type TableColumn } from '../render/table.js';
import { restoreAdvice } from './restore-advice.js';
import type { RunTaskOutput } from './task-executor.js';

/** A `run` batch result: the pool's result, each task's `output` known for every task that ran. */
export type RunBatchResult = PoolExecutionResult<RunTaskOutput>;

export interface SummaryOptions {
  readonly merge: boolean;
  readonly push: boolean;
  /** Pull requests were asked for: a PR column. @default false */
  readonly pr?: boolean;
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
    {
      header: 'STATUS',
      value: (r) => (r.stage && r.stage !== 'execute' ? `${r.status} (${r.stage})` : r.status),
    },
    { header: 'TIME', value: (r) => formatDuration(r.durationMs), align: 'right' },
    { header: 'EXIT', value: (r) => exitText(r.output), align: 'right' },
    ...(options.merge
      ? [{ header: 'MERGE', value: (r: TaskResult<RunTaskOutput>) => stepText(r, 'merge') }]
      : []),
    ...(options.push
      ? [{ header: 'PUSH', value: (r: TaskResult<RunTaskOutput>) => stepText(r, 'push') }]
      : []),
    ...(options.pr
      ? [
          {
            header: 'PR',
            value: (r: TaskResult<RunTaskOutput>) =>
              r.pr ? `#${r.pr.number}` : r.stage === 'pr' ? 'error' : '',
          },
        ]
      : []),
    { header: 'DETAIL', value: (r) => detailText(r), maxWidth: 100 },
  ];
  const lines = [renderTable(result.results, columns, options.width ? { width: options.width } : {}), ''];
  for (const r of result.results) {
    if (r.variants) lines.push(variantsLine(r));
    if (r.stage === 'merge') lines.push(`#${r.issueNumber}: not merged: ${errorText(r.error)}`);
    if (r.stage === 'merge' && !r.cleanedUp && r.worktreePath && isConflict(r.error)) {
      lines.push(
        `#${r.issueNumber}: worktree kept at ${r.worktreePath}; continue with: ${BIN} resolve ${r.worktreeId} -- <command>`,
      );
    }
    if (r.stage === 'merge' && !r.cleanedUp && r.worktreePath && r.error.code === 'CHECKOUT_DIRTY') {
      lines.push(
        `#${r.issueNumber}: worktree kept at ${r.worktreePath}; once that checkout is clean: ${BIN} merge ${r.issueNumber}`,
      );
    }
    for (const attempt of r.resolveAttempts ?? []) {
      lines.push(
        `#${r.issueNumber}: resolve attempt ${attempt.attempt} (${attempt.conflicts.join(', ') || 'no conflict left'}): ${attempt.outcome}${attempt.error ? ` — ${attempt.error.message}` : ''}`,
      );
    }
    if (r.stage === 'check') {
      lines.push(`#${r.issueNumber}: not landed: ${errorText(r.error)}`);
      if (!r.cleanedUp && r.worktreePath) {
        lines.push(
          `#${r.issueNumber}: worktree kept at ${r.worktreePath}; once fixed there: ${BIN} land ${r.issueNumber}`,
        );
      }
    }
    if (r.stage === 'push') lines.push(`#${r.issueNumber}: not pushed: ${errorText(r.error)}`);
    if (r.stage === 'pr') lines.push(`#${r.issueNumber}: no pull request: ${errorText(r.error)}`);
    if (r.pr)
      lines.push(`#${r.issueNumber}: pull request ${r.pr.created ? 'opened' : 'updated'}: ${r.pr.url}`);
    if (r.stage === 'cleanup') lines.push(`#${r.issueNumber}: not cleaned up: ${errorText(r.error)}`);
    if (r.unmergedWork && !r.unmergedWork.archiveRef) {
      lines.push(
        `#${r.issueNumber}: ${r.unmergedWork.paths.length} uncommitted file(s) left in ${r.worktreePath ?? 'its worktree'}, not merged`,
      );
    }
    if (r.staleBranch?.archiveRef) {
      const id = r.staleBranch.archiveRef.split('/').pop() ?? '';
      lines.push(
        `#${r.issueNumber}: ${r.staleBranch.unmergedCommits} earlier commit(s) of ${r.branchName ?? 'its branch'} saved under ${r.staleBranch.archiveRef}; ${restoreAdvice(r, id, 'them')}`,
      );
    }
    if (r.keptBranch) {
      lines.push(
        `#${r.issueNumber}: its work stays on branch ${r.keptBranch.name} (kept: ${r.keptBranch.reason})`,
      );
    }
    if (r.archiveRef) {
      const id = r.archiveRef.split('/').pop() ?? r.worktreeId;
      lines.push(`#${r.issueNumber}: work saved under ${r.archiveRef}; ${restoreAdvice(r, id, 'it')}`);
    }
  }
  const logs = result.results.map((r) => r.logFile).filter((file): file is string => file !== undefined);
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
  for (const overlap of result.overlaps) lines.push(`Overlap: ${overlapLine(overlap)}`);
  if (result.conflicts.met > 0) {
    lines.push(`Conflicts: ${result.conflicts.met} met, ${result.conflicts.resolved} resolved`);
  }
  lines.push(totalLine(result));
  return lines.join('\n');
}

/** `3 succeeded · 1 failed · 1 timed out in 5.2s (batch-…)`: the batch record's counts, as the report's. */
export function totalLine(result: RunBatchResult): string {
  const parts = [
    [result.successCount, 'succeeded'],
    [result.failedCount, 'failed'],
    [result.timeoutCount, 'timed out'],
    [result.cancelledCount - result.notStartedCount, 'cancelled'],
    [result.notStartedCount, 'cancelled before starting'],
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

/** The MERGE or PUSH cell: what the step did, why it failed, or nothing when it did not run. */
function stepText(result: TaskResult<RunTaskOutput>, step: 'merge' | 'push'): string {
  if (result.stage === step) {
    if (result.error.code === 'MERGE_CONFLICT') return 'conflict';
    if (result.error.code === 'NOTHING_COMMITTED') return 'nothing committed';
    return result.status === 'failed' ? 'error' : result.status;
  }
  if (step === 'merge' && result.stage === 'check')
    return result.error.code === 'CHECK_FAILED' ? 'check failed' : 'error';
  if (step === 'merge' && result.merge && result.landing?.checkedCommit)
    return `${result.merge.status}, checked`;
  if (step === 'merge') return result.merge?.status ?? '';
  return result.push ? 'pushed' : '';
}

function detailText(result: TaskResult<RunTaskOutput>): string {
  if (result.error) return result.error.message;
  return result.output?.lastLines.split(' | ').pop() ?? '';
}

function errorText(error: TaskError): string {
  const paths = error.conflicts?.join(', ');
  return `${error.code ? `[${error.code}] ` : ''}${error.message}${paths ? ` (conflicts: ${paths})` : ''}`;
}

function isConflict(error: TaskError): boolean {
  return error.code === 'MERGE_CONFLICT' || error.code === 'CONFLICT_UNRESOLVED';
}
