import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type PoolExecutionResult, WorktreeManager } from '../src/index.js';
import { json, runCli, startCli } from './helpers/cli-process.js';
import { createTempRepo, tempDir } from './helpers/temp-repo.js';

const AGENT = fileURLToPath(new URL('./fixtures/resume-agent.mjs', import.meta.url));

/** Waits for observable state (a file an agent wrote, a commit on main), polling it. */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await sleep(20);
}

describe('run --resume', () => {
  it('after kill -9 of the run and its agents, runs only the unfinished tasks, in their kept worktrees, and reports the whole batch', async () => {
    const repo = createTempRepo();
    const dir = tempDir();
    const command = [process.execPath, AGENT, dir];
    const run = startCli(
      [
        'run',
        '--issues',
        '1,2,3',
        '--concurrency',
        '3',
        '--merge',
        '--radar-interval',
        '0',
        '--json',
        '--',
        ...command,
      ],
      { cwd: repo.path },
    );
    const landed = () => repo.git('ls-tree', '--name-only', 'main').split('\n');
    await until(
      () =>
        existsSync(join(dir, 'waiting-2')) &&
        existsSync(join(dir, 'waiting-3')) &&
        landed().includes('issue-1.txt'),
    );
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    // Issue 1's result is recorded once its merge is done and its worktree gone.
    await until(() => readFileSync(join(dir, 'runs'), 'utf8').includes('1 first'));
    let batchId = '';
    while (true) {
      const [batch] = await manager.listBatches();
      const record = batch ? await manager.batchRecord(batch.id) : undefined;
      if (record?.results.some((result) => result.issueNumber === 1)) {
        batchId = record.id;
        break;
      }
      await sleep(20);
    }

    // While its runner lives, the batch is not resumed.
    const busy = await runCli(['run', '--resume'], { cwd: repo.path });
    expect(busy.code).toBe(2);
    expect(busy.stderr).toContain(`is still running (pid ${run.child.pid} on `);

    const kept = new Map((await manager.listWorktrees()).map((w) => [w.issueNumber, w.id]));
    run.child.kill('SIGKILL');
    for (const issue of [2, 3])
      process.kill(-Number(readFileSync(join(dir, `waiting-${issue}`), 'utf8')), 'SIGKILL');
    await run.done;

    const other = await runCli(['run', '--resume', '--', 'echo', 'else'], { cwd: repo.path });
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('is not batch');
    const unknown = await runCli(['run', '--resume', 'batch-nope'], { cwd: repo.path });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no batch batch-nope in this repository');
    const status = await runCli(['status'], { cwd: repo.path });
    expect(status.stdout).toContain(batchId);
    expect(status.stdout).toContain('run --resume');

    const resumed = await runCli(['run', '--resume', '--json'], { cwd: repo.path });
    expect(resumed.code).toBe(0);
    const result = json<PoolExecutionResult>(resumed);
    expect(result.batchId).toBe(batchId);
    expect(result.results.map((task) => [task.issueNumber, task.status])).toEqual([
      [1, 'success'],
      [2, 'success'],
      [3, 'success'],
    ]);
    // Issues 2 and 3 ran again in the worktrees the killed run left; issue 1 was not run again.
    expect(result.results[1]?.worktreeId).toBe(kept.get(2));
    expect(result.results[2]?.worktreeId).toBe(kept.get(3));
    expect(readFileSync(join(dir, 'runs'), 'utf8').trim().split('\n').sort()).toEqual([
      '1 first',
      '2 first',
      '2 resumed',
      '3 first',
      '3 resumed',
    ]);
    expect(landed()).toEqual(
      expect.arrayContaining([
        'issue-1.txt',
        'half-2.txt',
        'notes-2.txt',
        'rest-2.txt',
        'half-3.txt',
        'rest-3.txt',
      ]),
    );
    // The record now says the batch ended; nothing is left to resume.
    const again = await runCli(['run', '--resume', batchId], { cwd: repo.path });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('nothing to resume');
  });
});

describe('run --resume after Ctrl-C', () => {
  it('restores a cancelled task from its archive and finishes it there', async () => {
    const repo = createTempRepo();
    const dir = tempDir();
    const run = startCli(
      ['run', '--issues', '2', '--merge', '--radar-interval', '0', '--', process.execPath, AGENT, dir],
      { cwd: repo.path },
    );
    await until(() => existsSync(join(dir, 'waiting-2')));
    run.child.kill('SIGINT');
    expect((await run.done).code).toBe(130);
    // Ctrl-C archived the worktree (its commit and uncommitted notes) and removed it.
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    expect(await manager.listWorktrees()).toEqual([]);

    const resumed = await runCli(['run', '--resume', '--json'], { cwd: repo.path });
    expect(resumed.code).toBe(0);
    expect(json<PoolExecutionResult>(resumed).results).toEqual([
      expect.objectContaining({ issueNumber: 2, status: 'success' }),
    ]);
    expect(repo.git('ls-tree', '--name-only', 'main').split('\n')).toEqual(
      expect.arrayContaining(['half-2.txt', 'notes-2.txt', 'rest-2.txt']),
    );
  });
});

describe('run --resume after a kill -9 at the merge', () => {
  it('does not run or merge again a task whose merge moved the target before the runner died', async () => {
    const repo = createTempRepo();
    const dir = tempDir();
    // main not checked out, so the merge moves it with update-ref, whose reference-transaction hook
    // kills the run (the hook's grandparent) right after the target moved, before any result is written.
    repo.git('checkout', '-q', '--detach');
    const hook = join(repo.path, '.git', 'hooks', 'reference-transaction');
    writeFileSync(
      hook,
      '#!/bin/sh\n[ "$1" = committed ] || exit 0\ngrep -q " refs/heads/main$" || exit 0\nkill -9 "$(cut -d" " -f4 /proc/$PPID/stat)"\n',
    );
    chmodSync(hook, 0o755);
    const killed = await runCli(
      ['run', '--issues', '1', '--merge', '--radar-interval', '0', '--', process.execPath, AGENT, dir],
      { cwd: repo.path },
    );
    expect(killed.signal).toBe('SIGKILL');
    expect(repo.git('ls-tree', '--name-only', 'main')).toContain('issue-1.txt');
    const landedCommits = repo.git('rev-list', '--count', 'main');
    rmSync(hook);

    const resumed = await runCli(['run', '--resume', '--json'], { cwd: repo.path });
    expect(resumed.code).toBe(0);
    expect(json<PoolExecutionResult>(resumed).results).toEqual([
      expect.objectContaining({
        issueNumber: 1,
        status: 'success',
        merge: expect.objectContaining({ status: 'up-to-date' }),
      }),
    ]);
    // Neither the agent nor the merge ran twice.
    expect(readFileSync(join(dir, 'runs'), 'utf8')).toBe('1 first\n');
    expect(repo.git('rev-list', '--count', 'main')).toBe(landedCommits);
  });
});

describe('a batch runner is recognised by pid, boot id and start time', () => {
  it('counts a live pid as the runner only with its own boot id and start time', async () => {
    const { currentBatchOwner, isBatchOwnerAlive } = await import('../src/state/batch-owner.js');
    const me = currentBatchOwner();
    expect(isBatchOwnerAlive(me)).toBe(true);
    if (me.startTime === undefined || me.bootId === undefined) return; // no /proc: the pid alone counts
    // The same pid after a reboot, or reused by a later process, is not the runner.
    expect(isBatchOwnerAlive({ ...me, bootId: 'another-boot' })).toBe(false);
    expect(isBatchOwnerAlive({ ...me, startTime: me.startTime + 1 })).toBe(false);
  });
});
