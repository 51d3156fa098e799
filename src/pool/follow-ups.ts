import type { WorktreeInfo } from '../core/types.js';
import { isMiyabiError, MiyabiError } from '../errors.js';
import type { GitHubClient } from '../github/client.js';
import type { PullRequestResult } from '../github/pull-request.js';
import {
  openWorktreePullRequest,
  type PullRequestSource,
  type WorktreePullRequestOptions,
} from '../github/worktree-pull-request.js';
import type { TaskRun } from './run-task.js';
import { fail, type Progress } from './task-outcome.js';
import type { PoolPullRequestOptions, WorktreeTask } from './types.js';

/**
 * Merges the task's branch. A branch with nothing to merge while the worktree holds changes is
 * `NOTHING_COMMITTED`: the task's work was never merged, whatever "up-to-date" suggests.
 */
export async function merge(run: TaskRun, worktree: WorktreeInfo, progress: Progress, signal: AbortSignal) {
  const options = run.merge ?? {};
  try {
    const merged = await run.manager.mergeWorktree(worktree.id, { ...options, signal, batchId: run.batchId });
    progress.merge = merged;
    if (merged.status === 'up-to-date') await refuseNothingCommitted(run, worktree, progress, signal);
  } catch (error) {
    fail(progress, 'merge', error, signal);
  }
}

/**
 * After a merge (or landing) that found nothing to merge: a worktree that holds changes means the
 * task's work was never merged, `NOTHING_COMMITTED` at stage `merge`.
 */
export async function refuseNothingCommitted(
  run: Pick<TaskRun, 'manager' | 'batchId'>,
  worktree: WorktreeInfo,
  progress: Progress,
  signal: AbortSignal,
): Promise<void> {
  try {
    const paths = await run.manager.uncommittedPaths(worktree.id, { signal });
    if (paths.length === 0) return;
    progress.uncommitted = paths;
    const error = new MiyabiError(
      'NOTHING_COMMITTED',
      `nothing to merge: the task committed nothing but left ${paths.length} changed file(s) (${preview(paths)})`,
    );
    run.manager.recordEvent({
      type: 'error',
      worktreeId: worktree.id,
      issueNumber: worktree.issueNumber,
      branch: worktree.branchName,
      batchId: run.batchId,
      operation: 'merge',
      code: error.code,
      message: error.message,
    });
    fail(progress, 'merge', error, signal);
  } catch (error) {
    fail(progress, 'merge', error, signal);
  }
}

export function isConflict(progress: Progress): boolean {
  return (
    progress.stage === 'merge' &&
    (progress.error?.code === 'MERGE_CONFLICT' || progress.error?.code === 'CONFLICT_UNRESOLVED')
  );
}

export async function push(run: TaskRun, worktree: WorktreeInfo, progress: Progress, signal: AbortSignal) {
  try {
    progress.push = await run.manager.pushWorktree(worktree.id, {
      remote: run.push?.remote ?? 'origin',
      signal,
      batchId: run.batchId,
    });
  } catch (error) {
    fail(progress, 'push', error, signal);
  }
}

/**
 * Opens or updates the pull request of the pushed branch against the worktree's base branch: title
 * from the issue, body with `Closes #N`, the branch's commits and files, and the run's last lines.
 */
export async function pullRequest(
  run: TaskRun,
  worktree: WorktreeInfo,
  progress: Progress,
  signal: AbortSignal,
  durationMs: number,
) {
  const opened = await openTaskPullRequest(worktree, {
    ...run.pullRequest!,
    task: run.task,
    durationMs,
    lastLines: outputLastLines(progress.output),
    ...(run.landing && progress.landing?.checkedCommit
      ? {
          check: {
            command: run.landing.check.command.join(' '),
            passed: true,
            onTopOf: worktree.baseBranch,
            commit: progress.landing.checkedCommit,
          },
        }
      : {}),
    signal,
  });
  if (opened.pr) progress.pr = opened.pr;
  if (opened.error !== undefined) fail(progress, 'pr', opened.error, signal);
}

/**
 * A task's pull request, opened or updated, for a local worktree and a queue task's pushed branch
 * alike: what was made (also when only its reviewers or labels failed) and the error, if any.
 */
export async function openTaskPullRequest(
  source: PullRequestSource,
  request: {
    readonly options: PoolPullRequestOptions;
    readonly client: GitHubClient;
    readonly task: WorktreeTask;
    readonly durationMs: number;
    readonly lastLines: string | undefined;
    readonly summaryHead?: string;
    /** The landing check's verdict, for the body. */
    readonly check?: WorktreePullRequestOptions['check'];
    readonly signal: AbortSignal | undefined;
  },
): Promise<{ pr?: PullRequestResult; error?: unknown }> {
  const { options, task, signal, lastLines } = request;
  try {
    const pr = await openWorktreePullRequest(source, {
      client: request.client,
      repo: options.repo,
      ...(task.context ? { issue: task.context } : {}),
      ...(task.description ? { fallbackTitle: task.description } : {}),
      ...(options.draft !== undefined ? { draft: options.draft } : {}),
      ...(options.reviewers ? { reviewers: options.reviewers } : {}),
      ...(options.labels ? { labels: options.labels } : {}),
      durationMs: request.durationMs,
      ...(lastLines !== undefined ? { lastLines } : {}),
      ...(request.summaryHead !== undefined ? { summaryHead: request.summaryHead } : {}),
      ...(request.check !== undefined ? { check: request.check } : {}),
      ...(signal ? { signal } : {}),
    });
    return { pr };
  } catch (error) {
    // The pull request exists even when its reviewers or labels failed: the result still names it.
    const details = isMiyabiError(error) ? error.details : undefined;
    if (details && typeof details.url === 'string' && typeof details.number === 'number') {
      return { pr: { url: details.url, number: details.number, created: details.created === true }, error };
    }
    return { error };
  }
}

/** `output.lastLines` when the executor's output has them (the CLI's does). */
export function outputLastLines(output: unknown): string | undefined {
  if (typeof output !== 'object' || output === null || !('lastLines' in output)) return undefined;
  const lines = output.lastLines;
  return typeof lines === 'string' ? lines : Array.isArray(lines) ? lines.map(String).join('\n') : undefined;
}

export function preview(paths: readonly string[]): string {
  return paths.length > 3 ? `${paths.slice(0, 3).join(', ')}, …` : paths.join(', ');
}
