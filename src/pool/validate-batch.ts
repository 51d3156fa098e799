import { expandBranchPattern } from '../config/config-types.js';
import type { WorktreeInfo } from '../core/types.js';
import { MiyabiError } from '../errors.js';
import { runGit } from '../git/run-git.js';
import { verifyFollowUpTargets } from '../manager/verify-targets.js';
import type { WorktreeManager } from '../manager/worktree-manager.js';
import { isOwnerAlive } from '../state/owner.js';
import type { WorktreeTask } from './types.js';
import type { ResolvedPoolConfig } from './worktree-pool.js';

/**
 * The checks that need git, made once before any task starts: no issue's worktree is kept from an
 * earlier run (`ISSUE_BUSY`, unless `existingBranches: 'continue'`), every branch a task would merge
 * into is a local branch, and the push remote exists. A batch that would fail every merge after
 * every agent ran fails at once instead. Returns the kept worktrees the tasks continue in, by issue.
 */
export async function validateBatch(
  manager: WorktreeManager,
  tasks: readonly WorktreeTask[],
  config: Pick<ResolvedPoolConfig, 'merge' | 'push' | 'reuse' | 'keepPaths' | 'prepare' | 'existingBranches'>,
  signal: AbortSignal | undefined,
  variantIssues: ReadonlySet<number> = new Set(),
): Promise<Map<number, WorktreeInfo>> {
  const continued = await keptWorktrees(
    manager,
    tasks.filter((task) => !variantIssues.has(task.issueNumber)),
    config.existingBranches === 'continue',
  );
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
  return continued;
}

/**
 * The worktree each task's issue (or branch) still has from an earlier run: one kept after a
 * conflict, a refused merge or `keep` (`completed`/`failed`, or `active` with its process gone).
 * Without `continueKept` any of them is `ISSUE_BUSY`; with it, those are where the tasks continue.
 * One whose process still runs is `ISSUE_BUSY` either way: two runs would share one folder.
 */
async function keptWorktrees(
  manager: WorktreeManager,
  tasks: readonly WorktreeTask[],
  continueKept: boolean,
): Promise<Map<number, WorktreeInfo>> {
  const worktrees = (await manager.listWorktrees()).filter((w) => w.status !== 'idle');
  const continued = new Map<number, WorktreeInfo>();
  if (worktrees.length === 0) return continued;
  for (const task of tasks) {
    const branch = task.branchName ?? expandBranchPattern(manager.branchPattern, task.issueNumber);
    const held = worktrees.filter((w) => w.issueNumber === task.issueNumber || w.branchName === branch);
    const [only] = held;
    if (!only) continue;
    const running = held.find((w) => w.status === 'active' && isOwnerAlive(w.owner));
    if (continueKept && !running && held.length === 1 && only.branchName === branch) {
      continued.set(task.issueNumber, only);
      continue;
    }
    throw issueBusy(task.issueNumber, running ?? only, held.length, continueKept);
  }
  return continued;
}

/** `ISSUE_BUSY` naming the worktree and what continues it (library calls; the CLI says its commands). */
function issueBusy(
  issueNumber: number,
  worktree: WorktreeInfo,
  count: number,
  continueKept: boolean,
): MiyabiError {
  const running = worktree.status === 'active' && isOwnerAlive(worktree.owner);
  const why = running
    ? `is in use by a live process (pid ${worktree.owner?.pid ?? '?'})`
    : `is kept from an earlier run (status ${worktree.status}, branch ${worktree.branchName})`;
  const reason =
    count > 1
      ? `; it has ${count} worktrees, so it is not clear which to continue in`
      : continueKept && !running
        ? `; it is on branch ${worktree.branchName}, not the task's`
        : '';
  return new MiyabiError(
    'ISSUE_BUSY',
    `issue ${issueNumber}: worktree ${worktree.id} (${worktree.path}) ${why}${reason}; nothing was started`,
    {
      hint: running
        ? `Wait for that run to end, or stop it; then removeWorktree('${worktree.id}') or rerun with existingBranches: 'continue'.`
        : `Continue it: mergeWorktree('${worktree.id}') (after resolving a conflict with mergeTargetIntoWorktree), removeWorktree('${worktree.id}') to drop it (its work is saved), or rerun with existingBranches: 'continue' to run again in it.`,
      details: {
        issueNumber,
        worktreeId: worktree.id,
        worktreePath: worktree.path,
        branchName: worktree.branchName,
        status: worktree.status,
        running,
      },
    },
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
