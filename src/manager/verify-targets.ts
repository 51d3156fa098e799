import { MiyabiError } from '../errors.js';
import { runGit } from '../git/run-git.js';

/**
 * Refuses, before any work starts, a merge target that is no local branch and a push remote that
 * does not exist: found up front instead of by every task after its agent ran. One git call each.
 *
 * @throws MiyabiError `INVALID_ARGUMENT` naming the option (`details.option`) and the value.
 */
export async function verifyFollowUpTargets(
  repoRoot: string,
  targets: {
    /** Branch → the option it came from, e.g. `merge.into` or `the base branch of issue 3`. */
    readonly branches?: ReadonlyMap<string, string>;
    readonly remote?: string;
  },
  signal?: AbortSignal,
): Promise<void> {
  for (const [branch, option] of targets.branches ?? [])
    await assertLocalBranch(repoRoot, branch, option, signal);
  if (targets.remote !== undefined) await assertRemote(repoRoot, targets.remote, signal);
}

/** A branch a merge can move: it must exist locally (a remote-only base cannot receive a merge). */
export async function assertLocalBranch(
  repoRoot: string,
  branch: string,
  option: string,
  signal?: AbortSignal,
): Promise<void> {
  const found = await runGit(['rev-parse', '--verify', '--quiet', `refs/heads/${branch}^{commit}`], {
    cwd: repoRoot,
    okExitCodes: [0, 1, 128],
    signal,
  });
  if (found.exitCode === 0) return;
  throw noLocalBranch(branch, option);
}

/** The refusal of a merge target that is no local branch, naming the option it came from. */
export function noLocalBranch(branch: string, option: string): MiyabiError {
  return new MiyabiError(
    'INVALID_ARGUMENT',
    `${option}: there is no local branch '${branch}' to merge into`,
    {
      hint: `Merge into an existing local branch (git branch lists them), or create it first, e.g. git branch ${branch} origin/${branch}.`,
      details: { option, branch },
    },
  );
}

async function assertRemote(repoRoot: string, remote: string, signal?: AbortSignal): Promise<void> {
  const found = remote.startsWith('-')
    ? undefined
    : await runGit(['remote', 'get-url', remote], { cwd: repoRoot, okExitCodes: [0, 2, 128], signal });
  if (found?.exitCode === 0) return;
  throw new MiyabiError('INVALID_ARGUMENT', `push.remote: there is no remote named '${remote}'`, {
    hint: 'Add it (git remote add <name> <url>) or name another; git remote -v lists them.',
    details: { option: 'push.remote', remote },
  });
}
