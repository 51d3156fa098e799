import { runGit } from '../git/run-git.js';
import type { WorktreeManager } from '../manager/worktree-manager.js';
import type { PoolConfig, TaskExecutor, TaskResult } from '../pool/types.js';
import { checkFixExecutor } from './check-fix-job.js';
import type { QueueJobPayload } from './payload.js';
import { pointBranchAt } from './point-branch.js';
import { fetchBase } from './remote-git.js';

type HandBack = NonNullable<QueueJobPayload['handBack']>;

/** The local branch a hand-back merges into on the worker: the submitter's target at `targetSha`. */
export function handBackTarget(payload: QueueJobPayload): string {
  return `miyabi-target/${payload.batchId}-${payload.issueNumber}`;
}

/**
 * On a worker, before a hand-back job's pool runs (in the worker's serial git step): the target's
 * tip fetched and named by {@link handBackTarget}, and the task's branch set to the commit it was
 * pushed at, never to a branch of this clone's own.
 */
export async function prepareHandBack(
  repo: string,
  payload: QueueJobPayload,
  handBack: HandBack,
  signal: AbortSignal,
): Promise<void> {
  await fetchBase(repo, handBack.targetSha, payload.batchId, signal);
  await runGit(['update-ref', `refs/heads/${handBackTarget(payload)}`, handBack.targetSha], { cwd: repo });
  // `fetchBase` fetched the remote's branches: the task's pushed commit is here now.
  await fetchBase(repo, handBack.branchCommit, payload.batchId, signal);
  await pointBranchAt({
    root: repo,
    branch: payload.branchName,
    commit: handBack.branchCommit,
    issueNumber: payload.issueNumber,
    baseBranch: payload.baseBranch,
    signal,
  });
}

/**
 * The worker pool's options for a hand-back: continue on the task's branch, merge the target in
 * (the throwaway branch above), and on a conflict hand it to the resolver as a local batch does
 * (`resolveConflict`: the target merged into the branch, the resolver run with `MIYABI_CONFLICTS`,
 * the resolution checked, merged again); the pool then pushes the resolved branch.
 */
export function handBackPool(
  payload: QueueJobPayload,
  handBack: HandBack,
  resolve: TaskExecutor,
  manager: WorktreeManager,
): { options: PoolConfig; executor: TaskExecutor } {
  return {
    options: {
      existingBranches: 'continue',
      reuse: false,
      merge: { into: handBackTarget(payload) },
      onConflict: { resolve, attempts: handBack.attempts },
    },
    // The task's own command ran in its first job: the hand-back runs only the resolver (or the fix).
    executor:
      handBack.checkLog !== undefined
        ? checkFixExecutor(manager, handBackTarget(payload), handBack.checkLog, resolve)
        : async () => undefined,
  };
}

/**
 * After a hand-back job: a worktree the pool kept (an unresolved conflict) is removed as any task's
 * (its work archived in this clone; the branch as pushed stays on the remote for the submitter),
 * and the throwaway target branch is dropped.
 */
export async function finishHandBack(
  repo: string,
  manager: WorktreeManager,
  payload: QueueJobPayload,
  result: TaskResult,
): Promise<TaskResult> {
  let cleanedUp = result.cleanedUp;
  if (!cleanedUp && result.worktreeId !== '') {
    const removed = await manager.removeWorktree(result.worktreeId).catch(() => undefined);
    cleanedUp = removed?.worktreeRemoved ?? false;
  }
  await runGit(['update-ref', '-d', `refs/heads/${handBackTarget(payload)}`], {
    cwd: repo,
    okExitCodes: [0, 1, 128],
  }).catch(() => undefined);
  return { ...result, cleanedUp };
}
