import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commandExecutor, isMiyabiError, type PoolCreateOptions, WorktreePool } from '../src/index.js';
import { QUEUE_SUPPORT } from '../src/pool/runner-support.js';
import { runCli } from './helpers/cli-process.js';
import { repoState } from './helpers/repo-state.js';
import { createTempRepo, git, tempDir } from './helpers/temp-repo.js';

// Nothing listens here: a check that connected first would fail QUEUE_UNAVAILABLE, not INVALID_ARGUMENT.
const QUEUE = { connection: 'redis://127.0.0.1:1', name: 'never-used' };

/**
 * A value a user might give for each option: for a refused one, one the queue does not honour. Typed
 * over every option, so a new one needs a value here as it needs a row in the table.
 */
const GIVEN: { readonly [K in keyof Required<PoolCreateOptions>]: (repo: string) => PoolCreateOptions[K] } = {
  cwd: (repo) => repo,
  repoPath: (repo) => repo,
  config: () => false,
  logger: () => ({ debug() {}, info() {}, warn() {}, error() {} }),
  baseBranch: () => 'main',
  branchPattern: () => 'task/{issue}',
  queue: () => QUEUE,
  timeoutMs: () => 60_000,
  failFast: () => true,
  merge: () => ({ into: 'main', strategy: 'squash' }),
  worktreeDir: () => join(tempDir(), 'trees'),
  maxConcurrency: () => 2,
  abortGraceMs: () => 1_000,
  autoCleanup: () => false,
  push: () => ({ remote: 'elsewhere' }),
  prepare: () => ({ include: false, setup: [], share: [] }),
  reuse: () => true,
  keepPaths: () => ['node_modules'],
  maxIdle: () => 1,
  existingBranches: () => 'continue',
  onConflict: () => ({ resolve: commandExecutor(['true']) }),
  logRetention: () => 5,
  logDir: () => join(tempDir(), 'logs'),
  pullRequest: () => ({ repo: 'owner/repo', token: 'ghp_queueOptionsTest0123456789' }),
  radarIntervalMs: () => 5_000,
  radarStatusIntervalMs: () => 5_000,
  onOverlap: () => 'warn',
  maxMemory: () => '1G',
  minFreeMemory: () => '64M',
  check: () => ['npm', 'test'],
  onCheckFail: () => 'remove',
  allowRedBase: () => true,
  pauseOn: () => ['quota exceeded'],
  pauseMaxMs: () => 60_000,
  variants: () => 3,
  score: () => ['node', 'score.js'],
  variantsStopAt: () => 80,
};

/** Values of refused options that do what the queue does anyway: accepted. */
const ACCEPTED: Partial<Record<keyof PoolCreateOptions, unknown>> = {
  autoCleanup: true,
  existingBranches: 'restart',
  radarIntervalMs: 0,
  radarStatusIntervalMs: 0,
  push: { remote: 'origin' },
};

/** What an honoured option needs beside it to be valid at all (a pull request is opened from a pushed branch). */
const WITH: Partial<Record<keyof PoolCreateOptions, PoolCreateOptions>> = {
  pullRequest: { push: {} },
  onConflict: { merge: {} },
  check: { merge: {} },
  variantsStopAt: { score: ['node', 'score.js'] },
};

const options = Object.keys(QUEUE_SUPPORT) as (keyof PoolCreateOptions)[];
const refused = options.filter((option) => QUEUE_SUPPORT[option].queue === 'refused');
const honoured = options.filter((option) => QUEUE_SUPPORT[option].queue === 'honoured');

describe('pool options with queue (one table: src/pool/runner-support.ts)', () => {
  it('the table says something of both kinds', () => {
    expect(honoured).toEqual(
      expect.arrayContaining([
        'timeoutMs',
        'failFast',
        'merge',
        'queue',
        'maxConcurrency',
        'reuse',
        'prepare',
        'autoCleanup',
        'pullRequest',
        'onConflict',
        'check',
        'onCheckFail',
        'allowRedBase',
      ]),
    );
    expect(refused).toEqual(expect.arrayContaining(['worktreeDir', 'radarIntervalMs']));
  });

  it.each(refused)('refuses %s with queue before anything starts, naming it', async (option) => {
    const repo = createTempRepo({ withRemote: true });
    const before = repoState(repo.path);
    const remoteBefore = git(repo.remote as string, 'for-each-ref');
    const value = GIVEN[option](repo.path);
    const error = await WorktreePool.create({ repoPath: repo.path, queue: QUEUE, [option]: value }).catch(
      (e: unknown) => e,
    );
    expect(isMiyabiError(error, 'INVALID_ARGUMENT'), String(error)).toBe(true);
    expect((error as Error).message).toMatch(new RegExp(`^${option}: with queue, `));
    expect((error as { details?: Record<string, unknown> }).details).toMatchObject({ option });
    // The same refusal from the constructor, on an opened repository.
    const opened = await WorktreePool.create({ repoPath: repo.path });
    expect(() => new WorktreePool(opened.manager, { queue: QUEUE, [option]: value })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(`^${option}: `) }),
    );
    expect(repoState(repo.path)).toEqual(before);
    expect(git(repo.remote as string, 'for-each-ref')).toBe(remoteBefore);
  });

  it.each(honoured)('accepts %s with queue', async (option) => {
    const repo = createTempRepo({ withRemote: true });
    const value = GIVEN[option](repo.path);
    const pool = await WorktreePool.create({
      repoPath: repo.path,
      queue: QUEUE,
      ...WITH[option],
      [option]: value,
    });
    expect(pool.config.queue).toBeDefined();
    // The batch's own checks pass too; they connect to nothing.
    await pool.validate([{ issueNumber: 1 }]);
  });

  it.each(Object.entries(ACCEPTED))('accepts %s: %j, what the queue does anyway', async (option, value) => {
    const repo = createTempRepo({ withRemote: true });
    const pool = await WorktreePool.create({ repoPath: repo.path, queue: QUEUE, [option]: value });
    expect(pool.config.queue).toBeDefined();
  });

  it('refuses nothing the user left out: a configuration file sets no option of the batch', async () => {
    const repo = createTempRepo({
      withRemote: true,
      files: { 'miyabi-worktree.config.json': '{ "maxConcurrency": 5, "reuse": true }\n' },
    });
    const pool = await WorktreePool.create({ repoPath: repo.path, queue: QUEUE });
    expect(pool.config.maxConcurrency).toBe(5);
  });
});

// The run flags that set each refused option (flags the pool never sees, like --keep-path without --reuse, are left out).
const FLAGS: Partial<Record<keyof PoolCreateOptions, { flag: string; args: string[] }>> = {
  radarIntervalMs: { flag: '--radar-interval', args: ['--radar-interval', '5s'] },
  onOverlap: { flag: '--on-overlap', args: ['--on-overlap', 'warn'] },
};

describe('run --queue with a flag the queue does not honour', () => {
  it.each(Object.entries(FLAGS))('refuses %s with exit 2 naming its flag', async (option, entry) => {
    expect(QUEUE_SUPPORT[option as keyof PoolCreateOptions].queue).toBe('refused');
    const repo = createTempRepo({ withRemote: true });
    const before = repoState(repo.path);
    const result = await runCli(
      ['run', '--queue', QUEUE.connection, '--issues', '1', ...entry.args, '--', 'true'],
      { cwd: repo.path },
    );
    expect(result.code, result.stderr).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines[0]).toContain(`${entry.flag}: with queue, `);
    expect(result.stderr).toContain(`Drop ${entry.flag}, or run without --queue.`);
    expect(result.stderr).not.toMatch(/QUEUE_UNAVAILABLE|could not connect/i);
    expect(repoState(repo.path)).toEqual(before);
  });

  it('refuses --warm with --queue (idle worktrees would be made here, not on the workers)', async () => {
    const repo = createTempRepo({ withRemote: true });
    const before = repoState(repo.path);
    const result = await runCli(
      ['run', '--queue', QUEUE.connection, '--issues', '1', '--reuse', '--warm', '1', '--', 'true'],
      { cwd: repo.path },
    );
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr.trim().split('\n')[0]).toContain('--warm: with queue, ');
    expect(result.stderr).not.toMatch(/QUEUE_UNAVAILABLE|could not connect/i);
    expect(repoState(repo.path)).toEqual(before);
  });

  it('accepts --push, --fail-fast, --timeout, --merge, --concurrency, --no-setup and --reuse with --keep-path and --max-idle (the batch then waits on Redis, which is not there)', async () => {
    const repo = createTempRepo({ withRemote: true });
    const result = await runCli(
      [
        'run',
        '--queue',
        QUEUE.connection,
        '--issues',
        '1',
        '--push',
        '--fail-fast',
        '--timeout',
        '1m',
        '--merge',
        '--concurrency',
        '2',
        '--no-setup',
        '--reuse',
        '--keep-path',
        'node_modules',
        '--max-idle',
        '1',
        '--',
        'true',
      ],
      { cwd: repo.path },
    );
    expect(result.stderr).toContain('QUEUE_UNAVAILABLE');
    expect(result.stderr).not.toContain('with queue, ');
  });
});
