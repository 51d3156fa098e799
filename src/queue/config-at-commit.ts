import type { LoadedConfig } from '../config/config-types.js';
import { loadConfigFrom } from '../config/load-config.js';
import { runGit } from '../git/run-git.js';

/**
 * The repository's configuration as committed at `sha` (not as a clone's checkout has it): a worker
 * prepares each job's worktree from the configuration of the commit the job starts from.
 */
export function loadConfigAtCommit(repo: string, sha: string, signal?: AbortSignal): Promise<LoadedConfig> {
  return loadConfigFrom(
    async (name) => {
      // `<sha>:<name>` of a missing file exits 128: no such file at that commit.
      const shown = await runGit(['cat-file', 'blob', `${sha}:${name}`], {
        cwd: repo,
        signal,
        okExitCodes: [0, 128],
      });
      return shown.exitCode === 0 ? shown.stdout : null;
    },
    (name) => `${sha.slice(0, 12)}:${name}`,
  );
}
