import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type PoolExecutionResult, WorktreeManager } from '../src/index.js';
import { json, runCli, startCli } from './helpers/cli-process.js';
import { createTempRepo, tempDir } from './helpers/temp-repo.js';

const AGENT = fileURLToPath(new URL('./fixtures/usage-limit-agent.mjs', import.meta.url));

describe('a usage limit pauses the batch (run)', () => {
  it('pauses at Claude’s limit, starts nothing meanwhile, resumes the task in its worktree, and --timeout does not count the pause', async () => {
    const repo = createTempRepo();
    const logDir = tempDir();
    const page = join(tempDir(), 'batch.html');
    const run = startCli(
      [
        'run',
        '--issues',
        '1,2,3',
        '--concurrency',
        '2',
        '--timeout',
        '3s',
        '--merge',
        '--radar-interval',
        '0',
        '--log-dir',
        logDir,
        '--json',
        '--html',
        page,
        '--',
        process.execPath,
        AGENT,
        logDir,
      ],
      { cwd: repo.path },
    );
    // While issue 1 waits, `status` shows it paused (a live state, from the run's events).
    while (!pausedInLog(logDir)) await sleep(20);
    const status = await runCli(['status', '--json'], { cwd: repo.path });
    expect(json<{ paused: { issueNumber: number }[] }>(status).paused).toEqual([
      expect.objectContaining({ issueNumber: 1 }),
    ]);
    const result = await run.done;
    expect(result.stderr).toContain('paused');
    expect(result.code).toBe(0);
    const batch = json<PoolExecutionResult>(result);
    expect(batch.results.map((task) => task.status)).toEqual(['success', 'success', 'success']);
    const [first] = batch.results;
    expect(first?.pause?.count).toBe(1);
    // The reset lay 4–5 s ahead; the task's own budget was 3 s.
    expect(first?.pause?.totalMs).toBeGreaterThan(3_000);
    // The first attempt's commit and its uncommitted file landed with the resumed attempt's work.
    const landed = repo.git('ls-tree', '--name-only', 'main').split('\n');
    expect(landed).toEqual(
      expect.arrayContaining(['part1.txt', 'part2.txt', 'notes.txt', 'issue-2.txt', 'issue-3.txt']),
    );
    expect(repo.git('show', 'main:part2.txt')).toBe('second half, attempt 2');

    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const events = await manager.telemetryEvents({ batchId: batch.batchId });
    const at = (type: string, issue?: number) =>
      events.find((e) => e.type === type && (issue === undefined || e.issueNumber === issue))?.timestamp ??
      '';
    expect(at('task-paused', 1)).not.toBe('');
    expect(at('pool-paused', 1)).not.toBe('');
    // Issue 2 was running when the limit came, and went on; issue 3 waited for the reset.
    expect(at('task-complete', 2) < at('pool-unpaused')).toBe(true);
    expect(at('create-start', 3) >= at('pool-unpaused')).toBe(true);
    expect(at('task-resumed', 1) >= at('pool-unpaused')).toBe(true);
    // The HTML page draws the pause between two execute bars.
    expect(readFileSync(page, 'utf8')).toMatch(/phase-execute[\s\S]*phase-paused[\s\S]*phase-execute/);
  });
});

/** True once issue 1's log says it paused (the pool writes that line after the pause began). */
function pausedInLog(logDir: string): boolean {
  return readdirSync(logDir).some((batch) => {
    const log = join(logDir, batch, 'issue-1.log');
    return existsSync(log) && readFileSync(log, 'utf8').includes('paused until');
  });
}
