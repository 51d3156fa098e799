import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { git } from './temp-repo.js';

/** Everything a failed operation must leave unchanged: refs, worktrees, status, registry, folders. */
export interface RepoState {
  readonly refs: string;
  readonly worktrees: string;
  readonly status: string;
  readonly registry: string;
  readonly worktreeFolders: string[];
}

/** Captures the observable state of a repository for before/after comparisons; `worktreeDir` defaults to the manager's default, beside the repository. */
export function repoState(repoPath: string, worktreeDir = `${repoPath}.worktrees`): RepoState {
  const commonDir = git(repoPath, 'rev-parse', '--path-format=absolute', '--git-common-dir');
  const registryFile = join(commonDir, 'miyabi', 'registry.json');
  const registry = existsSync(registryFile)
    ? JSON.stringify((JSON.parse(readFileSync(registryFile, 'utf8')) as { worktrees: unknown[] }).worktrees)
    : '[]';
  return {
    refs: git(repoPath, 'for-each-ref', '--format=%(refname) %(objectname)'),
    worktrees: git(repoPath, 'worktree', 'list', '--porcelain'),
    status: git(repoPath, 'status', '--porcelain=v1', '--untracked-files=all'),
    registry,
    worktreeFolders: existsSync(worktreeDir) ? readdirSync(worktreeDir).sort() : [],
  };
}

/** Absolute paths of every worktree git knows, the main one first. */
export function worktreePaths(repoPath: string): string[] {
  return git(repoPath, 'worktree', 'list', '--porcelain')
    .split('\n')
    .filter((line) => line.startsWith('worktree '))
    .map((line) => line.slice('worktree '.length));
}
