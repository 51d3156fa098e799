import { execFile } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { MiyabiError } from '../src/errors.js';
import { WorktreeManager } from '../src/index.js';
import {
  formatArgv,
  runSetupCommands,
  type SetupCommandResult,
  type SetupCommandRunner,
} from '../src/setup/run-setup.js';
import { copyWorktreeInclude } from '../src/setup/worktree-include.js';
import {
  createRepoWithDanglingIncludeFolder,
  createTempRepo,
  type TempRepo,
  tempDir,
} from './helpers/temp-repo.js';

// A disk error on one file, which no permission trick produces for root: copying any file named
// `disk-error.local` fails with EIO; every other call is the real one.
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const copyFile: typeof real.copyFile = (from, to, mode) =>
    String(from).endsWith('disk-error.local')
      ? Promise.reject(
          Object.assign(new Error(`EIO: i/o error, copyfile '${String(from)}'`), { code: 'EIO' }),
        )
      : real.copyFile(from, to, mode);
  return { ...real, copyFile, default: { ...real, copyFile } };
});

/** A repository with a committed .gitignore and .worktreeinclude, and a linked worktree. */
function repoWithWorktree(gitignore: string, include: string | null): { repo: TempRepo; worktree: string } {
  const files: Record<string, string> = { 'README.md': '# r\n', '.gitignore': gitignore };
  if (include !== null) files['.worktreeinclude'] = include;
  const repo = createTempRepo({ files });
  const worktree = join(tempDir(), 'wt');
  repo.git('worktree', 'add', '-q', '-b', 'feature/issue-1', worktree);
  return { repo, worktree };
}

describe('copyWorktreeInclude', () => {
  it('copies only files that match .worktreeinclude and that git ignores', async () => {
    const { repo, worktree } = repoWithWorktree(
      ['.env', 'config/', 'node_modules/', '*.local', 'secrets/*', '!secrets/public.txt', ''].join('\n'),
      ['.env', 'config/', '*.local', 'notes.txt', 'secrets/', 'sub/deep/*.json', 'README.md', ''].join('\n'),
    );
    repo.write('.env', 'TOKEN=1\n');
    repo.write('config/local.json', '{}\n');
    repo.write('config/nested/deeper.json', '[]\n');
    repo.write('a.local', 'a\n');
    repo.write('sub/deep/k.local', 'k\n');
    // Matches the include but is not ignored: it would show in `git status`, so it is not copied.
    repo.write('notes.txt', 'n\n');
    repo.write('sub/deep/k.json', '{}\n');
    // Ignored (secrets/*) and matched (secrets/), vs. re-included by .gitignore's negation.
    repo.write('secrets/a.txt', 's\n');
    repo.write('secrets/public.txt', 'p\n');
    // Ignored but not listed.
    repo.write('node_modules/pkg/index.js', 'x\n');

    const result = await copyWorktreeInclude(repo.path, worktree);

    expect(result.copied).toEqual([
      '.env',
      'a.local',
      'config/local.json',
      'config/nested/deeper.json',
      'secrets/a.txt',
      'sub/deep/k.local',
    ]);
    // Matched but not ignored: said, with the reason, never dropped silently.
    expect(result.skipped).toEqual([
      { path: 'notes.txt', reason: 'not-ignored' },
      { path: 'secrets/public.txt', reason: 'not-ignored' },
      { path: 'sub/deep/k.json', reason: 'not-ignored' },
    ]);
    expect(readFileSync(join(worktree, '.env'), 'utf8')).toBe('TOKEN=1\n');
    expect(readFileSync(join(worktree, 'config/nested/deeper.json'), 'utf8')).toBe('[]\n');
    for (const absent of ['notes.txt', 'sub/deep/k.json', 'secrets/public.txt', 'node_modules']) {
      expect(existsSync(join(worktree, absent)), absent).toBe(false);
    }
    // The copies are ignored in the worktree too: its status stays clean.
    expect(repo.git('-C', worktree, 'status', '--porcelain')).toBe('');
  });

  it('honours negation and anchored patterns in .worktreeinclude', async () => {
    const { repo, worktree } = repoWithWorktree(
      '*.env\n/build/\n',
      ['*.env', '!test.env', '/top.env', 'build/keep/**', ''].join('\n'),
    );
    repo.write('dev.env', '1');
    repo.write('test.env', '2');
    repo.write('pkg/inner.env', '3');
    repo.write('pkg/test.env', '4');
    repo.write('build/keep/a/b.txt', '5');
    repo.write('build/drop/c.txt', '6');

    const { copied } = await copyWorktreeInclude(repo.path, worktree);

    expect(copied).toEqual(['build/keep/a/b.txt', 'dev.env', 'pkg/inner.env']);
  });

  it('anchors a pattern with a slash at the repository root', async () => {
    const { repo, worktree } = repoWithWorktree('*.json\n', 'config/local.json\n');
    repo.write('config/local.json', 'root');
    repo.write('pkg/config/local.json', 'nested');
    expect((await copyWorktreeInclude(repo.path, worktree)).copied).toEqual(['config/local.json']);
  });

  it('never overwrites a file the worktree already has, and reports it as skipped', async () => {
    const { repo, worktree } = repoWithWorktree('.env\n.env.local\n', '.env*\n');
    repo.write('.env', 'main');
    repo.write('.env.local', 'main-local');
    writeFileSync(join(worktree, '.env'), 'worktree');

    const result = await copyWorktreeInclude(repo.path, worktree);

    expect(result.copied).toEqual(['.env.local']);
    expect(result.skipped).toEqual([{ path: '.env', reason: 'exists' }]);
    expect(readFileSync(join(worktree, '.env'), 'utf8')).toBe('worktree');
  });

  it('preserves the file mode', async () => {
    const { repo, worktree } = repoWithWorktree('bin/\n', 'bin/\n');
    repo.write('bin/tool.sh', '#!/bin/sh\necho hi\n');
    chmodSync(join(repo.path, 'bin/tool.sh'), 0o750);
    repo.write('bin/secret', 's');
    chmodSync(join(repo.path, 'bin/secret'), 0o600);

    await copyWorktreeInclude(repo.path, worktree);

    expect(statSync(join(worktree, 'bin/tool.sh')).mode & 0o777).toBe(0o750);
    expect(statSync(join(worktree, 'bin/secret')).mode & 0o777).toBe(0o600);
  });

  it('recreates symlinks that stay in the repository and skips those that leave it', async () => {
    const { repo, worktree } = repoWithWorktree('*.local\n', '*.local\n');
    const outside = join(tempDir(), 'outside-secret');
    writeFileSync(outside, 'do not copy');
    repo.write('real.local', 'r');
    symlinkSync('real.local', join(repo.path, 'inside.local'));
    symlinkSync(outside, join(repo.path, 'absolute.local'));
    symlinkSync('../../etc/passwd', join(repo.path, 'escape.local'));

    const result = await copyWorktreeInclude(repo.path, worktree);

    expect(result.copied).toEqual(['inside.local', 'real.local']);
    expect(result.skipped).toEqual([
      { path: 'absolute.local', reason: 'symlink-outside' },
      { path: 'escape.local', reason: 'symlink-outside' },
    ]);
    expect(lstatSync(join(worktree, 'inside.local')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(worktree, 'inside.local'))).toBe('real.local');
    expect(existsSync(join(worktree, 'absolute.local'))).toBe(false);
  });

  it('never writes through a symlinked folder of the worktree', async () => {
    const repo = createTempRepo({ files: { '.gitignore': 'conf/*.json\n', '.worktreeinclude': 'conf/\n' } });
    const target = tempDir();
    const worktree = join(tempDir(), 'wt');
    repo.git('worktree', 'add', '-q', '-b', 'feature/issue-2', worktree);
    repo.write('conf/local.json', '{}');
    // A folder the worktree has (say, committed on its branch) as a symlink pointing elsewhere.
    symlinkSync(target, join(worktree, 'conf'));

    const result = await copyWorktreeInclude(repo.path, worktree);

    expect(result.copied).toEqual([]);
    expect(result.skipped).toEqual([{ path: 'conf/local.json', reason: 'unsafe-destination' }]);
    expect(existsSync(join(target, 'local.json'))).toBe(false);
  });

  it('skips a file whose folder is a dangling symlink in the worktree as unsafe-destination', async () => {
    // The base commit tracks `cfgdir` as a link that dangles from the worktree; the main checkout
    // has a real folder there, with the ignored file in it.
    const repo = createRepoWithDanglingIncludeFolder({ '.env': 'E=1' });
    const nest = tempDir();
    const worktree = join(nest, 'a', 'wt');
    repo.git('worktree', 'add', '-q', '-b', 'feature/issue-5', worktree, 'with-link');
    expect(lstatSync(join(worktree, 'cfgdir')).isSymbolicLink()).toBe(true);

    const result = await copyWorktreeInclude(repo.path, worktree);

    expect(result.copied).toEqual(['.env']);
    expect(result.skipped).toEqual([{ path: 'cfgdir/local.json', reason: 'unsafe-destination' }]);
    expect(existsSync(join(nest, 'victim'))).toBe(false);
    expect(readlinkSync(join(worktree, 'cfgdir'))).toBe('../../victim');
  });

  it('skips a file that cannot be copied as copy-failed, with the error, and copies the others', async () => {
    const { repo, worktree } = repoWithWorktree('*.local\n', '*.local\n');
    repo.write('a.local', 'a');
    repo.write('disk-error.local', 'd');
    repo.write('z.local', 'z');

    const result = await copyWorktreeInclude(repo.path, worktree);

    expect(result.copied).toEqual(['a.local', 'z.local']);
    expect(result.skipped).toEqual([
      { path: 'disk-error.local', reason: 'copy-failed', error: expect.stringMatching(/^EIO: i\/o error/) },
    ]);
    expect(existsSync(join(worktree, 'disk-error.local'))).toBe(false);
  });

  it('skips linked worktrees inside the repository, including the destination itself', async () => {
    const repo = createTempRepo({
      files: { '.gitignore': '.worktrees/\n.env\n', '.worktreeinclude': '*\n' },
    });
    repo.write('.env', 'e');
    mkdirSync(join(repo.path, '.worktrees'));
    const worktree = join(repo.path, '.worktrees', 'issue-3-0123abcd');
    repo.git('worktree', 'add', '-q', '-b', 'feature/issue-3', worktree);
    repo.git('worktree', 'add', '-q', '-b', 'feature/issue-4', join(repo.path, '.worktrees', 'other'));

    const result = await copyWorktreeInclude(repo.path, worktree);

    expect(result.copied).toEqual(['.env']);
    expect(result.skipped).toEqual([{ path: '.worktrees/other', reason: 'nested-repository' }]);
    expect(existsSync(join(worktree, '.worktrees'))).toBe(false);
    // Told where the worktrees live, it does not even look there.
    const again = await copyWorktreeInclude(repo.path, join(repo.path, '.worktrees', 'other'), {
      worktreeDir: join(repo.path, '.worktrees'),
    });
    expect(again).toEqual({ copied: ['.env'], skipped: [] });
  });

  it('does not scan the worktree folder, where a sibling add may be half done', async () => {
    // `.*` matches the worktree folder itself: git would walk into it even past an :(exclude).
    const repo = createTempRepo({ files: { '.gitignore': '.env\n', '.worktreeinclude': '.*\n' } });
    repo.write('.env', 'e');
    const worktreeDir = join(repo.path, '.w*');
    const worktree = join(worktreeDir, 'issue-1-0123abcd');
    repo.git('worktree', 'add', '-q', '-b', 'feature/issue-1', worktree);
    // What a concurrent `git worktree add` looks like midway: its .git file written, the admin
    // folder's commondir not yet (git dies reading it when it walks into that folder).
    const half = join(worktreeDir, 'issue-2-89abcdef');
    const admin = join(repo.path, '.git', 'worktrees', 'issue-2-89abcdef');
    mkdirSync(half);
    mkdirSync(admin);
    writeFileSync(join(half, '.git'), `gitdir: ${admin}\n`);
    writeFileSync(join(admin, 'gitdir'), `${join(half, '.git')}\n`);
    writeFileSync(join(admin, 'HEAD'), 'ref: refs/heads/main\n');
    writeFileSync(join(admin, 'commondir'), '');

    // The failure it prevents (the folder name is a glob on purpose: it must be taken literally).
    await expect(copyWorktreeInclude(repo.path, worktree)).rejects.toThrow(/commondir/);
    const result = await copyWorktreeInclude(repo.path, worktree, { worktreeDir });
    expect(result).toEqual({ copied: ['.env'], skipped: [] });
    // A worktree folder deeper down (the sibling's add has finished): its siblings at each level are still scanned.
    rmSync(admin, { recursive: true });
    rmSync(half, { recursive: true });
    repo.write('deep/.env', 'd');
    const deeper = join(repo.path, 'deep', '.w');
    repo.git('worktree', 'add', '-q', '-b', 'feature/issue-3', join(deeper, 'issue-3-00000000'));
    const nested = await copyWorktreeInclude(repo.path, join(deeper, 'issue-3-00000000'), {
      worktreeDir: deeper,
    });
    expect(nested.copied).toEqual(['.env', 'deep/.env']);
  });

  it('copies nothing, without error, when there is no .worktreeinclude', async () => {
    const { repo, worktree } = repoWithWorktree('.env\n', null);
    repo.write('.env', 'x');
    expect(await copyWorktreeInclude(repo.path, worktree)).toEqual({ copied: [], skipped: [] });
    expect(existsSync(join(worktree, '.env'))).toBe(false);
  });

  it('copies nothing when matches exist but none is ignored, and says so', async () => {
    const { repo, worktree } = repoWithWorktree('', '*.txt\n');
    repo.write('a.txt', 'a');
    expect(await copyWorktreeInclude(repo.path, worktree)).toEqual({
      copied: [],
      skipped: [{ path: 'a.txt', reason: 'not-ignored' }],
    });
  });

  it('refuses to start when the signal is already aborted', async () => {
    const { repo, worktree } = repoWithWorktree('.env\n', '.env\n');
    repo.write('.env', 'x');
    const error = await copyWorktreeInclude(repo.path, worktree, { signal: AbortSignal.abort() }).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(MiyabiError);
    expect((error as MiyabiError).code).toBe('CANCELLED');
    expect(existsSync(join(worktree, '.env'))).toBe(false);
  });
});

/** A stand-in for the library's runCommand, built on execFile (no shell). */
const execFileRunner: SetupCommandRunner = (argv, options) =>
  new Promise<SetupCommandResult>((resolve) => {
    const started = Date.now();
    const [file = '', ...args] = argv;
    execFile(
      file,
      args,
      {
        cwd: options.cwd,
        env: { ...process.env, ...options.env },
        ...(options.timeoutMs !== undefined ? { timeout: options.timeoutMs } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      },
      (error, stdout, stderr) => {
        const failure = error as (NodeJS.ErrnoException & { killed?: boolean; signal?: string }) | null;
        const exitCode = failure ? (typeof failure.code === 'number' ? failure.code : null) : 0;
        const aborted = failure?.name === 'AbortError';
        const tail = `${stdout}${stderr}`.slice(-options.output.tailBytes);
        resolve({
          exitCode,
          signal: failure?.signal ?? null,
          ok: failure === null,
          tail,
          timedOut: Boolean(failure?.killed) && !aborted,
          aborted,
          durationMs: Date.now() - started,
        });
      },
    );
  });

const node = process.execPath;

describe('WorktreeManager.prepareWorktree', () => {
  it('leaves the worktree folder out of the include scan, where a sibling add may be half done', async () => {
    const repo = createTempRepo({ files: { '.gitignore': '.env\n', '.worktreeinclude': '.*\n' } });
    repo.write('.env', 'e');
    const manager = await WorktreeManager.open({ repoPath: repo.path, config: false });
    const worktree = await manager.createWorktree(1);
    // A sibling's `git worktree add` midway: .git file written, admin folder's commondir not yet
    // (the admin folder kept outside .git/worktrees, which `git worktree list` would trip on).
    const half = join(manager.worktreeDir, 'issue-2-89abcdef');
    const admin = join(tempDir(), 'issue-2-89abcdef');
    mkdirSync(half);
    mkdirSync(admin);
    writeFileSync(join(half, '.git'), `gitdir: ${admin}\n`);
    writeFileSync(join(admin, 'gitdir'), `${join(half, '.git')}\n`);
    writeFileSync(join(admin, 'HEAD'), 'ref: refs/heads/main\n');
    writeFileSync(join(admin, 'commondir'), '');
    const prepared = await manager.prepareWorktree(worktree.id, { include: true, setup: [] });
    expect(prepared.copied).toEqual(['.env']);
  });
});

describe('runSetupCommands', () => {
  it('runs every command in order in the worktree, with the given environment', async () => {
    const cwd = tempDir();
    const append = (text: string) => [
      node,
      '-e',
      `require('fs').appendFileSync('log', ${JSON.stringify(text)} + process.env.STEP_TAG)`,
    ];
    const result = await runSetupCommands([append('one:'), append(' two:')], {
      cwd,
      env: { STEP_TAG: 'ok' },
      runCommand: execFileRunner,
    });
    expect(readFileSync(join(cwd, 'log'), 'utf8')).toBe('one:ok two:ok');
    expect(result.steps.map((step) => step.argv)).toEqual([append('one:'), append(' two:')]);
  });

  it('stops at the first failure and reports the command, exit code and output tail', async () => {
    const cwd = tempDir();
    const commands = [
      [node, '-e', "require('fs').writeFileSync('first', '')"],
      [node, '-e', "console.log('installing'); console.error('npm ERR! missing script'); process.exit(3)"],
      [node, '-e', "require('fs').writeFileSync('third', '')"],
    ];
    const error = await runSetupCommands(commands, { cwd, runCommand: execFileRunner }).catch((e) => e);

    expect(error).toBeInstanceOf(MiyabiError);
    expect(error.code).toBe('COMMAND_FAILED');
    expect(error.message).toBe(`setup command failed: ${formatArgv(commands[1] ?? [])} (exit 3)`);
    expect(error.details).toMatchObject({ index: 1, exitCode: 3, argv: commands[1] });
    expect(error.details.tail).toContain('npm ERR! missing script');
    expect(existsSync(join(cwd, 'first'))).toBe(true);
    expect(existsSync(join(cwd, 'third'))).toBe(false);
  });

  it('ends with TIMEOUT when the budget runs out, and runs nothing after', async () => {
    const cwd = tempDir();
    const error = await runSetupCommands(
      [
        [node, '-e', 'setTimeout(() => {}, 10_000)'],
        [node, '-e', "require('fs').writeFileSync('after', '')"],
      ],
      { cwd, timeoutMs: 300, runCommand: execFileRunner },
    ).catch((e) => e);
    expect(error).toBeInstanceOf(MiyabiError);
    expect(error.code).toBe('TIMEOUT');
    expect(error.message).toContain('setup timed out after 300 ms');
    expect(existsSync(join(cwd, 'after'))).toBe(false);
  });

  it('gives each command only what is left of the budget', async () => {
    const seen: (number | undefined)[] = [];
    const slowFake: SetupCommandRunner = async (_argv, options) => {
      seen.push(options.timeoutMs);
      await new Promise((resolve) => setTimeout(resolve, 120));
      return {
        exitCode: 0,
        signal: null,
        ok: true,
        tail: '',
        timedOut: false,
        aborted: false,
        durationMs: 120,
      };
    };
    await runSetupCommands([['a'], ['b']], { cwd: tempDir(), timeoutMs: 1_000, runCommand: slowFake });
    expect(seen[0]).toBeLessThanOrEqual(1_000);
    expect(seen[1]).toBeLessThanOrEqual(1_000 - 100);
  });

  it('ends with CANCELLED when the signal aborts, before or during a command', async () => {
    const cwd = tempDir();
    const before = await runSetupCommands([[node, '-e', '']], {
      cwd,
      signal: AbortSignal.abort(),
      runCommand: execFileRunner,
    }).catch((e) => e);
    expect(before.code).toBe('CANCELLED');

    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const during = await runSetupCommands([[node, '-e', 'setTimeout(() => {}, 10_000)']], {
      cwd,
      signal: controller.signal,
      runCommand: execFileRunner,
    }).catch((e) => e);
    expect(during).toBeInstanceOf(MiyabiError);
    expect(during.code).toBe('CANCELLED');
  });

  it('names a signal when the command was killed by one', async () => {
    const killedFake: SetupCommandRunner = async () => ({
      exitCode: null,
      signal: 'SIGKILL',
      ok: false,
      tail: '',
      timedOut: false,
      aborted: false,
      durationMs: 5,
    });
    const error = await runSetupCommands([['npm', 'ci']], { cwd: tempDir(), runCommand: killedFake }).catch(
      (e) => e,
    );
    expect(error.message).toBe('setup command failed: npm ci (signal SIGKILL)');
  });

  it('rejects an empty argv and does nothing for an empty list', async () => {
    const never: SetupCommandRunner = async () => {
      throw new Error('must not run');
    };
    const error = await runSetupCommands([[]], { cwd: tempDir(), runCommand: never }).catch((e) => e);
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect((await runSetupCommands([], { cwd: tempDir(), runCommand: never })).steps).toEqual([]);
  });

  it('quotes arguments for display only where needed', () => {
    expect(formatArgv(['npm', 'run', 'build all', "it's", '--x=1'])).toBe(
      `npm run 'build all' 'it'\\''s' --x=1`,
    );
  });
});
