import type { GitHubClient } from '../github/client.js';
import type { WorktreeManager } from '../manager/worktree-manager.js';
import { endedInConflict, keepsWorktree } from '../pool/keep-policy.js';
import { taskLogFile } from '../pool/task-log-hooks.js';
import { describeError } from '../pool/task-outcome.js';
import type { ConflictPolicy, PoolPullRequestOptions, TaskResult, WorktreeTask } from '../pool/types.js';
import type { CheckSpec } from '../process/check-command.js';
import { fetchTaskCommit } from './fetch-task-branch.js';
import { handBackOnQueue, type QueueHandBack } from './hand-back.js';
import { keepAtSubmitter, recordKeptLog } from './keep-at-submitter.js';
import { pullRequestAtSubmitter } from './pull-request-at-submitter.js';

/** What the submitter does with a queue task once its result (and merge) is in. */
export interface RemoteTaskContext {
  readonly manager: WorktreeManager;
  /** The queue's remote, where the worker pushed the task's branch. */
  readonly remote: string;
  readonly batchId: string;
  readonly task: WorktreeTask;
  /** The task's base branch here. */
  readonly baseBranch: string;
  /** The pool's: false keeps every task here. */
  readonly autoCleanup: boolean;
  /** The pool's: a conflicted task is kept here unless `'remove'`. */
  readonly onConflict: ConflictPolicy;
  /** The pool's `pullRequest`, with the client made when the batch was checked. */
  readonly pullRequest:
    | { readonly options: PoolPullRequestOptions; readonly client: GitHubClient }
    | undefined;
  /** The pool's log folder: the task's log is `<logDir>/<batchId>/issue-<n>.log`. */
  readonly logDir: string;
  readonly signal: AbortSignal | undefined;
  /** How a conflicted task is handed back on the queue (`onConflict: { resolve }`). */
  readonly handBack?: QueueHandBack;
  /** With a check: its command, said in the pull request's body with the verdict. */
  readonly check?: CheckSpec | undefined;
}

/**
 * The follow-ups a local task does in its worktree, done here for a task a worker ran (its branch
 * is on the remote): a conflict's hand-back (a job on a worker), its pull request, then keeping it
 * — a local worktree of its branch — when the pool keeps a local task that ended so
 * (`keepsWorktree`). The one call site in the queue runner.
 */
export async function afterRemoteTask(done: TaskResult, context: RemoteTaskContext): Promise<TaskResult> {
  const policy = context.onConflict;
  const result =
    typeof policy === 'object' && context.handBack && endedInConflict(ending(done))
      ? await handBackOnQueue(done, policy, context.handBack, {
          root: context.manager.repoPath,
          remote: context.remote,
          signal: context.signal,
        }).catch((error: unknown) => failedAt(done, 'merge', error, context, 'not handed back'))
      : done;
  const branch = result.branchName;
  const pushed = result.push?.commit;
  const wantsPr = context.pullRequest !== undefined && result.status === 'success';
  // Kept here already: the worktree its landing (with a check) was made in.
  const keeps = result.worktreePath === undefined && keepsWorktree(ending(result), context);
  // A task that started but committed nothing pushed no branch: kept here at its base commit, as a local one.
  const atBase = !pushed && keeps && result.worktreeId !== '' ? result.baseCommit : undefined;
  // Else only a task whose branch the worker pushed has anything here to open or keep.
  if (!branch || (!pushed && !atBase) || !(wantsPr || keeps)) return result;
  const { manager } = context;
  let commit: string;
  try {
    commit =
      atBase ??
      (await fetchTaskCommit({
        root: manager.repoPath,
        remote: context.remote,
        branch,
        commit: pushed as string,
        signal: context.signal,
      }));
  } catch (error) {
    return failedAt(result, wantsPr ? 'pr' : 'cleanup', error, context);
  }
  let final = wantsPr ? await pullRequestAtSubmitter(result, context, commit) : result;
  if (!keeps || !keepsWorktree(ending(final), context)) return final;
  const logFile = taskLogFile(context.logDir, context.batchId, result);
  try {
    const kept = await keepAtSubmitter(final, {
      manager,
      batchId: context.batchId,
      baseBranch: context.baseBranch,
      commit,
      logFile,
      signal: context.signal,
    });
    final = { ...final, worktreeId: kept.id, worktreePath: kept.path, logFile, cleanedUp: false };
    // Best effort, as a local task's log record: only `logs` would miss it.
    await recordKeptLog(manager.stateDir, kept, final, { batchId: context.batchId, logFile }).catch(() => {});
    return final;
  } catch (error) {
    return failedAt(final, 'cleanup', error, context);
  }
}

function ending(result: TaskResult) {
  return { ...result, resolveAttempts: result.resolveAttempts?.length };
}

/**
 * A follow-up that failed: a task that had succeeded fails at its stage (as a local one does); one
 * that had failed keeps its stage and error, which says it was not kept here and why.
 */
function failedAt(
  result: TaskResult,
  stage: 'pr' | 'cleanup' | 'merge',
  error: unknown,
  context: RemoteTaskContext,
  /** Said of a task that had failed already. */
  what = 'not kept here',
): TaskResult {
  const described = describeError(error, context.signal);
  if (result.status !== 'success') {
    const message = `${result.error.message}; ${what}: ${described.message}`;
    return { ...result, error: { ...result.error, message } };
  }
  return {
    ...result,
    status: described.code === 'CANCELLED' ? 'cancelled' : 'failed',
    stage,
    error: described,
  } as TaskResult;
}
