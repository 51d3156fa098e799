import { realpath, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe } from '../core/describe.js';
import { MiyabiError } from '../errors.js';
import { branchNameProblem, GENERATED_BRANCH_CHARACTERS } from './branch-name.js';
import { gitStderr, runGit } from './run-git.js';
import { type GitWorktreeEntry, listGitWorktrees, shortBranchName } from './worktree-list.js';

/** Where a repository lives: what every manager needs to know about it. */
export interface RepositoryInfo {
  /** Absolute main worktree root (realpath). */
  readonly root: string;
  /** Absolute git common dir (shared by every worktree). */
  readonly commonDir: string;
  /** Our state folder inside the common dir. */
  readonly stateDir: string;
  /** The main worktree as git saw it at discovery. */
  readonly main: GitWorktreeEntry;
}

/** A base branch resolved to the ref a new worktree starts from. */
export interface BaseRef {
  /** Short name recorded as `baseBranch` and used as the default merge target (e.g. `main`). */
  readonly name: string;
  /** Full ref the worktree starts from (`refs/heads/main` or `refs/remotes/origin/main`). */
  readonly ref: string;
  readonly commit: string;
  /** Why this base: given as an option, from the configuration file, or detected (which rule). */
  readonly source?: BaseSource;
}

/** Where a default base came from, in the order they are tried. */
export type BaseSource = 'option' | 'config' | 'origin/HEAD' | 'main' | 'master' | 'current branch';

/**
 * Finds the repository containing `cwd` (any subfolder, or inside a linked worktree) and resolves
 * its main worktree. Throws `NOT_A_REPOSITORY`, `BARE_REPOSITORY` or `NO_COMMITS`; touches nothing.
 */
export async function discoverRepository(cwd: string): Promise<RepositoryInfo> {
  const start = resolve(cwd);
  const info = await stat(start).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new MiyabiError('NOT_A_REPOSITORY', `${start} is not a directory`, {
      hint: 'Pass an existing folder inside a git repository.',
    });
  }
  const quick = await discoverFromMainWorktree(start);
  if (quick) return quick;
  let commonDirOut: string;
  let worktrees: GitWorktreeEntry[];
  try {
    [commonDirOut, worktrees] = await Promise.all([
      runGit(['rev-parse', '--path-format=absolute', '--git-common-dir'], { cwd: start }).then(
        (r) => r.stdout,
      ),
      listGitWorktrees(start),
    ]);
  } catch (error) {
    if (/not a git repository/i.test(gitStderr(error))) {
      throw new MiyabiError('NOT_A_REPOSITORY', `${start} is not inside a git repository`, { cause: error });
    }
    throw error;
  }
  const main = worktrees[0];
  if (!main || main.bare) {
    throw new MiyabiError('BARE_REPOSITORY', `${start} belongs to a bare repository`, {
      hint: 'Worktrees are managed from a repository with a working tree; clone it without --bare.',
    });
  }
  const commonDir = await realpath(commonDirOut.trim());
  const root = await realpath(main.path);
  if (!main.head) {
    const { stdout } = await runGit(['for-each-ref', '--count=1', '--format=%(objectname)', 'refs/heads/'], {
      cwd: root,
    });
    if (!stdout.trim()) {
      throw new MiyabiError('NO_COMMITS', `${root} has no commit yet`, {
        hint: 'Make a first commit (git commit --allow-empty -m init), then try again.',
      });
    }
  }
  return { root, commonDir, stateDir: join(commonDir, 'miyabi'), main };
}

/**
 * The common case in one `rev-parse`: `start` is inside the main worktree (its git dir is the
 * common dir), which has a commit checked out. Undefined otherwise (a linked worktree, a bare
 * repository, no commit yet, not a repository): `git worktree list` then tells which case it is.
 */
async function discoverFromMainWorktree(start: string): Promise<RepositoryInfo | undefined> {
  const found = await runGit(
    [
      'rev-parse',
      '--path-format=absolute',
      '--git-common-dir',
      '--git-dir',
      '--show-toplevel',
      'HEAD',
      '--symbolic-full-name',
      'HEAD',
    ],
    { cwd: start, okExitCodes: [0, 128] },
  );
  const [commonDirOut, gitDir, toplevel, head, ref] = found.stdout.split('\n');
  if (found.exitCode !== 0 || !commonDirOut || !toplevel || commonDirOut !== gitDir) return undefined;
  if (!head || !/^[0-9a-f]{40,64}$/.test(head)) return undefined;
  const [commonDir, root] = await Promise.all([realpath(commonDirOut), realpath(toplevel)]);
  const branch = ref?.startsWith('refs/heads/') ? ref : undefined;
  const main: GitWorktreeEntry = {
    path: root,
    head,
    branch,
    detached: branch === undefined,
    bare: false,
    locked: undefined,
    prunable: undefined,
    isMain: true,
  };
  return { root, commonDir, stateDir: join(commonDir, 'miyabi'), main };
}

/**
 * Resolves the default base branch: `preferred` if given, else the remote's default (origin/HEAD),
 * else `main`, else `master`, else the main worktree's current branch.
 */
export async function resolveDefaultBase(repo: RepositoryInfo, preferred?: string): Promise<BaseRef> {
  if (preferred !== undefined)
    return { ...(await resolveBaseBranch(repo.root, preferred)), source: 'option' };
  const { stdout } = await runGit(
    [
      'for-each-ref',
      '--format=%(refname)%00%(symref)%00%(objectname)',
      'refs/remotes/origin/HEAD',
      'refs/heads/main',
      'refs/heads/master',
    ],
    { cwd: repo.root },
  );
  const refs = new Map<string, { symref: string; commit: string }>();
  for (const line of stdout.split('\n')) {
    const [ref, symref = '', commit = ''] = line.split('\0');
    if (ref) refs.set(ref, { symref, commit });
  }
  const originHead = refs.get('refs/remotes/origin/HEAD')?.symref;
  if (originHead?.startsWith('refs/remotes/origin/')) {
    const name = originHead.slice('refs/remotes/origin/'.length);
    const base = await resolveBaseBranch(repo.root, name).catch(() => undefined);
    if (base) return { ...base, source: 'origin/HEAD' };
  }
  for (const name of ['main', 'master'] as const) {
    const found = refs.get(`refs/heads/${name}`);
    if (found) return { name, ref: `refs/heads/${name}`, commit: found.commit, source: name };
  }
  const { main } = repo;
  if (main?.branch && main.head) {
    return {
      name: shortBranchName(main.branch),
      ref: main.branch,
      commit: main.head,
      source: 'current branch',
    };
  }
  throw new MiyabiError(
    'NOT_FOUND',
    'could not find a base branch (no origin/HEAD, main, master or current branch)',
    {
      hint: 'Pass baseBranch explicitly.',
    },
  );
}

/**
 * Resolves a base branch name given by a user: a local branch, else a remote-tracking branch
 * (`origin/x` or `x` on origin). Throws `INVALID_ARGUMENT` for a malformed name, `NOT_FOUND` otherwise.
 */
export async function resolveBaseBranch(cwd: string, name: string): Promise<BaseRef> {
  await assertValidBranchName(name, 'baseBranch', cwd);
  const candidates = [`refs/heads/${name}`, `refs/remotes/${name}`, `refs/remotes/origin/${name}`];
  const { stdout } = await runGit(['for-each-ref', '--format=%(refname)%00%(objectname)', ...candidates], {
    cwd,
  });
  const found = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const [ref, commit] = line.split('\0');
    if (ref && commit) found.set(ref, commit);
  }
  for (const ref of candidates) {
    const commit = found.get(ref);
    if (commit) {
      const short = ref.startsWith('refs/heads/') ? name : ref.replace(/^refs\/remotes\/(origin\/)?/, '');
      return { name: ref.startsWith('refs/remotes/origin/') ? short : name, ref, commit };
    }
  }
  throw new MiyabiError('NOT_FOUND', `base branch '${name}' does not exist`, {
    hint: 'Use an existing local branch or a remote-tracking branch (e.g. origin/main); git branch -a lists them.',
    details: { baseBranch: name },
  });
}

/**
 * Rejects a branch name git would refuse (`git check-ref-format --branch`) or that could be read as
 * an option: `INVALID_ARGUMENT` naming `option`.
 */
export async function assertValidBranchName(name: string, option: string, cwd: string): Promise<void> {
  const invalid = (why: string) =>
    new MiyabiError(
      'INVALID_ARGUMENT',
      `${option} ${typeof name === 'string' ? JSON.stringify(name) : describe(name)} is not a valid branch name: it ${why}`,
      {
        hint: 'Use a name like feature/issue-42 (see git help check-ref-format).',
        details: { [option]: name },
      },
    );
  const problem = branchNameProblem(name);
  if (problem) throw invalid(problem);
  // In this character set the checks above are all of git's rules: no git process needed.
  if (GENERATED_BRANCH_CHARACTERS.test(name)) return;
  try {
    await runGit(['check-ref-format', '--branch', name], { cwd });
  } catch {
    throw invalid('is refused by git check-ref-format');
  }
}
