import { describe, expect, it } from 'vitest';
import { changeLine, renderFrame, type TaskProgress } from '../src/cli/render/progress.js';
import { attemptRows, createProgressTracker } from '../src/cli/run/progress-tracker.js';
import { type TaskResult, WorktreeManager } from '../src/index.js';
import { runCli } from './helpers/cli-process.js';
import { createTempRepo } from './helpers/temp-repo.js';

const NOW = Date.parse('2026-12-06T10:00:00Z');

describe('the live view of a batch with variants', () => {
  it('shows one row per attempt while they run, then the issue’s outcome on one row', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path, config: false });
    let last: readonly TaskProgress[] = [];
    let done: readonly TaskProgress[] = [];
    const tracker = createProgressTracker(
      manager,
      [42, 43],
      {
        update: (states) => {
          last = states;
        },
        done: (states) => {
          done = states ?? [];
        },
        notice: () => {},
      },
      { now: () => NOW },
    );
    const rows = attemptRows(
      [{ issueNumber: 42 }, { issueNumber: 43 }],
      [{}, {}, {}],
      'feature/issue-{issue}',
    );
    expect(rows.map((row) => row.branchName)).toEqual([
      'feature/issue-42-v1',
      'feature/issue-42-v2',
      'feature/issue-42-v3',
      'feature/issue-43-v1',
      'feature/issue-43-v2',
      'feature/issue-43-v3',
    ]);
    // 43 runs once here: only 42's attempts get rows.
    tracker.attempts(
      rows.filter((row) => row.issueNumber === 42),
      'scoring …',
    );
    const event = (variant: number) => ({
      worktreeId: `issue-42-v${variant}`,
      issueNumber: 42,
      branch: `feature/issue-42-v${variant}`,
    });
    manager.recordEvent({ type: 'execute-start', ...event(2) });
    manager.recordEvent({ type: 'execute-start', ...event(3) });
    manager.recordEvent({
      type: 'task-complete',
      ...event(1),
      durationMs: 5,
      status: 'failed',
      stage: 'execute',
    });
    await manager.flush();
    tracker.output(42, 'half way', 2);
    // v3's command succeeded: it is scored now.
    manager.recordEvent({ type: 'task-complete', ...event(3), durationMs: 5, status: 'success' });
    await manager.flush();
    expect(
      last.map((task) => [task.issueNumber, task.variant ?? null, task.state, task.lastLine ?? null]),
    ).toEqual([
      [42, 1, 'failed', null],
      [42, 2, 'running', 'half way'],
      [42, 3, 'success', 'scoring …'],
      [43, null, 'queued', null],
    ]);
    const frame = renderFrame(last, NOW, 80).split('\n');
    expect(frame[0]).toMatch(/^✖ #42 v1 failed/);
    expect(frame[1]).toMatch(/^. #42 v2 running .*half way$/);
    expect(frame[2]).toMatch(/^✔ #42 v3 success .*scoring …$/);
    expect(frame[3]).toMatch(/^· #43 {4}queued/);

    const board = (variant: number, won: boolean, score?: number) => ({
      variant,
      name: `v${variant}`,
      branch: `feature/issue-42-v${variant}`,
      worktreeId: `issue-42-v${variant}`,
      status: 'success' as const,
      checkPassed: variant !== 1,
      ...(variant === 1 ? { stage: 'check' as const } : {}),
      ...(score !== undefined ? { score } : {}),
      durationMs: 5,
      won,
    });
    const results: TaskResult[] = [
      {
        issueNumber: 42,
        worktreeId: 'issue-42-v3',
        status: 'success',
        durationMs: 9,
        cleanedUp: true,
        variants: [board(1, false), board(2, false, 70), board(3, true, 90)],
        winner: 3,
        decidedBy: 'score',
      },
      { issueNumber: 43, worktreeId: 'issue-43', status: 'success', durationMs: 3, cleanedUp: true },
    ];
    tracker.finish(results);
    expect(
      done.map((task) => [task.issueNumber, task.variant ?? null, task.state, task.lastLine ?? null]),
    ).toEqual([
      [42, null, 'success', 'v3 won (90) · v2 70 · v1 check failed'],
      [43, null, 'success', null],
    ]);
    expect(changeLine(done[0] as TaskProgress, NOW)).toMatch(/ #42 success /);
  });

  it('off a terminal, `run` prints each attempt’s changes on its own line, then the issue’s', async () => {
    const repo = createTempRepo();
    const result = await runCli(
      [
        'run',
        '--issues',
        '7',
        '--variants',
        '2',
        '--concurrency',
        '1',
        '--',
        process.execPath,
        '-e',
        'process.exit(Number(process.env.MIYABI_VARIANT) - 1)',
      ],
      { cwd: repo.path },
    );
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/Z #7 v1 running$/m);
    expect(result.stderr).toMatch(/Z #7 v2 failed \(/m);
    expect(result.stderr).toMatch(/Z #7 success \(/m);
    expect(result.stderr).not.toMatch(/Z #7 (running|failed)/);
  });
});
