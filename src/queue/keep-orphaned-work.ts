import { firstLine, gitStderr, runGit } from '../git/run-git.js';
import type { TaskResult } from '../pool/types.js';

/** Where an orphaned job's work went on the remote (absent when the task had made nothing). */
export interface KeptOrphanWork {
  readonly ref: string;
  readonly commit: string;
}

/**
 * On a worker, for a job cancelled because its batch's submitter is gone: pushes what the task
 * made to the remote's task branch, so that `run --resume` (which continues the remote's branch)
 * goes on from it. The commit pushed is the task's archive when it has one (its commits plus a
 * commit of the files it left uncommitted, as `restore` would bring back), else its branch tip
 * when that holds commits beyond the base. A plain push, never forced: when the remote's branch
 * moved on meanwhile, the work goes to `refs/miyabi/orphaned/<batch>/issue-<n>` instead.
 *
 * @returns where the work is now, or undefined when there was none or no push succeeded (it then
 * stays in the worker's clone, under its archive ref).
 */
export async function keepOrphanedWork(
  repo: string,
  result: TaskResult,
  at: { readonly batchId: string; readonly baseSha: string },
): Promise<KeptOrphanWork | undefined> {
  const branch = result.branchName;
  if (!branch) return undefined;
  const source = result.archiveRef ?? `refs/heads/${branch}`;
  const tip = await runGit(['rev-parse', '--verify', '--quiet', `${source}^{commit}`], {
    cwd: repo,
    okExitCodes: [0, 1],
  });
  const commit = tip.stdout.trim();
  if (tip.exitCode !== 0 || commit === '') return undefined;
  const own = await runGit(['rev-list', '--count', commit, '--not', at.baseSha], { cwd: repo });
  if (Number(own.stdout.trim()) === 0) return undefined;
  for (const ref of [
    `refs/heads/${branch}`,
    `refs/miyabi/orphaned/${at.batchId}/issue-${result.issueNumber}`,
  ]) {
    const pushed = await runGit(['push', '--porcelain', 'origin', `${commit}:${ref}`], {
      cwd: repo,
      okExitCodes: [0, 1],
      timeoutMs: 10 * 60_000,
    }).catch((error: unknown) => ({ exitCode: 1, stdout: firstLine(gitStderr(error)) }));
    if (pushed.exitCode === 0 && !pushed.stdout.split('\n').some((line) => line.startsWith('!'))) {
      return { ref, commit };
    }
  }
  return undefined;
}
