import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type TaskCompleteEvent, WorktreeManager, WorktreePool } from '../src/index.js';
import { createTempRepo, tempDir } from './helpers/temp-repo.js';

describe('pool stages, events and up-front validation', () => {
  it('refuses a task with a bad branchName before any task starts', async () => {
    const repo = createTempRepo();
    const pool = await WorktreePool.create({ repoPath: repo.path });
    let started = 0;
    const run = pool.executeParallel(
      [{ issueNumber: 1 }, { issueNumber: 2, branchName: 'bad name' }],
      async () => {
        started++;
      },
    );
    await expect(run).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('tasks[1].branchName "bad name" (string) is not a branch name'),
    });
    expect(started).toBe(0);
    expect(existsSync(join(repo.path, '.worktrees'))).toBe(false);
  });

  it('refuses a merge target that is no local branch, and a push remote that does not exist, before any task starts', async () => {
    const repo = createTempRepo();
    const merging = await WorktreePool.create({ repoPath: repo.path, merge: { into: 'nope' } });
    await expect(merging.executeParallel([{ issueNumber: 1 }], async () => {})).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: "merge.into: there is no local branch 'nope' to merge into",
      details: { option: 'merge.into' },
    });
    const pushing = await WorktreePool.create({ repoPath: repo.path, push: { remote: 'nowhere' } });
    await expect(pushing.validate([{ issueNumber: 1 }])).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      details: { option: 'push.remote' },
    });
    expect(existsSync(join(repo.path, '.worktrees'))).toBe(false);
    await expect(WorktreePool.create({ repoPath: repo.path, merge: 'yes' as never })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('merge must be an object'),
    });
  });

  it('ends a task whose setup runs out of its own budget as timeout at stage setup, without running the executor', async () => {
    const repo = createTempRepo();
    const pool = await WorktreePool.create({
      repoPath: repo.path,
      prepare: { setup: [[process.execPath, '-e', 'setInterval(() => {}, 1000)']], setupTimeoutMs: 300 },
    });
    let ran = false;
    const result = await pool.executeParallel([{ issueNumber: 4 }], async () => {
      ran = true;
    });
    expect(ran).toBe(false);
    expect(result.results[0]).toMatchObject({
      status: 'timeout',
      stage: 'setup',
      error: { code: 'TIMEOUT' },
    });
    expect(result).toMatchObject({ timeoutCount: 1, allSuccessful: false });
  });

  it('keeps what the executor reported with setOutput when it then fails', async () => {
    const repo = createTempRepo();
    const pool = await WorktreePool.create({ repoPath: repo.path });
    const result = await pool.executeParallel([{ issueNumber: 5 }], async (_worktree, _task, ctx) => {
      ctx.setOutput({ step: 'half-way' });
      throw new Error('agent crashed');
    });
    expect(result.results[0]).toMatchObject({
      status: 'failed',
      stage: 'execute',
      output: { step: 'half-way' },
      error: { message: 'agent crashed' },
    });
  });

  it('delivers typed per-event listeners, also through events.once, with no cast', async () => {
    const repo = createTempRepo();
    const pool = await WorktreePool.create({ repoPath: repo.path });
    const completed: TaskCompleteEvent[] = [];
    pool.manager.on('task-complete', (event) => completed.push(event));
    const created = once(pool.manager, 'create-complete');
    const result = await pool.executeParallel([{ issueNumber: 6 }], async () => 'ok');
    const [event] = (await created) as [{ type: string; worktreeId: string }];
    expect(event).toMatchObject({ type: 'create-complete', worktreeId: result.results[0]?.worktreeId });
    expect(completed.map((e) => [e.type, e.status, e.issueNumber])).toEqual([
      ['task-complete', 'success', 6],
    ]);
    // A JavaScript caller's typo is refused, not left waiting for an event that never comes.
    expect(() => Reflect.apply(pool.manager.on, pool.manager, ['nope', () => {}])).toThrow(
      /unknown event name "nope"/,
    );
  });

  it('a throwing or rejecting event listener breaks no operation nor the listeners after it; many listeners warn of no leak', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    try {
      manager.on('event', () => {
        throw new Error('listener bug');
      });
      manager.on('create-complete', async () => {
        throw new Error('async listener bug');
      });
      const seen: string[][] = Array.from({ length: 12 }, () => []);
      for (const list of seen) manager.on('event', (event) => list.push(event.type));
      const made = await manager.createWorktree(3);
      expect(made.status).toBe('active');
      for (const list of seen) expect(list).toContain('create-complete');
      await manager.removeWorktree(made.id);
      expect(warnings).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('keeps only the newest logRetention batch log folders, and nothing else in the folder is touched', async () => {
    const repo = createTempRepo();
    const logDir = tempDir();
    for (const [index, name] of ['batch-a1-0a', 'batch-a2-0b', 'batch-a3-0c'].entries()) {
      mkdirSync(join(logDir, name));
      const at = new Date(Date.now() - (10 - index) * 60_000);
      utimesSync(join(logDir, name), at, at);
    }
    writeFileSync(join(logDir, 'notes.txt'), 'mine\n');
    const pool = await WorktreePool.create({ repoPath: repo.path, logDir, logRetention: 2 });
    const result = await pool.executeParallel([{ issueNumber: 8 }], async () => {});
    expect(readdirSync(logDir).sort()).toEqual(['batch-a3-0c', result.batchId, 'notes.txt'].sort());
    await expect(WorktreePool.create({ repoPath: repo.path, logRetention: 0 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });

  it('says at once that a create waits for a slot, and for which worktrees', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path, maxConcurrency: 1 });
    const first = await manager.createWorktree(1);
    const waiting = once(manager, 'slot-wait');
    const controller = new AbortController();
    const second = manager.createWorktree(2, { signal: controller.signal });
    const [event] = (await waiting) as [{ heldBy: string[]; issueNumber: number }];
    expect(event).toMatchObject({ issueNumber: 2, heldBy: [first.id] });
    controller.abort();
    await expect(second).rejects.toMatchObject({ code: 'CANCELLED' });
    await manager.removeWorktree(first.id);
  });
});
