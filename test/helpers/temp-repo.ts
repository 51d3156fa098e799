import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach } from 'vitest';

// A fixed identity so tests never depend on the machine's git config.
export const GIT_TEST_ENV = {
  GIT_AUTHOR_NAME: 'Miyabi Test',
  GIT_AUTHOR_EMAIL: 'test@miyabi.invalid',
  GIT_COMMITTER_NAME: 'Miyabi Test',
  GIT_COMMITTER_EMAIL: 'test@miyabi.invalid',
};
Object.assign(process.env, GIT_TEST_ENV);

/** Runs git for test setup and assertions (tests may spawn git directly; the library may not). */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    env: { ...process.env, ...GIT_TEST_ENV, LC_ALL: 'C' },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

const created: string[] = [];
afterEach(() => {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh temporary directory, removed after the current test. */
export function tempDir(prefix = 'miyabi-test-'): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  created.push(dir);
  return dir;
}

export interface TempRepo {
  /** Absolute main worktree root. */
  readonly path: string;
  /** Absolute path of the bare `origin`, when asked for. */
  readonly remote?: string;
  git(...args: string[]): string;
  /** Writes files (relative paths) and commits them on the current branch; returns the commit id. */
  commit(files: Record<string, string>, message?: string): string;
  write(relativePath: string, content: string): void;
}

export interface TempRepoOptions {
  /** Initial branch name. @default 'main' */
  readonly branch?: string;
  /** Also create a bare repository, add it as `origin` and push the initial branch. */
  readonly withRemote?: boolean;
  /** Files of the first commit. */
  readonly files?: Record<string, string>;
  /** Skip the first commit (an unborn repository). */
  readonly empty?: boolean;
}

/** A real repository in a temp dir with one commit on `main` (and optionally a bare `origin`). */
export function createTempRepo(options: TempRepoOptions = {}): TempRepo {
  const root = tempDir();
  const path = join(root, 'repo');
  mkdirSync(path);
  const branch = options.branch ?? 'main';
  git(path, 'init', '-q', '-b', branch);
  git(path, 'config', 'commit.gpgsign', 'false');
  const write = (relativePath: string, content: string) => {
    const file = join(path, relativePath);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  };
  const commit = (files: Record<string, string>, message = 'commit') => {
    for (const [name, content] of Object.entries(files)) write(name, content);
    git(path, 'add', '-A');
    git(path, 'commit', '-q', '--allow-empty', '-m', message);
    return git(path, 'rev-parse', 'HEAD');
  };
  if (!options.empty) commit(options.files ?? { 'README.md': '# test repo\n' }, 'initial commit');
  let remote: string | undefined;
  if (options.withRemote) {
    remote = join(root, 'origin.git');
    git(root, 'init', '-q', '--bare', '-b', branch, remote);
    git(path, 'remote', 'add', 'origin', remote);
    if (!options.empty) {
      git(path, 'push', '-q', '-u', 'origin', branch);
      git(path, 'remote', 'set-head', 'origin', branch);
    }
  }
  return {
    path,
    ...(remote ? { remote } : {}),
    git: (...args: string[]) => git(path, ...args),
    commit,
    write,
  };
}

/**
 * A repository whose branch `with-link` tracks `cfgdir` as a link that dangles from any worktree
 * (`../../victim`), while the main checkout (on main) has a real `cfgdir/` with the ignored
 * `cfgdir/local.json` that `.worktreeinclude` lists, plus `extraIncluded` files likewise.
 */
export function createRepoWithDanglingIncludeFolder(extraIncluded: Record<string, string> = {}): TempRepo {
  const included = ['cfgdir/local.json', ...Object.keys(extraIncluded)].join('\n');
  const repo = createTempRepo({
    files: { '.gitignore': `${included}\n`, '.worktreeinclude': `${included}\n` },
  });
  repo.git('checkout', '-q', '-b', 'with-link');
  symlinkSync('../../victim', join(repo.path, 'cfgdir'));
  repo.git('add', 'cfgdir');
  repo.git('commit', '-q', '-m', 'cfgdir is a link');
  repo.git('checkout', '-q', 'main');
  repo.write('cfgdir/local.json', '{}');
  for (const [name, content] of Object.entries(extraIncluded)) repo.write(name, content);
  return repo;
}
