import { realpath, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { MiyabiError } from '../errors.js';
import type { RepositoryInfo } from '../git/repository.js';
import { runGit } from '../git/run-git.js';
import { assertNoControlCharacters, relativeInside } from '../state/info-exclude.js';

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
