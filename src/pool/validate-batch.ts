import { MiyabiError } from '../errors.js';
import { runGit } from '../git/run-git.js';
import { verifyFollowUpTargets } from '../manager/verify-targets.js';
import type { WorktreeManager } from '../manager/worktree-manager.js';
import type { WorktreeTask } from './types.js';
import type { ResolvedPoolConfig } from './worktree-pool.js';

/**
 * The checks that need git, made once before any task starts: every branch a task would merge into
 * is a local branch, and the push remote exists. A batch that would fail every merge after every
 * agent ran fails at once instead.
 */
export async function validateBatch(
  manager: WorktreeManager,
  tasks: readonly WorktreeTask[],
  config: Pick<ResolvedPoolConfig, 'merge' | 'push' | 'reuse' | 'keepPaths' | 'prepare'>,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (config.reuse) await refuseTrackedKeepPaths(manager.repoPath, config.keepPaths, signal);
  const shared = config.prepare.share.map((entry) => entry.path);
  if (shared.length > 0) await refuseTrackedKeepPaths(manager.repoPath, shared, signal, 'share');
  const branches = new Map<string, string>();
  if (config.merge) {
    if (config.merge.into !== undefined) branches.set(config.merge.into, 'merge.into');
    else {
      for (const task of tasks) {
        const base = shortBase(task.baseBranch ?? manager.baseBranch);
        if (!branches.has(base))
          branches.set(base, `the base branch of issue ${task.issueNumber} (merge target)`);
      }
    }
  }
  await verifyFollowUpTargets(
    manager.repoPath,
    { branches, ...(config.push ? { remote: config.push.remote ?? 'origin' } : {}) },
    signal,
  );
}

/**
 * A kept path git tracks would be overwritten by each reset (and its files mixed between tasks):
 * `INVALID_ARGUMENT` naming it. One `git ls-files` for all of them.
 */
export async function refuseTrackedKeepPaths(
  repoPath: string,
  keepPaths: readonly string[],
  signal: AbortSignal | undefined,
  option = 'keepPaths',
): Promise<void> {
  if (keepPaths.length === 0) return;
  const { stdout } = await runGit(['ls-files', '-z', '--', ...keepPaths.map((path) => `:(literal)${path}`)], {
    cwd: repoPath,
    signal,
  });
  const tracked = keepPaths.filter((path) =>
    stdout.split('\0').some((file) => file === path || file.startsWith(`${path}/`)),
  );
  if (tracked.length > 0) {
    throw new MiyabiError('INVALID_ARGUMENT', `${option}: ${tracked.join(', ')} is tracked by git`, {
      hint: 'Name only ignored folders (dependencies, build output): tracked files come with the checkout.',
      details: { option, paths: tracked },
    });
  }
}

/** The branch a worktree based on `base` records (and merges into): `origin/x` → `x`. */
function shortBase(base: string): string {
  return base
    .replace(/^refs\/heads\//, '')
    .replace(/^refs\/remotes\/[^/]+\//, '')
    .replace(/^origin\//, '');
}
