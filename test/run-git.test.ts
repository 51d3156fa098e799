import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MiyabiError } from '../src/errors.js';
import { isTransientGitError, runGit } from '../src/git/run-git.js';
import { parseWorktreeList } from '../src/git/worktree-list.js';
import { REPOSITORY_ENV_VARS } from '../src/process/repository-env.js';
import { eventually, processAlive } from './helpers/cli-process.js';
import { createTempRepo, git, tempDir } from './helpers/temp-repo.js';

async function failure(promise: Promise<unknown>): Promise<MiyabiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MiyabiError);
  return error as MiyabiError;
}

describe('runGit', () => {
  it('returns stdout and accepts listed exit codes', async () => {
    const repo = createTempRepo();
    const head = await runGit(['rev-parse', 'HEAD'], { cwd: repo.path });
    expect(head.stdout.trim()).toBe(repo.git('rev-parse', 'HEAD'));
    const missing = await runGit(['rev-parse', '--verify', '--quiet', 'nope'], {
      cwd: repo.path,
      okExitCodes: [0, 1],
    });
    expect(missing.exitCode).toBe(1);
    const input = await runGit(['hash-object', '--stdin'], { cwd: repo.path, input: 'hello\n' });
    expect(input.stdout.trim()).toBe('ce013625030ba8dba906f756967f9e9ca394464a');
  });

  it('throws GIT_FAILED keeping the command, exit code and stderr, in the C locale', async () => {
    const error = await failure(runGit(['rev-parse', 'HEAD'], { cwd: tempDir() }));
    expect(error.code).toBe('GIT_FAILED');
    expect(error.git).toMatchObject({ args: ['rev-parse', 'HEAD'], exitCode: 128 });
    expect(error.git?.stderr).toContain('not a git repository');
  });

  it('ignores GIT_DIR and friends inherited from the environment', async () => {
    const repo = createTempRepo();
    const other = createTempRepo();
    process.env.GIT_DIR = `${other.path}/.git`;
    process.env.GIT_INDEX_FILE = `${other.path}/.git/index`;
    try {
      // --show-toplevel would print cwd either way (GIT_DIR without GIT_WORK_TREE takes cwd as the work tree).
      const { stdout } = await runGit(['rev-parse', '--absolute-git-dir'], { cwd: repo.path });
      expect(stdout.trim()).toBe(`${repo.path}/.git`);
    } finally {
      delete process.env.GIT_DIR;
      delete process.env.GIT_INDEX_FILE;
    }
  });

  it("strips every variable in git's own list of repository-local ones, except the caller's -c settings", () => {
    const local = git(tempDir(), 'rev-parse', '--local-env-vars').split('\n');
    const config = ['GIT_CONFIG', 'GIT_CONFIG_PARAMETERS', 'GIT_CONFIG_COUNT'];
    expect(local.filter((name) => !config.includes(name) && !REPOSITORY_ENV_VARS.includes(name))).toEqual([]);
  });

  it('maps an abort to CANCELLED and a timeout to TIMEOUT', async () => {
    const repo = createTempRepo();
    const controller = new AbortController();
    const slow = runGit(['-c', 'alias.wait=!sleep 5', 'wait'], { cwd: repo.path, signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    expect((await failure(slow)).code).toBe('CANCELLED');
    const timedOut = await failure(
      runGit(['-c', 'alias.wait=!sleep 5', 'wait'], { cwd: repo.path, timeoutMs: 100 }),
    );
    expect(timedOut.code).toBe('TIMEOUT');
    expect((await failure(runGit(['status'], { cwd: repo.path, signal: AbortSignal.abort() }))).code).toBe(
      'CANCELLED',
    );
  });

  it('stops what git started (an alias, a hook) with it on abort and timeout, not only git', async () => {
    const repo = createTempRepo();
    const dir = tempDir();
    // git passes its own kill on to the alias's shell, but not to the sleep the shell started,
    // which holds git's pipes open.
    const alias = (name: string) => `alias.hang=!sleep 30 & echo $! > ${dir}/${name}; wait`;
    const controller = new AbortController();
    const aborted = runGit(['-c', alias('a'), 'hang'], { cwd: repo.path, signal: controller.signal });
    expect(await eventually(() => existsSync(join(dir, 'a')))).toBe(true);
    controller.abort();
    expect((await failure(aborted)).code).toBe('CANCELLED');
    const timedOut = await failure(runGit(['-c', alias('t'), 'hang'], { cwd: repo.path, timeoutMs: 300 }));
    expect(timedOut.code).toBe('TIMEOUT');
    for (const name of ['a', 't']) {
      const pid = Number(readFileSync(join(dir, name), 'utf8'));
      expect(await eventually(() => !processAlive(pid))).toBe(true);
    }
  });

  it('recognises lock contention as transient and real failures as not', () => {
    const make = (stderr: string) =>
      new MiyabiError('GIT_FAILED', 'x', {
        git: {
          args: [],
          cwd: '/',
          exitCode: 255,
          signal: undefined,
          stderr,
          stdout: '',
          durationMs: 1,
          timedOut: false,
          aborted: false,
        },
      });
    expect(isTransientGitError(make('error: could not lock config file .git/config: File exists'))).toBe(
      true,
    );
    expect(isTransientGitError(make('fatal: failed to read .git/worktrees/x/commondir: Success'))).toBe(true);
    expect(isTransientGitError(make("fatal: Unable to create '/r/.git/index.lock': File exists."))).toBe(
      true,
    );
    expect(isTransientGitError(make('fatal: invalid reference: nope'))).toBe(false);
    expect(isTransientGitError(new Error('could not lock config file'))).toBe(false);
  });
});

describe('parseWorktreeList', () => {
  it('parses main, linked, detached, locked and prunable records', () => {
    const z = (lines: string[]) => `${lines.join('\0')}\0`;
    const output = [
      z(['worktree /r', 'HEAD 1111111111111111111111111111111111111111', 'branch refs/heads/main']),
      z([
        'worktree /w/a b',
        'HEAD 2222222222222222222222222222222222222222',
        'detached',
        'locked on a USB disk',
      ]),
      z([
        'worktree /w/gone',
        'HEAD 3333333333333333333333333333333333333333',
        'branch refs/heads/x',
        'prunable gitdir file points to non-existent location',
        'locked',
      ]),
    ].join('\0');
    const entries = parseWorktreeList(output);
    expect(entries).toHaveLength(3);
    expect(entries[0]).toMatchObject({
      path: '/r',
      branch: 'refs/heads/main',
      isMain: true,
      locked: undefined,
    });
    expect(entries[1]).toMatchObject({
      path: '/w/a b',
      detached: true,
      locked: 'on a USB disk',
      isMain: false,
    });
    expect(entries[2]).toMatchObject({ locked: '', prunable: 'gitdir file points to non-existent location' });
  });
});
