import { MiyabiError } from '../errors.js';
import { runGit } from '../git/run-git.js';
import { type RemoteRepo, repoFromRemoteUrl } from './repo-slug.js';

export interface OriginRepoOptions {
  /** A folder inside the repository. */
  readonly cwd: string;
  /** @default 'origin' */
  readonly remote?: string;
  readonly signal?: AbortSignal;
}

/**
 * The GitHub `owner/repo` (and host) the remote points at, for `--github` without a value.
 * Throws `NO_REMOTE` when there is no such remote, `INVALID_ARGUMENT` when its URL names no owner/repo.
 */
export async function repoFromOrigin(options: OriginRepoOptions): Promise<RemoteRepo> {
  const remote = options.remote ?? 'origin';
  const result = await runGit(['remote', 'get-url', '--', remote], {
    cwd: options.cwd,
    signal: options.signal,
    okExitCodes: [0, 2],
  });
  if (result.exitCode !== 0) {
    throw new MiyabiError('NO_REMOTE', `the repository has no remote '${remote}' to take owner/repo from`, {
      hint: 'Name the repository: --github owner/repo.',
    });
  }
  const url = result.stdout.trim();
  const parsed = repoFromRemoteUrl(url);
  if (!parsed) {
    throw new MiyabiError('INVALID_ARGUMENT', `the URL of remote '${remote}' names no GitHub owner/repo`, {
      hint: 'Name the repository: --github owner/repo.',
      // The URL itself may carry credentials (https://user:token@host/...): it is not repeated.
      details: { remote },
    });
  }
  return parsed;
}
