import { openTaskPullRequest, outputLastLines } from '../pool/follow-ups.js';
import { describeError } from '../pool/task-outcome.js';
import type { TaskResult } from '../pool/types.js';
import type { RemoteTaskContext } from './after-remote-task.js';

/**
 * Opens (or updates) a successful queue task's pull request from here, exactly as a local task's
 * (the branch is on the remote already: the worker pushed it). A failure fails the task at `pr`.
 */
export async function pullRequestAtSubmitter(
  result: TaskResult,
  context: RemoteTaskContext,
  commit: string,
): Promise<TaskResult> {
  const request = context.pullRequest;
  if (!request || !result.branchName) return result;
  const opened = await openTaskPullRequest(
    {
      issueNumber: result.issueNumber,
      branchName: result.branchName,
      baseBranch: context.baseBranch,
      path: context.manager.repoPath,
    },
    {
      ...request,
      task: context.task,
      durationMs: result.durationMs,
      lastLines: outputLastLines(result.output),
      summaryHead: commit,
      // Landed here with a check: its verdict on the candidate goes in the body, as a local task's.
      ...(context.check && result.landing?.checkedCommit
        ? {
            check: {
              command: context.check.command.join(' '),
              passed: true,
              onTopOf: context.baseBranch,
              commit: result.landing.checkedCommit,
            },
          }
        : {}),
      signal: context.signal,
    },
  );
  const withPr = opened.pr ? { ...result, pr: opened.pr } : result;
  if (opened.error === undefined) return withPr;
  const error = describeError(opened.error, context.signal);
  return {
    ...withPr,
    status: error.code === 'CANCELLED' ? 'cancelled' : 'failed',
    stage: 'pr',
    error,
  } as TaskResult;
}
