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
  config: Pick<ResolvedPoolConfig, 'merge' | 'push'>,
  signal: AbortSignal | undefined,
): Promise<void> {
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

/** The branch a worktree based on `base` records (and merges into): `origin/x` → `x`. */
function shortBase(base: string): string {
  return base
    .replace(/^refs\/heads\//, '')
    .replace(/^refs\/remotes\/[^/]+\//, '')
    .replace(/^origin\//, '');
}
