import type { WorktreeInfo } from '../core/types.js';
import { MiyabiError } from '../errors.js';
import { runGit } from '../git/run-git.js';
import { readWorktreeState, runGitAsUser, snapshotWorktree } from '../git/work-snapshot.js';
import type { WorktreeManager } from '../manager/worktree-manager.js';

// Generous, as every push and fetch of the queue's remote.
const REMOTE_TIMEOUT_MS = 10 * 60_000;

/** Where a paused task's work waits on the remote: `refs/miyabi/paused/<batch>/issue-<n>`. */
export function pausedWorkRef(batchId: string, issueNumber: number): string {
  return `refs/miyabi/paused/${batchId}/issue-${issueNumber}`;
}

/**
 * Pushes a paused task's work to the queue's remote before its job waits, so whichever worker takes
 * the job at the reset continues it: its commits, and its uncommitted files (tracked and untracked,
 * not ignored) as one snapshot commit on top of them. The worktree itself is not touched.
 */
export async function pushPausedWork(
  repo: string,
  worktreePath: string,
  ref: string,
  signal?: AbortSignal,
): Promise<{ readonly head: string; readonly snapshot: boolean }> {
  const state = await readWorktreeState(worktreePath, signal);
  const head = state.head;
  if (head === undefined) {
    throw new MiyabiError('GIT_FAILED', `the paused task's worktree ${worktreePath} has no commit to save`);
  }
  const snap = await snapshotWorktree(worktreePath, { signal, state });
  const commit = snap
    ? (
        await runGitAsUser(
          ['commit-tree', snap.tree, '-p', head, '-m', 'miyabi-worktree: uncommitted work of a paused task'],
          { cwd: worktreePath },
        )
      ).stdout.trim()
    : head;
  // The ref is the job's own: a second pause of the task replaces its first.
  await runGit(['push', '--quiet', '--force', 'origin', `${commit}:${ref}`], {
    cwd: repo,
    signal,
    timeoutMs: REMOTE_TIMEOUT_MS,
  });
  return { head, snapshot: snap !== null };
}

/**
 * On a worker that did not pause the task: its branch at the paused commit (fetched from the
 * remote) in a new worktree, with the uncommitted files put back as uncommitted, kept (`failed`)
 * so the worker's pool continues in it.
 */
export async function restorePausedWork(
  repo: string,
  manager: WorktreeManager,
  task: {
    readonly ref: string;
    readonly head: string;
    readonly snapshot: boolean;
    readonly issueNumber: number;
    readonly branchName: string;
    readonly baseBranch: string;
  },
  signal?: AbortSignal,
): Promise<WorktreeInfo> {
  await runGit(['fetch', '--quiet', 'origin', `+${task.ref}:${task.ref}`], {
    cwd: repo,
    signal,
    timeoutMs: REMOTE_TIMEOUT_MS,
  });
  const commit = (
    await runGit(['rev-parse', '--verify', `${task.ref}^{commit}`], { cwd: repo })
  ).stdout.trim();
  // The ref must hold what the pause recorded: the branch's commit, or a snapshot right on top of it.
  const head = task.snapshot
    ? (await runGit(['rev-parse', '--verify', `${commit}^1`], { cwd: repo })).stdout.trim()
    : commit;
  if (head !== task.head) {
    throw new MiyabiError(
      'GIT_FAILED',
      `${task.ref} on the remote is not the work the task paused with (${task.head.slice(0, 12)})`,
      { hint: 'Was the ref moved by hand? The worker that paused the task still keeps its worktree.' },
    );
  }
  await runGit(['branch', '--quiet', '--no-track', '-f', task.branchName, head], { cwd: repo, signal });
  const info = await manager.createWorktree(task.issueNumber, {
    existingBranch: 'reuse',
    branchName: task.branchName,
    baseBranch: task.baseBranch,
    ...(signal ? { signal } : {}),
  });
  if (task.snapshot) {
    // As restore does: files written, updated and deleted to the snapshot, the index left at HEAD.
    await runGit(['read-tree', '--reset', '-u', `${commit}^{tree}`], { cwd: info.path });
    await runGit(['reset', '--quiet'], { cwd: info.path });
  }
  return manager.updateStatus(info.id, 'failed');
}

/** Drops the paused ref from the remote once the task's branch holds its work (best effort). */
export async function dropPausedWork(repo: string, ref: string): Promise<void> {
  await runGit(['push', '--quiet', 'origin', `:${ref}`], { cwd: repo, timeoutMs: REMOTE_TIMEOUT_MS }).catch(
    () => undefined,
  );
  await runGit(['update-ref', '-d', ref], { cwd: repo }).catch(() => undefined);
}
