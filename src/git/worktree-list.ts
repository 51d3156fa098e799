import { runGit } from './run-git.js';

/** One record of `git worktree list --porcelain -z`. */
export interface GitWorktreeEntry {
  /** Absolute path as git records it. */
  readonly path: string;
  /** Commit checked out; undefined for a bare entry or an unborn branch. */
  readonly head: string | undefined;
  /** Full ref (`refs/heads/x`) or undefined when detached or bare. */
  readonly branch: string | undefined;
  readonly detached: boolean;
  readonly bare: boolean;
  /** Reason text when locked ('' when locked without a reason), else undefined. */
  readonly locked: string | undefined;
  /** Reason text when git considers it prunable (e.g. folder gone), else undefined. */
  readonly prunable: string | undefined;
  /** The first entry is always the main worktree. */
  readonly isMain: boolean;
}

const ZERO_OID = /^0+$/;

/** Parses `git worktree list --porcelain -z` output (NUL-terminated lines, records split by an empty line). */
export function parseWorktreeList(output: string): GitWorktreeEntry[] {
  const entries: GitWorktreeEntry[] = [];
  for (const record of output.split('\0\0')) {
    const lines = record.split('\0').filter((line) => line.length > 0);
    if (lines.length === 0) continue;
    let path: string | undefined;
    let head: string | undefined;
    let branch: string | undefined;
    let detached = false;
    let bare = false;
    let locked: string | undefined;
    let prunable: string | undefined;
    for (const line of lines) {
      const space = line.indexOf(' ');
      const key = space === -1 ? line : line.slice(0, space);
      const value = space === -1 ? '' : line.slice(space + 1);
      switch (key) {
        case 'worktree':
          path = value;
          break;
        case 'HEAD':
          head = ZERO_OID.test(value) ? undefined : value;
          break;
        case 'branch':
          branch = value;
          break;
        case 'detached':
          detached = true;
          break;
        case 'bare':
          bare = true;
          break;
        case 'locked':
          locked = value;
          break;
        case 'prunable':
          prunable = value;
          break;
        default:
          // Unknown keys come from newer git versions; ignoring them keeps the parser forward-compatible.
          break;
      }
    }
    if (path === undefined) continue;
    entries.push({ path, head, branch, detached, bare, locked, prunable, isMain: entries.length === 0 });
  }
  return entries;
}

/** Lists every worktree of the repository that `cwd` belongs to, main worktree first. */
export async function listGitWorktrees(cwd: string, signal?: AbortSignal): Promise<GitWorktreeEntry[]> {
  const { stdout } = await runGit(['worktree', 'list', '--porcelain', '-z'], { cwd, signal });
  return parseWorktreeList(stdout);
}

/** Short branch name of a full ref (`refs/heads/feature/x` -> `feature/x`). */
export function shortBranchName(ref: string): string {
  return ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : ref;
}
