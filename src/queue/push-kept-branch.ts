import { runGit } from '../git/run-git.js';
import type { TaskResult } from '../pool/types.js';

/**
 * On a worker, for a job whose submitter keeps its tasks (`keep` in the payload): pushes the branch
 * of a task that did not succeed, when it holds commits of its own, so that the submitter can keep
 * it as a local batch would (a successful task's branch is pushed by the pool already). Uncommitted
 * files stay in the worker's archive. Best effort: a push that fails leaves the result as it was.
 */
export async function pushKeptBranch(
  repo: string,
  result: TaskResult,
  baseSha: string,
  signal: AbortSignal | undefined,
): Promise<TaskResult> {
  const branch = result.branchName;
  if (result.status === 'success' || result.push || !branch) return result;
  const ref = `refs/heads/${branch}`;
  const tip = await runGit(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], {
    cwd: repo,
    okExitCodes: [0, 1],
  });
  const commit = tip.stdout.trim();
  if (tip.exitCode !== 0 || commit === '') return result;
  const own = await runGit(['rev-list', '--count', commit, '--not', baseSha], { cwd: repo });
  if (Number(own.stdout.trim()) === 0) return result;
  // The remote's earlier branch of this issue was archived and deleted as the job started: a plain push.
  const pushed = await runGit(['push', '--porcelain', 'origin', `${ref}:${ref}`], {
    cwd: repo,
    signal,
    okExitCodes: [0, 1],
    timeoutMs: 10 * 60_000,
  }).catch(() => undefined);
  if (pushed?.exitCode !== 0 || pushed.stdout.split('\n').some((line) => line.startsWith('!'))) return result;
  const push = {
    id: result.worktreeId,
    remote: 'origin',
    branchName: branch,
    commit,
    upstream: `refs/remotes/origin/${branch}`,
  };
  return { ...result, push };
}
