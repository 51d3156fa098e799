import { appendFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { WorktreePool } from '../src/index.js';
import { createTempRepo } from './helpers/temp-repo.js';

describe('WorktreeManager.followLog', () => {
  it('follows a task of this process from its first byte and ends when the task ends', async () => {
    const repo = createTempRepo();
    const pool = await WorktreePool.create({ repoPath: repo.path, radarIntervalMs: 0 });
    let open = () => {};
    const barrier = new Promise<void>((resolve) => {
      open = resolve;
    });
    const started = new Promise<void>((resolve) => pool.manager.once('execute-start', () => resolve()));
    const batch = pool.executeParallel([{ issueNumber: 6 }], async (_worktree, _task, ctx) => {
      await appendFile(ctx.logFile, 'before the barrier\n');
      await barrier;
      await appendFile(ctx.logFile, 'after the barrier\n');
    });
    await started;
    const chunks: string[] = [];
    const follow = (async () => {
      for await (const chunk of pool.manager.followLog(6, { pollMs: 20 })) {
        chunks.push(chunk);
        if (chunks.join('').includes('before the barrier')) open();
      }
    })();
    // The process stays alive: only the task's recorded end can stop the iteration.
    const ended = await Promise.race([
      Promise.all([follow, batch]).then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 15_000).unref()),
    ]);
    open();
    expect(ended).toBe(true);
    const text = chunks.join('');
    expect(text).toMatch(/^# miyabi-worktree: issue 6, worktree issue-6-/);
    // Then the closing line the pool writes when the task ends.
    expect(text).toMatch(
      /before the barrier\nafter the barrier\n# miyabi-worktree: ended success in \S+: worktree removed\n$/,
    );
    expect(await pool.manager.logFile('#6')).toMatchObject({ issueNumber: 6, status: 'success' });
    expect((await pool.manager.taskLogs()).map((log) => log.issueNumber)).toEqual([6]);
  });

  it('forgets the tasks whose batch logs logRetention deleted', async () => {
    const repo = createTempRepo();
    const pool = await WorktreePool.create({ repoPath: repo.path, radarIntervalMs: 0, logRetention: 1 });
    await pool.executeParallel([{ issueNumber: 1 }], async () => {});
    await pool.executeParallel([{ issueNumber: 2 }], async () => {});
    expect((await pool.manager.taskLogs()).map((log) => log.issueNumber)).toEqual([2]);
    await expect(pool.manager.logFile(1)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('rejects an unknown id with NOT_FOUND on the first read', async () => {
    const repo = createTempRepo();
    const pool = await WorktreePool.create({ repoPath: repo.path });
    const iterator = pool.manager.followLog('issue-1-00000000');
    await expect(iterator.next()).rejects.toMatchObject({ code: 'NOT_FOUND', details: { known: [] } });
  });
});
