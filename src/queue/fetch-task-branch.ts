import { MiyabiError } from '../errors.js';
import { firstLine, gitStderr, runGit } from '../git/run-git.js';

/**
 * Brings a queue task's pushed commit here: fetches its branch from the remote into the
 * remote-tracking ref (`refs/remotes/<remote>/<branch>`, what a plain `git fetch` would write) and
 * checks the commit the worker reported is now present. Returns that commit.
 */
export async function fetchTaskCommit(options: {
  readonly root: string;
  readonly remote: string;
  readonly branch: string;
  readonly commit: string;
  readonly signal: AbortSignal | undefined;
}): Promise<string> {
  const { root, remote, branch, commit, signal } = options;
  await runGit(
    ['fetch', '--quiet', '--no-tags', remote, `+refs/heads/${branch}:refs/remotes/${remote}/${branch}`],
    { cwd: root, signal, timeoutMs: 10 * 60_000 },
  ).catch((error: unknown) => {
    throw new MiyabiError(
      'GIT_FAILED',
      `could not fetch ${branch} from '${remote}': ${firstLine(gitStderr(error))}`,
      {
        cause: error,
      },
    );
  });
  const present = await runGit(['cat-file', '-e', `${commit}^{commit}`], {
    cwd: root,
    okExitCodes: [0, 1, 128],
  });
  if (present.exitCode !== 0) {
    throw new MiyabiError('NOT_FOUND', `the remote's ${branch} no longer holds the pushed commit ${commit}`);
  }
  return commit;
}
