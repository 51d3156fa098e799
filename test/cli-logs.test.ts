import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PoolExecutionResult, TaskLog, WorktreeInfo } from '../src/index.js';
import { eventually, json, runCli, stoppedAfterEachTest } from './helpers/cli-process.js';
import { createTempRepo, tempDir } from './helpers/temp-repo.js';

/** A task that prints a line, waits for `barrier` to exist, prints another and ends. */
function twoLinesAround(barrier: string): string[] {
  // Arithmetic, so that the command line the log starts with does not hold the printed text.
  return [
    'sh',
    '-c',
    `echo "$((40+2)) first"; while [ ! -e '${barrier}' ]; do sleep 0.05; done; echo "$((40+3)) second"`,
  ];
}

const startCli = stoppedAfterEachTest();

describe('logs and path', () => {
  it('logs -f follows a running task and ends when the task ends; path names its worktree', async () => {
    const repo = createTempRepo();
    const barrier = join(tempDir(), 'go');
    const run = startCli(['run', '--issues', '3', '--', ...twoLinesAround(barrier)], { cwd: repo.path });
    expect(await eventually(() => /#3 running/.test(run.stderr()), 20_000)).toBe(true);

    const path = await runCli(['path', '3'], { cwd: repo.path });
    expect(path.code).toBe(0);
    expect(existsSync(path.stdout.trim())).toBe(true);
    const info = json<WorktreeInfo>(await runCli(['path', '#3', '--json'], { cwd: repo.path }));
    expect(info).toMatchObject({ issueNumber: 3, path: path.stdout.trim() });

    const follow = startCli(['logs', '-f', '3'], { cwd: repo.path });
    let exited = false;
    void follow.done.then(() => {
      exited = true;
    });
    expect(await eventually(() => follow.stdout().includes('42 first'), 15_000)).toBe(true);
    // Still following: the task waits at its barrier.
    expect(exited).toBe(false);
    expect(follow.stdout()).not.toContain('43 second');
    writeFileSync(barrier, '');
    const [followed, ran] = await Promise.all([follow.done, run.done]);
    expect(ran.code).toBe(0);
    expect(followed.code).toBe(0);
    expect(followed.stdout).toMatch(/42 first\n(.*\n)*43 second\n/);

    // Finished (and its worktree removed): still readable, whole, by issue or id.
    const record = json<TaskLog & { text: string }>(
      await runCli(['logs', '3', '--json'], { cwd: repo.path }),
    );
    expect(record).toMatchObject({ issueNumber: 3, status: 'success', endedAt: expect.any(String) });
    expect(record.text).toContain('42 first\n43 second\n');
    const byId = await runCli(['logs', record.worktreeId], { cwd: repo.path });
    expect(byId.stdout).toBe(record.text);
  });

  it('logs -f --json prints one line per chunk, then the TaskLog; an unknown id or issue is NOT_FOUND naming the ids it knows', async () => {
    const repo = createTempRepo();
    const ran = await runCli(['run', '--issues', '4', '--json', '--', 'true'], { cwd: repo.path });
    expect(ran.code).toBe(0);
    const [known] = json<PoolExecutionResult>(ran).results;
    if (!known) throw new Error('the batch returned no result');
    // -f --json on a finished task: one JSON line per chunk, then its TaskLog.
    const lines = (await runCli(['logs', '-f', '4', '--json'], { cwd: repo.path })).stdout.trim().split('\n');
    const chunks = lines.slice(0, -1).map((line) => JSON.parse(line) as { text: string });
    expect(chunks.map((chunk) => chunk.text).join('')).toContain(`worktree ${known.worktreeId}`);
    expect(JSON.parse(lines.at(-1) ?? '')).toMatchObject({ worktreeId: known.worktreeId, status: 'success' });
    const unknown = await runCli(['logs', 'issue-9-deadbeef', '--json'], { cwd: repo.path });
    expect(unknown.code).toBe(1);
    expect(json<{ error: { code: string; hint: string } }>(unknown).error).toMatchObject({
      code: 'NOT_FOUND',
      hint: expect.stringContaining(`${known.worktreeId} (#4)`),
      details: { known: [{ worktreeId: known.worktreeId, issueNumber: 4 }] },
    });
    const issue = await runCli(['logs', '99'], { cwd: repo.path });
    expect(issue.stderr).toMatch(/\[NOT_FOUND\] no task log for issue 99.*#4/);
    const path = await runCli(['path', '4'], { cwd: repo.path });
    expect(path.code).toBe(1);
    expect(path.stderr).toMatch(/NOT_FOUND/);
  });
});
