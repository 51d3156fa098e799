import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { runGit } from '../git/run-git.js';
import { snapshotWorktree, type WorktreeState } from '../git/work-snapshot.js';

// A fixed identity and date: the same uncommitted state always gives the same commit id, so the
// radar's caches (changed files per commit, merge results per pair) hold across looks.
const SNAPSHOT_ENV = {
  GIT_AUTHOR_NAME: 'miyabi-worktree radar',
  GIT_AUTHOR_EMAIL: 'radar@miyabi-worktree.invalid',
  GIT_AUTHOR_DATE: '@1000000000 +0000',
  GIT_COMMITTER_NAME: 'miyabi-worktree radar',
  GIT_COMMITTER_EMAIL: 'radar@miyabi-worktree.invalid',
  GIT_COMMITTER_DATE: '@1000000000 +0000',
};

/** Git processes {@link uncommittedCommit} starts: `rev-parse`, `add -A`, `write-tree`, `commit-tree`. */
export const SNAPSHOT_GIT_CALLS = 4;

/**
 * A commit standing for a worktree's uncommitted state (tracked and untracked, not ignored) on top
 * of its HEAD, built through a temporary index (`add -A`, `write-tree`, `commit-tree`): the
 * worktree's own index and files are never touched. Nothing refers to it (git's gc drops it in
 * time). Undefined when nothing is uncommitted.
 */
export async function uncommittedCommit(
  worktreePath: string,
  state: WorktreeState,
  signal?: AbortSignal,
): Promise<string | undefined> {
  const snapshot = await snapshotWorktree(worktreePath, { signal, state });
  if (!snapshot) return undefined;
  const { stdout } = await runGit(
    [
      'commit-tree',
      '--no-gpg-sign',
      snapshot.tree,
      '-p',
      snapshot.head,
      '-m',
      'miyabi-worktree radar: uncommitted changes',
    ],
    { cwd: worktreePath, env: SNAPSHOT_ENV, signal },
  );
  return stdout.trim();
}

/**
 * What `git status` cannot tell apart: a file edited again shows the same status line. HEAD, the
 * dirty paths and each one's size and mtime (read without git) change whenever the content does.
 */
export async function uncommittedFingerprint(worktreePath: string, state: WorktreeState): Promise<string> {
  const stats = await Promise.all(
    state.uncommittedPaths.map((path) =>
      lstat(join(worktreePath, path)).then(
        (s) => `${s.size}:${s.mtimeMs}:${s.ino}`,
        () => '-',
      ),
    ),
  );
  return JSON.stringify([state.head, state.uncommittedPaths, stats]);
}
