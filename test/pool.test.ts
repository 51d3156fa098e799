import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { MiyabiError, runCommand, WorktreeManager, WorktreePool } from '../src/index.js';
import { gitProcessesOf } from './helpers/git-trace.js';
import { createTempRepo, git } from './helpers/temp-repo.js';

/** Resolves when `signal` aborts (or never): an executor that honours its signal. */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/** Running (not a zombie waiting to be reaped) according to /proc. */
function processRunning(pid: number): boolean {
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return false;
  return !/^\d+ \(.*\) [ZX]/.test(readFileSync(stat, 'utf8'));
}

function worktreeFolders(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}

describe('WorktreePool', () => {
  it('bounds whole lifecycles by maxConcurrency and returns results in input order', async () => {
    const repo = createTempRepo();
    const pool = await WorktreePool.create({ repoPath: repo.path, maxConcurrency: 2 });
    const dir = pool.manager.worktreeDir;
    let maxOnDisk = 0;
    let running = 0;
    let maxRunning = 0;
    const delays = [300, 50, 200, 10, 120, 30];
    // The first two tasks wait for each other (observable overlap, whatever the machine's load);
    // with a concurrency of one, they would wait forever and the test would time out.
    let bothRunning: () => void = () => {};
    const firstTwo = new Promise<void>((resolve) => {
      bothRunning = resolve;
    });
    const result = await pool.executeParallel(
      delays.map((_, i) => ({ issueNumber: i + 1 })),
      async (worktree, task) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        maxOnDisk = Math.max(maxOnDisk, worktreeFolders(dir).length);
        if (running === 2) bothRunning();
        if (task.issueNumber <= 2) await firstTwo;
        await sleep(delays[task.issueNumber - 1] ?? 0);
        maxOnDisk = Math.max(maxOnDisk, worktreeFolders(dir).length);
        running--;
        return `done ${task.issueNumber} in ${worktree.branchName}`;
      },
    );
    expect(maxRunning).toBe(2);
    expect(maxOnDisk).toBeLessThanOrEqual(2);
    expect(result.results.map((r) => r.issueNumber)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(result.results.map((r) => r.output)).toEqual(
      delays.map((_, i) => `done ${i + 1} in feature/issue-${i + 1}`),
    );
    expect(result).toMatchObject({
      totalTasks: 6,
      successCount: 6,
      failedCount: 0,
      timeoutCount: 0,
      cancelledCount: 0,
      allSuccessful: true,
      successRate: 100,
    });
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
    expect(worktreeFolders(dir)).toEqual([]);
    expect(await pool.manager.listWorktrees()).toEqual([]);
  });

  it('cleans each worktree up as soon as its task ends, before the batch ends', async () => {
    const repo = createTempRepo();
    const pool = await WorktreePool.create({ repoPath: repo.path, maxConcurrency: 2 });
    const paths = new Map<number, string>();
    let sawFirstRemoved = false;
    await pool.executeParallel([{ issueNumber: 1 }, { issueNumber: 2 }], async (worktree, task) => {
      paths.set(task.issueNumber, worktree.path);
      if (task.issueNumber === 2) {
        for (let i = 0; i < 200 && !sawFirstRemoved; i++) {
          const first = paths.get(1);
          sawFirstRemoved = first !== undefined && !existsSync(first);
          await sleep(50);
        }
      }
    });
    expect(sawFirstRemoved).toBe(true);
  });

  it('costs what git costs: a task in a small repository starts three git processes', async () => {
    const repo = createTempRepo();
    const pool = await WorktreePool.create({ repoPath: repo.path, maxConcurrency: 1 });
    const started = await gitProcessesOf(async () => {
      const result = await pool.executeParallel([{ issueNumber: 1 }], async () => {});
      expect(result.allSuccessful).toBe(true);
    });
    // Add with its checkout, remove (git checks the files are clean), delete the branch.
    expect(started).toEqual(['worktree add', 'worktree remove', 'update-ref -d']);
  });

  it('settles a task as timeout even when the executor ignores its signal', async () => {
    const repo = createTempRepo();
    const pool = await WorktreePool.create({ repoPath: repo.path, timeoutMs: 300, abortGraceMs: 200 });
    let signalAborted = false;
    const started = Date.now();
    const result = await pool.executeParallel([{ issueNumber: 1 }], async (_w, _t, ctx) => {
      ctx.signal.addEventListener('abort', () => {
        signalAborted = true;
      });
      await sleep(60_000, undefined, { ref: false });
    });
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(signalAborted).toBe(true);
    expect(result.results[0]).toMatchObject({ status: 'timeout', error: { code: 'TIMEOUT' } });
    expect(result.timeoutCount).toBe(1);
    expect(result.allSuccessful).toBe(false);
    // It may still be writing into its worktree: kept (marked failed) rather than deleted under it.
    expect(result.results[0]?.cleanedUp).toBe(false);
    expect(result.results[0]?.error?.message).toMatch(/did not stop within 200 ms/);
    const [kept] = await pool.manager.listWorktrees();
    expect(kept?.status).toBe('failed');
    expect(existsSync(kept?.path ?? '')).toBe(true);
    expect((await pool.manager.cleanupAll()).removed).toHaveLength(1);
    expect(await pool.manager.listWorktrees()).toEqual([]);
  });

  it('kills a timed-out command and its background grandchild before cleaning up', async () => {
    const repo = createTempRepo();
    const pool = await WorktreePool.create({ repoPath: repo.path, timeoutMs: 500 });
    const pidFile = join(repo.path, '..', 'grandchild.pid');
    let worktreePath = '';
    const result = await pool.executeParallel([{ issueNumber: 1 }], async (worktree, _t, ctx) => {
      worktreePath = worktree.path;
      // The grandchild keeps writing into the worktree until it is killed.
      const script = `(while :; do date >> ticks.txt; sleep 0.05; done) & echo $! > ${pidFile}; wait`;
      return runCommand(['sh', '-c', script], { cwd: worktree.path, signal: ctx.signal });
    });
    expect(result.results[0]?.status).toBe('timeout');
    const grandchild = Number(readFileSync(pidFile, 'utf8').trim());
    expect(processRunning(grandchild)).toBe(false);
    expect(existsSync(worktreePath)).toBe(false);
    // Its half-done output was archived, not lost.
    expect(repo.git('show', `${result.results[0]?.archiveRef}:ticks.txt`).length).toBeGreaterThan(0);
  });

  it('counts an executor that returns after its timeout as timeout', async () => {
    const repo = createTempRepo();
    const pool = await WorktreePool.create({ repoPath: repo.path, timeoutMs: 100, abortGraceMs: 2_000 });
    const result = await pool.executeParallel([{ issueNumber: 1 }], async () => {
      await sleep(400);
      return 'too late';
    });
    expect(result.results[0]?.status).toBe('timeout');
    expect(result.results[0]?.output).toBeUndefined();
  });

  it('fail-fast cancels in-flight tasks and skips queued ones', async () => {
    const repo = createTempRepo();
    const pool = await WorktreePool.create({ repoPath: repo.path, maxConcurrency: 2, failFast: true });
    const started: number[] = [];
    // Issue 1 fails only once issue 2 is in flight: an observable state, not a timing guess.
    let secondStarted: () => void = () => {};
    const inFlight = new Promise<void>((resolve) => {
      secondStarted = resolve;
    });
    const result = await pool.executeParallel(
      [1, 2, 3, 4, 5].map((issueNumber) => ({ issueNumber })),
      async (_w, task, ctx) => {
        started.push(task.issueNumber);
        if (task.issueNumber === 1) {
          await inFlight;
          throw new Error('boom');
        }
        secondStarted();
        await untilAborted(ctx.signal);
      },
    );
    expect(result.results.map((r) => r.status)).toEqual([
      'failed',
      'cancelled',
      'cancelled',
      'cancelled',
      'cancelled',
    ]);
    expect(result.results[0]?.error?.message).toBe('boom');
    // Exactly the two in flight ran; the queued three never started.
    expect([...started].sort()).toEqual([1, 2]);
    expect(result.results.slice(2).every((r) => r.worktreeId === '')).toBe(true);
    expect(result.cancelledCount).toBe(4);
    expect(worktreeFolders(pool.manager.worktreeDir)).toEqual([]);
    expect(await pool.manager.listWorktrees()).toEqual([]);
  });

  it('aborting the batch signal cancels everything and leaves nothing behind', async () => {
    const repo = createTempRepo();
    const pool = await WorktreePool.create({ repoPath: repo.path, maxConcurrency: 2 });
    const controller = new AbortController();
    let running = 0;
    let bothRunning: () => void = () => {};
    const twoInFlight = new Promise<void>((resolve) => {
      bothRunning = resolve;
    });
    const execution = pool.executeParallel(
      [1, 2, 3, 4].map((issueNumber) => ({ issueNumber })),
      async (worktree, _t, ctx) => {
        writeFileSync(join(worktree.path, 'progress.txt'), 'half done\n');
        if (++running === 2) bothRunning();
        await untilAborted(ctx.signal);
      },
      { signal: controller.signal },
    );
    await twoInFlight;
    controller.abort();
    const result = await execution;
    expect(result.results.map((r) => r.status)).toEqual(['cancelled', 'cancelled', 'cancelled', 'cancelled']);
    expect(worktreeFolders(pool.manager.worktreeDir)).toEqual([]);
    expect(await pool.manager.listWorktrees()).toEqual([]);
    expect(repo.git('worktree', 'list', '--porcelain').match(/^worktree /gm)).toHaveLength(1);
    // The half-done work of the cancelled tasks was archived, not lost.
    const archived = result.results.filter((r) => r.archiveRef);
    expect(archived).toHaveLength(2);
    for (const r of archived) expect(repo.git('show', `${r.archiveRef}:progress.txt`)).toBe('half done');
  });

  it('reports a task whose worktree cannot be created as failed without stalling the others', async () => {
    const repo = createTempRepo();
    repo.git('worktree', 'add', '-q', join(repo.path, '..', 'user-wt'), '-b', 'feature/issue-2');
    const pool = await WorktreePool.create({ repoPath: repo.path });
    const result = await pool.executeSimple([1, 2, 3], async (path, issue) => `${issue}:${existsSync(path)}`);
    expect(result.results.map((r) => r.status)).toEqual(['success', 'failed', 'success']);
    expect(result.results[1]?.error?.code).toBe('BRANCH_IN_USE');
    expect(result.results.map((r) => r.output)).toEqual(['1:true', undefined, '3:true']);
    expect(result.successRate).toBeCloseTo(66.67, 1);
  });

  it('keeps worktrees with completed / failed status when autoCleanup is off', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const pool = new WorktreePool(manager, { autoCleanup: false });
    const result = await pool.executeParallel([{ issueNumber: 1 }, { issueNumber: 2 }], async (_w, task) => {
      if (task.issueNumber === 2) throw 'a plain string';
    });
    expect(result.results[1]?.error?.message).toContain('a plain string');
    // Both were created at once: either may be the older one.
    const statuses = (await manager.listWorktrees())
      .map((w) => [w.issueNumber, w.status])
      .sort(([x], [y]) => Number(x) - Number(y));
    expect(statuses).toEqual([
      [1, 'completed'],
      [2, 'failed'],
    ]);
    expect(pool.stats().worktreesByStatus).toEqual({ active: 0, idle: 0, completed: 1, failed: 1 });
    expect((await manager.stats()).availableSlots).toBe(3);
  });

  it('archives what a task committed or left uncommitted when cleaning up', async () => {
    const repo = createTempRepo();
    const pool = await WorktreePool.create({ repoPath: repo.path });
    const result = await pool.executeParallel([{ issueNumber: 1 }], async (worktree) => {
      writeFileSync(join(worktree.path, 'feature.txt'), 'committed work\n');
      git(worktree.path, 'add', 'feature.txt');
      git(worktree.path, 'commit', '-q', '-m', 'feature');
      writeFileSync(join(worktree.path, 'notes.txt'), 'uncommitted notes\n');
    });
    const ref = result.results[0]?.archiveRef;
    expect(ref).toMatch(/^refs\/miyabi\/archive\/issue-1-/);
    expect(repo.git('show', `${ref}:notes.txt`)).toBe('uncommitted notes');
    expect(repo.git('show', `${ref}:feature.txt`)).toBe('committed work');
    // The branch held an unmerged commit: it is kept as well.
    expect(repo.git('branch', '--list', 'feature/issue-1')).toContain('feature/issue-1');
  });

  it('validates its input before starting anything', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    for (const [key, value] of [
      ['maxConcurrency', 0],
      ['maxConcurrency', 2.5],
      ['timeoutMs', -1],
      ['timeoutMs', Number.POSITIVE_INFINITY],
      ['timeoutMs', Number.NaN],
      ['failFast', 'yes'],
    ] as const) {
      let error: unknown;
      try {
        new WorktreePool(manager, { [key]: value } as never);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(MiyabiError);
      expect((error as MiyabiError).code).toBe('INVALID_ARGUMENT');
      expect((error as MiyabiError).message).toContain(key);
    }
    const pool = new WorktreePool(manager);
    const empty = await pool.executeParallel([], async () => {});
    expect(empty).toMatchObject({ totalTasks: 0, results: [], allSuccessful: true, successRate: 0 });
    await expect(
      pool.executeParallel([{ issueNumber: 4 }, { issueNumber: 4 }], async () => {}),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(pool.executeParallel([{ issueNumber: -4 }], async () => {})).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    expect(await manager.listWorktrees()).toEqual([]);
  });

  it('reports running and queued tasks in stats()', async () => {
    const repo = createTempRepo();
    const pool = await WorktreePool.create({ repoPath: repo.path, maxConcurrency: 1 });
    let snapshot: ReturnType<WorktreePool['stats']> | undefined;
    await pool.executeParallel([{ issueNumber: 1 }, { issueNumber: 2 }], async (_w, task) => {
      if (task.issueNumber === 1) snapshot = pool.stats();
    });
    expect(snapshot).toEqual({
      maxConcurrency: 1,
      activeTasks: 1,
      queuedTasks: 1,
      availableSlots: 0,
      worktreesByStatus: { active: 1, idle: 0, completed: 0, failed: 0 },
    });
    expect(pool.stats()).toMatchObject({ activeTasks: 0, queuedTasks: 0, availableSlots: 1 });
  });
});
