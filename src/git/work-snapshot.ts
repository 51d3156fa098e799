import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { explainDiskFull } from './disk-full.js';
import { privateObjects } from './private-objects.js';
import { type GitResult, gitStderr, type RunGitOptions, runGit } from './run-git.js';

/** A worktree's HEAD, branch and uncommitted paths (tracked or untracked, not ignored). */
export interface WorktreeState {
  /** undefined for an unborn HEAD. */
  readonly head: string | undefined;
  /** Short branch name; undefined when detached. */
  readonly branch: string | undefined;
  /** Sorted. */
  readonly uncommittedPaths: string[];
  /**
   * Git repositories inside the worktree whose content an archive cannot hold (it records them as a
   * bare commit id): untracked nested repositories (`lib/`), and submodules with changes inside.
   */
  readonly nestedRepositories: { readonly path: string; readonly submodule: boolean }[];
}

/** Reads HEAD, branch and every uncommitted path with one `git status --porcelain=v2 --branch -z`. */
export async function readWorktreeState(worktreePath: string, signal?: AbortSignal): Promise<WorktreeState> {
  const { stdout } = await runGit(
    ['status', '--porcelain=v2', '--branch', '-z', '--untracked-files=all', '--no-renames'],
    { cwd: worktreePath, signal },
  );
  return parseStatusV2(stdout);
}

/** Parses `git status --porcelain=v2 --branch -z --no-renames`. */
export function parseStatusV2(output: string): WorktreeState {
  let head: string | undefined;
  let branch: string | undefined;
  const paths: string[] = [];
  const nestedRepositories: { path: string; submodule: boolean }[] = [];
  // Fields before the path in each record type ('1' ordinary, 'u' unmerged, '?' untracked).
  const fieldsBeforePath: Record<string, number> = { '1': 8, u: 10, '?': 1 };
  for (const record of output.split('\0')) {
    if (record.startsWith('# branch.oid ')) {
      const oid = record.slice('# branch.oid '.length);
      head = oid === '(initial)' ? undefined : oid;
    } else if (record.startsWith('# branch.head ')) {
      const name = record.slice('# branch.head '.length);
      branch = name === '(detached)' ? undefined : name;
    } else {
      const skip = fieldsBeforePath[record[0] ?? ''];
      if (skip === undefined) continue;
      const fields = record.split(' ');
      const path = fields.slice(skip).join(' ');
      paths.push(path);
      // git lists an untracked nested repository as its folder, never its files.
      if (record[0] === '?' && path.endsWith('/')) nestedRepositories.push({ path, submodule: false });
      // `S<c><m><u>`: a submodule whose commit moved, or with tracked or untracked changes inside.
      const sub = fields[2] ?? '';
      if (record[0] !== '?' && sub.startsWith('S') && sub !== 'S...') {
        nestedRepositories.push({ path, submodule: true });
      }
    }
  }
  // A path can appear twice (a staged deletion, and untracked again): every summary lists it once.
  return { head, branch, uncommittedPaths: [...new Set(paths)].sort(), nestedRepositories };
}

/** Paths with uncommitted changes (tracked or untracked, not ignored). */
export async function uncommittedPaths(worktreePath: string, signal?: AbortSignal): Promise<string[]> {
  return (await readWorktreeState(worktreePath, signal)).uncommittedPaths;
}

/**
 * Captures a worktree's uncommitted state (tracked and untracked, not ignored) as a tree, without
 * touching the worktree's index or files: `git add -A` runs on a copy of the index. Returns null
 * when there is nothing uncommitted. `head` is the archive's parent: HEAD, or `unbornParent` when
 * HEAD is unborn (an agent ran `git checkout --orphan`); null without either.
 */
export async function snapshotWorktree(
  worktreePath: string,
  options: {
    signal?: AbortSignal | undefined;
    state?: WorktreeState;
    unbornParent?: string | undefined;
  } = {},
): Promise<{ tree: string; head: string; uncommittedPaths: string[] } | null> {
  const state = options.state ?? (await readWorktreeState(worktreePath, options.signal));
  const head = state.head ?? options.unbornParent;
  if (state.uncommittedPaths.length === 0 || !head) return null;
  const { stdout: paths } = await runGit(
    ['rev-parse', '--path-format=absolute', '--git-path', 'index', '--git-common-dir'],
    { cwd: worktreePath },
  );
  const [indexPath = '', commonDir = ''] = paths.split('\n');
  const temp = await mkdtemp(join(tmpdir(), 'miyabi-index-'));
  const tempIndex = join(temp, 'index');
  // Objects go to a private folder first: a failed add (a full disk) leaves no tmp_obj_* behind.
  const objects = await privateObjects(join(commonDir, 'objects'), join(commonDir, 'miyabi', 'tmp'));
  try {
    // Starting from the real index keeps git's stat cache, so `add -A` does not rehash every file.
    await copyFile(indexPath, tempIndex).catch(() => {});
    const env = { GIT_INDEX_FILE: tempIndex, ...objects.env };
    // git refuses to add a nested repository with no commit ("does not have a commit checked out"):
    // it is left out here, and removal refuses what it holds as work no archive can keep.
    const unborn = await unbornNestedRepositories(worktreePath, state, options.signal);
    const excluded = unborn.map((path) => `:(exclude)${path}`);
    await runGit(['add', '-A', '--', '.', ...excluded], { cwd: worktreePath, env, signal: options.signal });
    const { stdout: tree } = await runGit(['write-tree'], { cwd: worktreePath, env });
    await objects.publish();
    return { tree: tree.trim(), head, uncommittedPaths: state.uncommittedPaths };
  } catch (error) {
    const explained = await explainDiskFull(error, worktreePath);
    await objects.discard();
    throw explained;
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

/**
 * Commits reachable from `rev` found in none of `baseRefs` (missing ones are ignored: a base branch
 * may have been deleted since) and no remote-tracking branch; with `otherBranches`, in no local
 * branch either (they keep their commits when this worktree goes).
 */
export async function countUnmergedCommits(
  cwd: string,
  rev: string,
  baseRefs: readonly string[],
  options: { signal?: AbortSignal | undefined; otherBranches?: boolean } = {},
): Promise<number> {
  const { stdout } = await runGit(
    [
      'rev-list',
      '--count',
      '--ignore-missing',
      rev,
      '--not',
      ...baseRefs,
      '--remotes',
      ...(options.otherBranches ? ['--branches'] : []),
      '--',
    ],
    { cwd, signal: options.signal },
  );
  return Number.parseInt(stdout.trim(), 10) || 0;
}

/** What an archive holds, stored as JSON in its commit message so restore needs nothing else. */
export interface ArchiveMetadata {
  readonly id: string;
  readonly issueNumber: number;
  readonly branchName: string;
  readonly baseBranch: string;
  /** The branch commit the worktree was at (the archive commit's parent). */
  readonly head: string;
  readonly uncommittedPaths: readonly string[];
  readonly unmergedCommits: number;
  readonly archivedAt: string;
}

const METADATA_TRAILER = 'Miyabi-Archive: ';

/**
 * Writes `refs/miyabi/archive/<id>`: a commit whose tree is the worktree's full state (or HEAD's
 * tree when only commits needed saving), whose first parent is the commit the worktree was at, and
 * whose message carries the metadata. An older archive of the same id becomes its second parent,
 * so it stays reachable (archive refs have no reflog).
 */
export async function writeArchive(
  cwd: string,
  tree: string,
  metadata: ArchiveMetadata,
): Promise<{ ref: string; commit: string }> {
  const ref = `refs/miyabi/archive/${metadata.id}`;
  const message = `miyabi-worktree archive of ${metadata.id} (${metadata.branchName})\n\n${METADATA_TRAILER}${JSON.stringify(metadata)}\n`;
  const previous = await runGit(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], {
    cwd,
    okExitCodes: [0, 1],
  });
  const older = previous.exitCode === 0 ? previous.stdout.trim() : undefined;
  const parents = ['-p', metadata.head, ...(older ? ['-p', older] : [])];
  const { stdout } = await runGitAsUser(['commit-tree', tree, ...parents, '-F', '-'], {
    cwd,
    input: message,
  });
  const commit = stdout.trim();
  // Compare-and-swap: an archive written meanwhile by another process is not overwritten.
  await runGit(['update-ref', '-m', `miyabi-worktree: archive ${metadata.id}`, ref, commit, older ?? ''], {
    cwd,
  });
  return { ref, commit };
}

/** Reads an archive written by {@link writeArchive}; null when there is none for `id`. */
export async function readArchive(
  cwd: string,
  id: string,
): Promise<{ ref: string; commit: string; tree: string; metadata: ArchiveMetadata } | null> {
  const ref = `refs/miyabi/archive/${id}`;
  const found = await runGit(['log', '-1', '--format=%H%x00%T%x00%B', ref, '--'], {
    cwd,
    okExitCodes: [0, 128],
  });
  if (found.exitCode !== 0) return null;
  const [commit = '', tree = '', body = ''] = found.stdout.split('\0');
  const line = body.split('\n').find((l) => l.startsWith(METADATA_TRAILER));
  if (!line) return null;
  return { ref, commit, tree, metadata: JSON.parse(line.slice(METADATA_TRAILER.length)) as ArchiveMetadata };
}

let fallbackIdentity: Record<string, string> | undefined;

// What git says when it has no identity to commit with (none configured, none it can guess).
const NO_IDENTITY = /Please tell me who you are|unable to auto-detect email address|empty ident name/i;

/**
 * Runs a git command that commits as the user; only when git has no identity, again as the fixed
 * one of {@link identityEnv}. One process where git has an identity, not a `git var` before each.
 */
export async function runGitAsUser(args: readonly string[], options: RunGitOptions): Promise<GitResult> {
  try {
    return await runGit(args, options);
  } catch (error) {
    if (!NO_IDENTITY.test(gitStderr(error))) throw error;
    return runGit(args, { ...options, env: { ...options.env, ...(await identityEnv(options.cwd)) } });
  }
}

/** The user's identity when git has one; otherwise a fixed one, only for the library's own commits. */
export async function identityEnv(cwd: string): Promise<Record<string, string> | undefined> {
  const configured = await runGit(['var', 'GIT_COMMITTER_IDENT'], { cwd, okExitCodes: [0, 128] });
  if (configured.exitCode === 0) return undefined;
  fallbackIdentity ??= {
    GIT_AUTHOR_NAME: 'miyabi-worktree',
    GIT_AUTHOR_EMAIL: 'miyabi-worktree@localhost',
    GIT_COMMITTER_NAME: 'miyabi-worktree',
    GIT_COMMITTER_EMAIL: 'miyabi-worktree@localhost',
  };
  return fallbackIdentity;
}

/** Untracked nested repositories whose HEAD has no commit yet (`git init` and nothing committed). */
async function unbornNestedRepositories(
  worktreePath: string,
  state: WorktreeState,
  signal: AbortSignal | undefined,
): Promise<string[]> {
  const unborn: string[] = [];
  // Only when the status listed one: the usual worktree starts no git process here.
  for (const nested of state.nestedRepositories) {
    if (nested.submodule) continue;
    const head = await runGit(['rev-parse', '--verify', '--quiet', 'HEAD'], {
      cwd: join(worktreePath, nested.path),
      signal,
      okExitCodes: [0, 1],
    });
    if (head.exitCode !== 0) unborn.push(nested.path);
  }
  return unborn;
}
