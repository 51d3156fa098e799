import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/config-schema.js';
import {
  DEFAULT_CONCURRENCY,
  DEFAULT_TIMEOUT_MS,
  isMiyabiError,
  MAX_CONCURRENCY,
  MAX_IDLE,
  MAX_LOG_RETENTION,
  WorktreeManager,
  WorktreePool,
} from '../src/index.js';
import { runCli } from './helpers/cli-process.js';
import { repoState } from './helpers/repo-state.js';
import { createTempRepo } from './helpers/temp-repo.js';

/** The error `run` throws (or the promise it returns rejects with). */
async function failure(run: () => unknown): Promise<Error & { code?: string }> {
  try {
    await run();
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected a refusal');
}

describe('one limit per option, everywhere', () => {
  it('refuses maxConcurrency 65 in the config file, the manager, the pool and --concurrency with the same limit', async () => {
    const limit = `from 1 to ${MAX_CONCURRENCY}`;
    const fromFile = await failure(() => parseConfig({ maxConcurrency: MAX_CONCURRENCY + 1 }));
    expect(fromFile.code).toBe('INVALID_CONFIG');
    expect(fromFile.message).toBe(
      `miyabi-worktree.config.json: maxConcurrency: expected an integer ${limit}, got ${MAX_CONCURRENCY + 1}`,
    );

    const repo = createTempRepo();
    const fromManager = await failure(() =>
      WorktreeManager.open({ repoPath: repo.path, maxConcurrency: MAX_CONCURRENCY + 1 }),
    );
    // The option, the limit, the value and its type.
    expect(fromManager.message).toBe(`maxConcurrency must be an integer ${limit}, got 65 (number)`);
    expect(isMiyabiError(fromManager, 'INVALID_ARGUMENT')).toBe(true);

    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const fromPool = await failure(() => new WorktreePool(manager, { maxConcurrency: MAX_CONCURRENCY + 1 }));
    expect(fromPool.message).toBe(`maxConcurrency must be an integer ${limit}, got 65 (number)`);

    const before = repoState(repo.path);
    const cli = await runCli(['run', '--issues', '1', '--concurrency', '65', '--', 'true'], {
      cwd: repo.path,
    });
    expect(cli.code).toBe(2);
    expect(cli.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(cli.stderr).toContain(`--concurrency: "65" is not an integer ${limit}`);
    expect(repoState(repo.path)).toEqual(before);
  });

  it('refuses maxIdle and logRetention beyond their limit in the config file and the pool alike', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    for (const [option, max] of [
      ['maxIdle', MAX_IDLE],
      ['logRetention', MAX_LOG_RETENTION],
    ] as const) {
      const fromFile = await failure(() => parseConfig({ [option]: max + 1 }));
      const fromPool = await failure(() => new WorktreePool(manager, { [option]: max + 1 }));
      expect(fromFile.message).toContain(`${option}: expected an integer from`);
      expect(fromFile.message).toContain(`to ${max}, got ${max + 1}`);
      expect(fromPool.message).toMatch(new RegExp(`^${option} must be an integer from \\d+ to ${max}, got`));
      // The largest value is taken by both.
      expect(parseConfig({ [option]: max })[option]).toBe(max);
      expect(new WorktreePool(manager, { [option]: max }).config[option]).toBe(max);
    }
  });

  it('applies the declared defaults when nothing is set, and the help shows them and the limit', async () => {
    const repo = createTempRepo();
    const pool = await WorktreePool.create({ repoPath: repo.path });
    expect(pool.config).toMatchObject({ maxConcurrency: DEFAULT_CONCURRENCY, timeoutMs: DEFAULT_TIMEOUT_MS });
    expect(pool.manager.maxConcurrency).toBe(DEFAULT_CONCURRENCY);
    const help = (await runCli(['run', '--help'], { cwd: repo.path })).stdout.replace(/\s+/g, ' ');
    expect(help).toContain(
      `tasks at once, 1 to ${MAX_CONCURRENCY} (default: config maxConcurrency, else ${DEFAULT_CONCURRENCY})`,
    );
    expect(help).toContain(`(default: config timeout, else ${DEFAULT_TIMEOUT_MS / 60_000}m)`);
  });
});
