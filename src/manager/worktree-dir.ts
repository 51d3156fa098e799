import { constants } from 'node:fs';
import { access, realpath, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { WorktreeInfo } from '../core/types.js';
import { MiyabiError } from '../errors.js';
import type { RepositoryInfo } from '../git/repository.js';
import { runGit } from '../git/run-git.js';
import { assertNoControlCharacters, relativeInside } from '../state/info-exclude.js';
import type { ManagerWarning } from './warnings.js';

/** The folder inside the repository: the fallback default, and that of records older than `worktreeDir`. */
export const IN_REPO_WORKTREE_DIR = '.worktrees';

/** The worktree folder to use when neither the option nor the configuration names one. */
export interface DefaultWorktreeDir {
  /** `../<repo folder>.worktrees`, else `.worktrees`. */
  readonly dir: string;
  /** Why the folder beside the repository was not used (then `dir` is `.worktrees`). */
  readonly fallbackReason?: string;
}

/**
 * `../<repo folder>.worktrees` beside the repository, so that Node's module lookup from a worktree
 * never walks up into the main checkout's `node_modules`; `.worktrees` inside it when that folder's
 * parent is not writable or lies on another filesystem than the repository (a repository mounted
 * on its own, e.g. a container volume, whose parent is not kept). Two stats and an access check.
 */
export async function defaultWorktreeDir(repo: RepositoryInfo): Promise<DefaultWorktreeDir> {
  const parent = dirname(repo.root);
  const beside = join(parent, `${basename(repo.root)}.worktrees`);
  if (parent === repo.root)
    return { dir: IN_REPO_WORKTREE_DIR, fallbackReason: 'the repository is the file system root' };
  // An existing folder is checked itself: it may be writable where its parent is not.
  const existing = await stat(beside).catch(() => undefined);
  const folder = existing?.isDirectory() ? beside : parent;
  const [folderInfo, rootInfo, writable] = await Promise.all([
    stat(folder).catch(() => undefined),
    stat(repo.root),
    access(folder, constants.W_OK).then(
      () => true,
      () => false,
    ),
  ]);
  if (existing && !existing.isDirectory()) {
    return { dir: IN_REPO_WORKTREE_DIR, fallbackReason: `${beside} exists and is not a folder` };
  }
  if (!folderInfo || !writable) {
    return { dir: IN_REPO_WORKTREE_DIR, fallbackReason: `${folder} is not writable` };
  }
  if (folderInfo.dev !== rootInfo.dev) {
    return {
      dir: IN_REPO_WORKTREE_DIR,
      fallbackReason: `${folder} is on another filesystem than the repository`,
    };
  }
  return { dir: beside };
}

/**
 * The worktree folder, resolved (see {@link resolveWorktreeDir}): `chosen` (the option or the
 * configuration's), else the default; with what to say about it at the first worktree.
 */
export async function chooseWorktreeDir(
  repo: RepositoryInfo,
  chosen: string | undefined,
): Promise<{ dir: string; notes: ManagerWarning[] }> {
  const fallback = chosen === undefined ? await defaultWorktreeDir(repo) : undefined;
  const dir = await resolveWorktreeDir(repo, chosen ?? fallback?.dir ?? IN_REPO_WORKTREE_DIR);
  return { dir, notes: await worktreeDirNotes(repo, dir, fallback?.fallbackReason) };
}

/** The folder a record's worktree was created in: records without the field were made in `.worktrees`. */
export function recordWorktreeDir(repo: RepositoryInfo, record: WorktreeInfo): string {
  return record.worktreeDir ?? join(repo.root, IN_REPO_WORKTREE_DIR);
}

/**
 * What a person should hear about the worktree folder (said once, at the first worktree): the
 * default fell back inside the repository, or the folder lies inside the repository below a
 * `node_modules` that every worktree's module lookup reaches (tasks would run against the main
 * checkout's dependencies, not their own). Only in-repository folders cost a look, one stat per level.
 */
export async function worktreeDirNotes(
  repo: RepositoryInfo,
  worktreeDir: string,
  fallbackReason: string | undefined,
): Promise<ManagerWarning[]> {
  const inside = relativeInside(repo.root, worktreeDir);
  if (inside === undefined) return [];
  const modules = await enclosingNodeModules(repo.root, worktreeDir);
  const beside = `../${basename(repo.root)}.worktrees`;
  const why = fallbackReason === undefined ? '' : ` (not ${beside}: ${fallbackReason})`;
  if (modules !== undefined) {
    return [
      {
        code: 'SHARED_NODE_MODULES',
        message: `worktrees in ${inside}${why} lie inside the repository, so Node finds its ${relative(repo.root, modules)} from them and tasks may pass against the main checkout's dependencies instead of their own; set worktreeDir outside the repository (e.g. ${beside}), and use share to give tasks those dependencies on purpose`,
        path: worktreeDir,
      },
    ];
  }
  if (fallbackReason === undefined) return [];
  return [
    {
      code: 'WORKTREE_DIR_INSIDE',
      message: `worktrees go in ${inside} inside the repository${why}; set worktreeDir to choose another folder`,
      path: worktreeDir,
    },
  ];
}

/** The nearest `node_modules` folder Node's lookup meets from a worktree in `worktreeDir`, up to `root`. */
async function enclosingNodeModules(root: string, worktreeDir: string): Promise<string | undefined> {
  for (let folder = worktreeDir; ; folder = dirname(folder)) {
    const candidate = join(folder, 'node_modules');
    if ((await stat(candidate).catch(() => undefined))?.isDirectory()) return candidate;
    if (folder === root || dirname(folder) === folder) return undefined;
  }
}

/**
 * Resolves `worktreeDir` against the main worktree root (never the process cwd) and refuses a
 * folder inside the git dir, the root itself, a name with control characters, and a folder that
 * holds tracked files (excluding it would hide the user's new files there, and removal would lose them).
 */
export async function resolveWorktreeDir(repo: RepositoryInfo, dir: string): Promise<string> {
  if (typeof dir !== 'string' || dir.trim() === '') {
    throw new MiyabiError('INVALID_ARGUMENT', 'worktreeDir must be a non-empty path');
  }
  assertNoControlCharacters(dir, 'worktreeDir');
  const absolute = await realpathLoose(isAbsolute(dir) ? resolve(dir) : resolve(repo.root, dir));
  if (isInsideOrSame(repo.commonDir, absolute)) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `worktreeDir ${dir} resolves into the git directory (${absolute})`,
      {
        hint: "Use a folder outside .git, e.g. '.worktrees' or '../worktrees'.",
      },
    );
  }
  if (isInsideOrSame(absolute, repo.root)) {
    throw new MiyabiError('INVALID_ARGUMENT', `worktreeDir ${dir} is the repository root or contains it`, {
      hint: "Use a subfolder such as '.worktrees', or a folder beside the repository.",
    });
  }
  const blocker = await nonFolderOnPath(absolute);
  if (blocker) {
    throw new MiyabiError('INVALID_ARGUMENT', `worktreeDir ${dir}: ${blocker} exists and is not a folder`, {
      hint: 'Point worktreeDir at a folder, or at a path that does not exist yet.',
    });
  }
  const rel = relativeInside(repo.root, absolute);
  if (rel !== undefined) await assertNoTrackedFiles(repo.root, rel, dir);
  return absolute;
}

/** Refuses a worktree folder inside the repository that holds tracked files (one git call, the index only). */
async function assertNoTrackedFiles(root: string, rel: string, dir: string): Promise<void> {
  // `literal`: a folder named `w*` is that folder, not a glob.
  const { stdout } = await runGit(['ls-files', '-z', '--', `:(literal)${rel}`], { cwd: root });
  const first = stdout.split('\0')[0];
  if (first) {
    throw new MiyabiError('INVALID_ARGUMENT', `worktreeDir ${dir} holds tracked files (${first}, ...)`, {
      hint: "Worktrees need a folder of their own: use e.g. '.worktrees' or '../worktrees'.",
      details: { worktreeDir: dir, trackedFile: first },
    });
  }
}

/** The deepest existing path on the way to `path` when it is not a folder (a file in the way). */
async function nonFolderOnPath(path: string): Promise<string | undefined> {
  for (let current = path; ; current = dirname(current)) {
    const info = await stat(current).catch(() => undefined);
    if (info) return info.isDirectory() ? undefined : current;
    if (dirname(current) === current) return undefined;
  }
}

/** True when `child` is `parent` or lies below it. */
function isInsideOrSame(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** realpath of the deepest existing ancestor, so paths match what git records even before mkdir. */
async function realpathLoose(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    const parent = dirname(path);
    if (parent === path) return path;
    return join(await realpathLoose(parent), basename(path));
  }
}
