import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { runGit } from './run-git.js';
import type { WorktreeState } from './work-snapshot.js';
import { worktreeAdminDir } from './worktree-admin.js';

/**
 * Repositories inside a worktree holding work that removal would destroy and an archive cannot
 * hold (it records a nested repository as a bare commit id): an untracked nested repository or a
 * submodule with uncommitted changes, or with commits on none of its remotes (a submodule's
 * objects live in the worktree's own admin folder and go with it). One "path: why" each; empty
 * for the usual case, without spawning git. A clean clone whose commits are all on its remotes
 * is not listed: deleting it loses nothing.
 */
export async function unarchivableRepositories(
  worktreePath: string,
  state: WorktreeState,
  signal?: AbortSignal,
): Promise<string[]> {
  const found: string[] = [];
  for (const nested of state.nestedRepositories) {
    const dir = join(worktreePath, nested.path);
    if (nested.submodule) {
      if (await hasUncommittedChanges(dir, signal))
        found.push(`${nested.path}: uncommitted changes in a submodule`);
      continue;
    }
    if (await hasUncommittedChanges(dir, signal))
      found.push(`${nested.path}: uncommitted changes in a nested repository`);
    const unpushed = await commitsOnNoRemote([], dir, signal);
    if (unpushed > 0)
      found.push(`${nested.path}: ${unpushed} commit(s) of a nested repository on none of its remotes`);
  }
  const adminDir = await worktreeAdminDir(worktreePath);
  if (adminDir) {
    for (const gitDir of await moduleGitDirs(join(adminDir, 'modules'))) {
      const unpushed = await commitsOnNoRemote([`--git-dir=${gitDir}`], gitDir, signal);
      const name = relative(join(adminDir, 'modules'), gitDir).split('/modules/').join('/');
      if (unpushed > 0) found.push(`${name}: ${unpushed} commit(s) of a submodule on none of its remotes`);
    }
  }
  return found;
}

async function hasUncommittedChanges(dir: string, signal?: AbortSignal): Promise<boolean> {
  const { stdout } = await runGit(['status', '--porcelain', '--untracked-files=normal'], {
    cwd: dir,
    signal,
  });
  return stdout.trim() !== '';
}

/** Commits reachable from any local ref or HEAD of that repository but from none of its remotes. */
async function commitsOnNoRemote(
  select: readonly string[],
  cwd: string,
  signal?: AbortSignal,
): Promise<number> {
  const { stdout } = await runGit([...select, 'rev-list', '--count', '--all', '--not', '--remotes'], {
    cwd,
    signal,
  });
  return Number.parseInt(stdout.trim(), 10) || 0;
}

/** The git dirs of initialised submodules (`modules/<name>`, nested ones below `modules/` again). */
async function moduleGitDirs(modulesDir: string): Promise<string[]> {
  const entries = await readdir(modulesDir, { withFileTypes: true }).catch(() => []);
  const dirs: string[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const dir = join(modulesDir, entry.name);
    const isGitDir = await stat(join(dir, 'HEAD')).then(
      (info) => info.isFile(),
      () => false,
    );
    // A submodule name may contain slashes: its git dir then sits deeper.
    dirs.push(
      ...(isGitDir ? [dir, ...(await moduleGitDirs(join(dir, 'modules')))] : await moduleGitDirs(dir)),
    );
  }
  return dirs;
}
