import { existsSync } from 'node:fs';
import { setImmediate as tick } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { commandExecutor, type WorktreeEvent, WorktreePool } from '../src/index.js';
import { runCli } from './helpers/cli-process.js';
import { repoState } from './helpers/repo-state.js';
import { createTempRepo } from './helpers/temp-repo.js';

/** `node -e <script>` as a task's command. */
const node = (script: string) => commandExecutor([process.execPath, '-e', script]);
const LIMIT_IN_AN_HOUR =
  'console.log("Claude AI usage limit reached|" + (Math.floor(Date.now() / 1000) + 3600)); process.exit(1)';

describe('usage limits in the pool', () => {
  it('ignores the text in a command that succeeded, or above its last 20 lines', async () => {
    const repo = createTempRepo();
    const pool = await WorktreePool.create({ repoPath: repo.path, radarIntervalMs: 0 });
    const said = 'console.log("Claude AI usage limit reached|9999999999")';
    const ok = await pool.executeParallel([{ issueNumber: 1 }], node(said));
    expect(ok.results[0]?.status).toBe('success');
    const buried = await pool.executeParallel(
      [{ issueNumber: 2 }],
      node(`${said}; for (let i = 0; i < 20; i++) console.log(i); process.exit(1)`),
    );
    expect(buried.results[0]).toMatchObject({ status: 'failed', error: { code: 'COMMAND_FAILED' } });
    expect(buried.results[0]?.pause).toBeUndefined();
  });

  it('fails a task whose reset lies beyond pauseMax with USAGE_LIMIT, keeping its worktree', async () => {
    const repo = createTempRepo();
    const pool = await WorktreePool.create({ repoPath: repo.path, radarIntervalMs: 0, pauseMaxMs: 60_000 });
    const events: WorktreeEvent[] = [];
    pool.manager.on('event', (event) => events.push(event));
    const result = await pool.executeParallel([{ issueNumber: 1 }], node(LIMIT_IN_AN_HOUR));
    const [task] = result.results;
    expect(task).toMatchObject({
      status: 'failed',
      stage: 'execute',
      error: { code: 'USAGE_LIMIT' },
      cleanedUp: false,
    });
    expect(task?.pause?.count).toBe(1);
    // The hint names the batch to resume, in the library's words.
    expect(task?.error?.hint).toBe(
      `The provider's usage limit resets after pauseMax: its worktree was kept; resumeBatch('${result.batchId}') continues it after the reset.`,
    );
    expect(Date.parse(task?.pause?.until ?? '') - Date.now()).toBeGreaterThan(3_000_000);
    expect(existsSync(task?.worktreePath ?? '')).toBe(true);
    // Nothing waited: the pool never paused.
    expect(events.some((event) => event.type === 'pool-paused')).toBe(false);
  });

  it("says in run --json which batch 'run --resume' continues", async () => {
    const repo = createTempRepo();
    const run = await runCli(
      ['run', '--issues', '1', '--pause-max', '1m', '--json', '--', process.execPath, '-e', LIMIT_IN_AN_HOUR],
      { cwd: repo.path },
    );
    expect(run.code).toBe(1);
    const batch = JSON.parse(run.stdout) as {
      batchId: string;
      results: { error?: { code?: string; hint?: string } }[];
    };
    expect(batch.results[0]?.error).toMatchObject({
      code: 'USAGE_LIMIT',
      hint: `The provider's usage limit resets after pauseMax: its worktree was kept; 'miyabi-worktree run --resume ${batch.batchId}' continues it after the reset.`,
    });
  });

  it('pool.pause() holds every start until pool.unpause(), with events', async () => {
    const repo = createTempRepo();
    const pool = await WorktreePool.create({ repoPath: repo.path, radarIntervalMs: 0 });
    const events: WorktreeEvent[] = [];
    pool.manager.on('event', (event) => events.push(event));
    pool.pause();
    const running = pool.executeParallel([{ issueNumber: 1 }, { issueNumber: 2 }], node(''));
    // Both tasks took their slots and wait at the gate.
    while (pool.stats().activeTasks < 2) await tick();
    expect(events.filter((event) => event.type === 'create-start')).toEqual([]);
    pool.unpause();
    const result = await running;
    expect(result.allSuccessful).toBe(true);
    const types = events.map((event) => event.type);
    expect(types[0]).toBe('pool-paused');
    expect(types.indexOf('pool-unpaused')).toBeLessThan(types.indexOf('create-start'));
    expect(events[0]).toMatchObject({ type: 'pool-paused', reason: 'caller', worktreeId: 'pool' });
    expect(() => pool.pause(Number.NaN)).toThrow(/Date or epoch milliseconds/);
  });

  it('refuses a --pause-on that is no regular expression, and a bad --pause-max, before anything starts (exit 2)', async () => {
    const repo = createTempRepo();
    const before = repoState(repo.path);
    const bad = await runCli(['run', '--issues', '1', '--pause-on', '(unclosed', '--', 'true'], {
      cwd: repo.path,
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--pause-on: "\(unclosed" is not a valid regular expression/);
    const max = await runCli(['run', '--issues', '1', '--pause-max', 'soon', '--', 'true'], {
      cwd: repo.path,
    });
    expect(max.code).toBe(2);
    expect(max.stderr).toContain('--pause-max');
    expect(repoState(repo.path)).toEqual(before);
  });
});
