import { MiyabiError } from '../errors.js';
import { firstLine, gitStderr, runGit } from '../git/run-git.js';
import type { WorktreeManager } from '../manager/worktree-manager.js';
import { failedAt } from '../pool/ended-early.js';
import { describeError } from '../pool/task-outcome.js';
import type { PoolMergeOptions, TaskResult } from '../pool/types.js';

export interface SubmitterMerge {
  readonly manager: WorktreeManager;
  readonly remote: string;
  readonly batchId: string;
  readonly result: TaskResult;
  readonly into: string;
  readonly merge: PoolMergeOptions;
  readonly signal: AbortSignal | undefined;
}

/**
 * Merges a finished queue task here as a local batch does: its pushed commit is fetched into a
 * temporary branch, merged with the manager's merge (merge-tree, compare-and-swap, clean checkouts
 * fast-forwarded), and the temporary branch dropped (the remote keeps the task branch; a conflict
 * leaves it there to resolve later). A failure fails the task at stage `merge`.
 */
export async function mergeAtSubmitter(run: SubmitterMerge): Promise<TaskResult> {
  const { manager, result } = run;
  const root = manager.repoPath;
  const branch = result.branchName;
  const commit = result.push?.commit;
  if (!branch || !commit) {
    return failed(result, new MiyabiError('NOTHING_COMMITTED', 'the worker pushed no branch to merge'));
  }
  const temporary = `miyabi-queue/${run.batchId}/issue-${result.issueNumber}`;
  try {
    // One fetch straight into the temporary branch; then it is pinned to the commit the worker reported.
    await runGit(
      ['fetch', '--quiet', '--no-tags', run.remote, `+refs/heads/${branch}:refs/heads/${temporary}`],
      {
        cwd: root,
        signal: run.signal,
        timeoutMs: 10 * 60_000,
      },
    ).catch((error: unknown) => {
      throw new MiyabiError(
        'GIT_FAILED',
        `could not fetch ${branch} from '${run.remote}': ${firstLine(gitStderr(error))}`,
        {
          cause: error,
        },
      );
    });
    const pinned = await runGit(['update-ref', `refs/heads/${temporary}`, commit], {
      cwd: root,
      signal: run.signal,
      okExitCodes: [0, 128],
    });
    if (pinned.exitCode !== 0) {
      throw new MiyabiError(
        'NOT_FOUND',
        `the remote's ${branch} no longer holds the pushed commit ${commit}`,
      );
    }
    const merged = await manager.mergeFetchedBranch(
      temporary,
      { issueNumber: result.issueNumber, branchName: branch, worktreeId: result.worktreeId },
      {
        into: run.into,
        ...(run.merge.strategy ? { strategy: run.merge.strategy } : {}),
        ...(run.merge.message ? { message: run.merge.message } : {}),
        batchId: run.batchId,
        ...(run.signal ? { signal: run.signal } : {}),
      },
    );
    return { ...result, merge: merged };
  } catch (error) {
    return failed(result, error, run.signal);
  } finally {
    // Only a name for a commit the remote's task branch (and, when merged, the target) still holds.
    await runGit(['update-ref', '-d', `refs/heads/${temporary}`, commit], {
      cwd: root,
      okExitCodes: [0, 1, 128],
    }).catch(() => undefined);
  }
}

/**
 * Pushes each target that received merges, with a lease on the remote's tip read before the batch:
 * never over someone else's newer push, and never when the target here lacks the remote's tip.
 * A refused push fails the tasks merged into that target at stage `push`.
 */
export async function pushTargets(options: {
  readonly manager: WorktreeManager;
  readonly remote: string;
  readonly targets: ReadonlyMap<string, readonly number[]>;
  readonly results: readonly TaskResult[];
  readonly signal: AbortSignal | undefined;
}): Promise<TaskResult[]> {
  const results = [...options.results];
  const root = options.manager.repoPath;
  for (const [into, indexes] of options.targets) {
    const tracking = await runGit(
      ['rev-parse', '--verify', '--quiet', `refs/remotes/${options.remote}/${into}`],
      {
        cwd: root,
        okExitCodes: [0, 1],
      },
    );
    const expected = tracking.exitCode === 0 ? tracking.stdout.trim() : '';
    let refusal: MiyabiError | undefined;
    if (expected !== '') {
      const contains = await runGit(['merge-base', '--is-ancestor', expected, `refs/heads/${into}`], {
        cwd: root,
        okExitCodes: [0, 1],
      });
      if (contains.exitCode !== 0) {
        refusal = new MiyabiError(
          'PUSH_REJECTED',
          `${into} here lacks ${options.remote}/${into}'s commits: the merged ${into} was not pushed`,
          { hint: `Merge ${options.remote}/${into} into ${into}, then push it.` },
        );
      }
    }
    if (!refusal) {
      const pushed = await runGit(
        [
          'push',
          '--porcelain',
          `--force-with-lease=refs/heads/${into}:${expected}`,
          options.remote,
          `refs/heads/${into}:refs/heads/${into}`,
        ],
        { cwd: root, signal: options.signal, okExitCodes: [0, 1], timeoutMs: 10 * 60_000 },
      ).catch((error: unknown) => error);
      const rejected =
        pushed instanceof Error ||
        (pushed as { exitCode: number }).exitCode !== 0 ||
        (pushed as { stdout: string }).stdout.split('\n').some((line) => line.startsWith('!'));
      if (rejected) {
        refusal = new MiyabiError(
          'PUSH_REJECTED',
          `push of the merged ${into} to '${options.remote}' was refused (someone pushed to it meanwhile?)`,
          {
            hint: `Fetch ${options.remote}/${into}, merge it into ${into}, then push.`,
            ...(pushed instanceof Error ? { cause: pushed } : {}),
          },
        );
      }
    }
    if (!refusal) continue;
    for (const index of indexes) {
      const result = results[index];
      if (result) results[index] = failed(result, refusal, undefined, 'push');
    }
  }
  return results;
}

function failed(
  result: TaskResult,
  error: unknown,
  signal?: AbortSignal,
  stage: 'merge' | 'push' = 'merge',
): TaskResult {
  const described = describeError(error, signal);
  return failedAt(result, described.code === 'CANCELLED' ? 'cancelled' : 'failed', stage, described);
}
