import { MiyabiError } from '../errors.js';
import type { WithLock } from '../state/repo-lock.js';
import { firstLine, gitStderr, runGit } from './run-git.js';

export interface PushBranchOptions {
  /** Any folder of the repository (the worktree being pushed). */
  readonly cwd: string;
  readonly branch: string;
  /** @default 'origin' */
  readonly remote?: string;
  readonly signal?: AbortSignal | undefined;
  /** Guards the upstream write to `.git/config`, which races with parallel `worktree add`. */
  readonly withLock: WithLock;
  /** Record the remote as the branch's upstream. @default true */
  readonly setUpstream?: boolean;
}

/**
 * Pushes `refs/heads/<branch>` to the same name on `remote`, then records the upstream. The push
 * itself runs outside the repository lock (it can be slow); only the `.git/config` write takes it.
 * Throws `NO_REMOTE`, `PUSH_REJECTED` (with git's reason) or `GIT_FAILED` (unreachable remote, ...).
 */
export async function pushBranch(options: PushBranchOptions): Promise<{ commit: string; upstream: string }> {
  const remote = options.remote ?? 'origin';
  if (!/^[A-Za-z0-9._/-]+$/.test(remote) || remote.startsWith('-')) {
    throw new MiyabiError('INVALID_ARGUMENT', `remote ${JSON.stringify(remote)} is not a valid remote name`);
  }
  const known = await runGit(['remote', 'get-url', remote], { cwd: options.cwd, okExitCodes: [0, 2, 128] });
  if (known.exitCode !== 0) {
    throw new MiyabiError('NO_REMOTE', `the repository has no remote '${remote}'`, {
      hint: `Add it first: git remote add ${remote} <url>`,
    });
  }
  const ref = `refs/heads/${options.branch}`;
  const { stdout: commit } = await runGit(['rev-parse', '--verify', `${ref}^{commit}`], { cwd: options.cwd });
  const result = await runGit(['push', '--porcelain', remote, `${ref}:${ref}`], {
    cwd: options.cwd,
    signal: options.signal,
    okExitCodes: [0, 1],
    timeoutMs: 10 * 60_000,
  }).catch((error: unknown) => {
    throw new MiyabiError(
      'GIT_FAILED',
      `could not push to '${remote}': ${firstLine(gitStderr(error)) || 'no message'}`,
      {
        cause: error,
        hint: "Check that the remote is reachable and you may write to it (see git's message).",
        ...(error instanceof MiyabiError && error.git ? { git: error.git } : {}),
      },
    );
  });
  const rejected = result.stdout.split('\n').find((line) => line.startsWith('!'));
  if (result.exitCode !== 0 || rejected) {
    const reason = rejected?.split('\t').pop() ?? (firstLine(result.stderr) || 'rejected');
    throw new MiyabiError(
      'PUSH_REJECTED',
      `push of '${options.branch}' to '${remote}' was rejected: ${reason}`,
      {
        hint: `The remote has commits the branch lacks (${reason}); fetch and integrate them, then push again.`,
        details: { remote, branch: options.branch, reason },
      },
    );
  }
  const upstream = `refs/remotes/${remote}/${options.branch}`;
  if (options.setUpstream === false) return { commit: commit.trim(), upstream };
  await options.withLock(async () => {
    await runGit(['config', `branch.${options.branch}.remote`, remote], { cwd: options.cwd });
    await runGit(['config', `branch.${options.branch}.merge`, ref], { cwd: options.cwd });
  });
  return { commit: commit.trim(), upstream };
}
