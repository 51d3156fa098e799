import { constants } from 'node:fs';
import { copyFile, lstat, mkdir, readdir, readlink, realpath, symlink } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { SkippedInclude } from '../core/prepare-result.js';
import { MiyabiError } from '../errors.js';
import { runGit } from '../git/run-git.js';

export type { SkippedInclude };

/** The file, at the repository root, listing (in gitignore syntax) ignored files to copy. */
export const WORKTREE_INCLUDE_FILE = '.worktreeinclude';

export interface CopyWorktreeIncludeResult {
  /** Relative paths copied into the worktree, in git's (sorted) order. */
  readonly copied: string[];
  readonly skipped: SkippedInclude[];
}

export interface CopyWorktreeIncludeOptions {
  readonly signal?: AbortSignal | undefined;
  /**
   * The folder holding the worktrees (absolute), left out of the scan of the main checkout: a
   * sibling's half-done `worktree add` there makes the scan fail (`failed to read .../commondir`).
   * @default the worktree itself only
   */
  readonly worktreeDir?: string | undefined;
}

// Copies in flight at once: enough to hide latency, few enough to stay clear of EMFILE.
const COPY_PARALLELISM = 16;

/**
 * Copies into a new worktree the files the repository's `.worktreeinclude` lists — the convention
 * shared by Claude Code, worktrunk and gtr: gitignore syntax, root file only, and only files git
 * ignores (a `.env`, `config/local.json`); tracked files come with the checkout anyway.
 *
 * Two git calls whatever the repository's size: `ls-files --others --ignored
 * --exclude-from=.worktreeinclude` (untracked files the patterns match, with gitignore semantics:
 * `!` negation, anchoring `/`, `dir/`, `**`), then `check-ignore --stdin` keeps those git's own
 * rules ignore (`.gitignore` files, `.git/info/exclude`, `core.excludesFile`).
 *
 * Every file a pattern matched but that was not copied is in `skipped` with its reason (a file git
 * does not ignore included). Files keep their relative path and mode. An existing file in the worktree is never overwritten
 * (skipped as `exists`). A symlink is recreated as a symlink only when its target is relative and
 * stays inside the repository; nothing is written through a symlinked folder of the worktree, nor
 * where the worktree has a file or a dangling link instead of a folder (`unsafe-destination`). Any
 * other file system error on one file skips it as `copy-failed`, with the error's message.
 * No `.worktreeinclude` → nothing copied, no git call.
 *
 * @throws MiyabiError `CANCELLED` when `signal` aborts; `GIT_FAILED` when git fails.
 */
export async function copyWorktreeInclude(
  repoRoot: string,
  worktreePath: string,
  options: CopyWorktreeIncludeOptions = {},
): Promise<CopyWorktreeIncludeResult> {
  const includeFile = join(repoRoot, WORKTREE_INCLUDE_FILE);
  if (!(await isFile(includeFile))) return { copied: [], skipped: [] };
  const scanned = await listIncludedIgnored(
    repoRoot,
    includeFile,
    options.worktreeDir ?? worktreePath,
    options.signal,
  );
  const { candidates } = scanned;
  const source = await realpath(repoRoot);
  const target = await realpath(worktreePath);
  const copied: string[] = [];
  const skipped: SkippedInclude[] = [...scanned.skipped];
  for (let start = 0; start < candidates.length; start += COPY_PARALLELISM) {
    throwIfAborted(options.signal);
    const batch = candidates.slice(start, start + COPY_PARALLELISM);
    const outcomes = await Promise.all(batch.map((path) => copyOneSafely(source, target, path)));
    batch.forEach((path, index) => {
      const outcome = outcomes[index];
      if (outcome === undefined) copied.push(path);
      else skipped.push({ path, ...outcome });
    });
  }
  return { copied, skipped: skipped.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)) };
}

/**
 * Untracked files matching the include patterns that git's standard rules ignore (`candidates`),
 * and those matched but left out, with why. `leftOut` (the worktree folder) is not scanned.
 */
async function listIncludedIgnored(
  repoRoot: string,
  includeFile: string,
  leftOut: string,
  signal: AbortSignal | undefined,
): Promise<{ candidates: string[]; skipped: SkippedInclude[] }> {
  const leftOutRel = toGitPath(relative(repoRoot, leftOut));
  const inside = leftOutRel !== '' && !leftOutRel.startsWith('..') && !isAbsolute(leftOutRel);
  const pathspecs = inside ? await pathspecsAround(repoRoot, leftOutRel) : [];
  if (pathspecs.length === 0 && inside) return { candidates: [], skipped: [] };
  const matched = await runGit(
    [
      'ls-files',
      '--others',
      '--ignored',
      `--exclude-from=${includeFile}`,
      '-z',
      ...(pathspecs.length > 0 ? ['--', ...pathspecs] : []),
    ],
    { cwd: repoRoot, signal },
  );
  const skipped: SkippedInclude[] = [];
  const files: string[] = [];
  for (const path of splitNul(matched.stdout)) {
    // Entries ending in `/` are nested repositories: never copied.
    if (path.endsWith('/')) skipped.push({ path: path.slice(0, -1), reason: 'nested-repository' });
    else files.push(path);
  }
  if (files.length === 0) return { candidates: [], skipped };
  // Exit 1 means "none of them is ignored", an answer rather than a failure.
  const ignored = await runGit(['check-ignore', '--stdin', '-z'], {
    cwd: repoRoot,
    signal,
    input: `${files.join('\0')}\0`,
    okExitCodes: [0, 1],
  });
  const ignoredSet = new Set(splitNul(ignored.stdout));
  const candidates: string[] = [];
  for (const path of files) {
    if (ignoredSet.has(path)) candidates.push(path);
    else skipped.push({ path, reason: 'not-ignored' });
  }
  return { candidates, skipped };
}

/**
 * Literal pathspecs naming everything in the repository except the folder `rel` and `.git`: the
 * siblings of each folder on the way down to it. An `:(exclude)` pathspec is not enough: git still
 * walks into an excluded folder that an include pattern (`*`, `.*`) ignores.
 */
async function pathspecsAround(repoRoot: string, rel: string): Promise<string[]> {
  const specs: string[] = [];
  let dir = repoRoot;
  let prefix = '';
  for (const part of rel.split('/')) {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      if (name !== part && !(prefix === '' && name === '.git')) specs.push(`:(literal)${prefix}${name}`);
    }
    dir = join(dir, part);
    prefix = `${prefix}${part}/`;
  }
  return specs;
}

/**
 * {@link copyOne}, with any other file system error on that file turned into a `copy-failed`
 * skip: one file that cannot be copied is reported like the others, never fails the worktree.
 */
async function copyOneSafely(
  source: string,
  target: string,
  path: string,
): Promise<Omit<SkippedInclude, 'path'> | undefined> {
  try {
    const reason = await copyOne(source, target, path);
    return reason === undefined ? undefined : { reason };
  } catch (error) {
    return { reason: 'copy-failed', error: error instanceof Error ? error.message : String(error) };
  }
}

/** Copies one file; returns why it was skipped, or `undefined` when it was copied. */
async function copyOne(
  source: string,
  target: string,
  path: string,
): Promise<Exclude<SkippedInclude['reason'], 'copy-failed'> | undefined> {
  const from = join(source, path);
  const to = join(target, path);
  const stat = await lstat(from).catch(() => undefined);
  if (!stat || !(stat.isFile() || stat.isSymbolicLink())) return 'not-a-file';
  const link = stat.isSymbolicLink() ? await readlink(from) : undefined;
  if (link !== undefined && (isAbsolute(link) || !isInside(resolve(dirname(from), link), source))) {
    return 'symlink-outside';
  }
  if (!(await prepareParent(target, to))) return 'unsafe-destination';
  try {
    // COPYFILE_EXCL: never overwrite, atomically; FICLONE: copy-on-write where the disk allows.
    if (link !== undefined) await symlink(link, to);
    else await copyFile(from, to, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
    return undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return 'exists';
    throw error;
  }
}

// mkdir -p of the destination's folder meets the worktree's own version of a parent: a file
// (EEXIST, ENOTDIR), a dangling link such as a tracked `cfgdir -> ../../victim` (ENOENT), a link loop (ELOOP).
const UNSAFE_PARENT_CODES: ReadonlySet<string> = new Set(['EEXIST', 'ENOTDIR', 'ENOENT', 'ELOOP']);

/** Creates the destination's folder; false when it resolves outside the worktree (a symlinked folder). */
async function prepareParent(target: string, to: string): Promise<boolean> {
  const parent = dirname(to);
  try {
    await mkdir(parent, { recursive: true });
  } catch (error) {
    if (UNSAFE_PARENT_CODES.has((error as NodeJS.ErrnoException).code ?? '')) return false;
    throw error;
  }
  return isInside(await realpath(parent), target);
}

function isInside(path: string, root: string): boolean {
  if (root === '') return false;
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

async function isFile(path: string): Promise<boolean> {
  const stat = await lstat(path).catch(() => undefined);
  return stat?.isFile() ?? false;
}

function splitNul(text: string): string[] {
  return text.split('\0').filter((entry) => entry !== '');
}

function toGitPath(path: string): string {
  return sep === '/' ? path : path.split(sep).join('/');
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new MiyabiError('CANCELLED', 'copying .worktreeinclude files was cancelled', {
      cause: signal.reason,
    });
  }
}
