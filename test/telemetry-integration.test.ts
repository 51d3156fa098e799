import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { type Logger, type WorktreeEvent, WorktreeManager, WorktreePool } from '../src/index.js';
import { createTempRepo } from './helpers/temp-repo.js';

describe('telemetry through the manager and the pool', () => {
  it('emits create → execute → cleanup events in order, each with worktreeId and durations', async () => {
    const repo = createTempRepo();
    const lines: Record<string, unknown>[] = [];
    const logger: Logger = {
      debug: () => {},
      info: (fields) => lines.push(fields),
      warn: (fields) => lines.push(fields),
      error: (fields) => lines.push(fields),
    };
    const pool = await WorktreePool.create({ repoPath: repo.path, logger });
    const events: WorktreeEvent[] = [];
    pool.manager.on('event', (event) => events.push(event));
    pool.manager.on('event', () => {
      throw new Error('a broken listener must not break anything');
    });
    const result = await pool.executeParallel([{ issueNumber: 7 }], async () => 'ok');
    expect(result.successCount).toBe(1);
    expect(events.map((e) => e.type)).toEqual([
      'create-start',
      'create-complete',
      'execute-start',
      'execute-complete',
      'cleanup-start',
      'cleanup-complete',
      'task-complete',
    ]);
    const id = result.results[0]?.worktreeId;
    expect(new Set(events.map((e) => e.worktreeId))).toEqual(new Set([id]));
    expect(events.every((e) => e.issueNumber === 7 && e.batchId === result.batchId)).toBe(true);
    // Every duration is whole milliseconds and fits inside the batch that contains it.
    for (const event of events) {
      if (!event.type.endsWith('-complete')) continue;
      const { durationMs } = event as { durationMs: number };
      expect(Number.isInteger(durationMs) && durationMs <= result.totalDurationMs, event.type).toBe(true);
    }
    expect(events[3]).toMatchObject({ type: 'execute-complete', success: true, status: 'success' });
    // One structured log line per lifecycle step, with the fields people filter on.
    const lifecycle = lines.filter((line) => line.worktreeId === id && line.branch === 'feature/issue-7');
    expect(lifecycle.length).toBeGreaterThanOrEqual(6);
    expect(lifecycle.some((line) => typeof line.durationMs === 'number')).toBe(true);
  });

  it('counts successes, failures and timeouts across processes and prints the Japanese report', async () => {
    const repo = createTempRepo();
    const pool = await WorktreePool.create({ repoPath: repo.path, timeoutMs: 300, abortGraceMs: 100 });
    const result = await pool.executeParallel(
      [1, 2, 3, 4].map((issueNumber) => ({ issueNumber })),
      async (_w, task, ctx) => {
        if (task.issueNumber === 3) throw new Error('agent crashed');
        if (task.issueNumber === 4) await sleep(10_000, undefined, { signal: ctx.signal });
      },
    );
    expect(result.results.map((r) => r.status)).toEqual(['success', 'success', 'failed', 'timeout']);
    await pool.manager.flush();
    const stats = await pool.manager.telemetryStats({ batchId: result.batchId });
    expect(stats).toMatchObject({
      creates: 4,
      executions: 4,
      successfulExecutions: 2,
      failedExecutions: 2,
      cleanups: 4,
      errors: 2,
      successRate: 50,
    });
    expect(stats.averageExecutionMs).toBeGreaterThan(0);

    // A second process reads the same history from the repository's common dir.
    const dist = join(import.meta.dirname, '..', 'dist', 'index.js');
    const script = `const { WorktreeManager } = await import(${JSON.stringify(dist)});
      const m = await WorktreeManager.open({ repoPath: ${JSON.stringify(repo.path)} });
      console.log(JSON.stringify(await m.telemetryStats()));
      console.log(await m.telemetryReport({ locale: 'ja' }));`;
    const printed = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    const [json, ...report] = printed.trim().split('\n');
    expect(JSON.parse(json ?? '{}')).toMatchObject({ creates: 4, executions: 4, successfulExecutions: 2 });
    expect(report[0]).toBe('📊 Worktree実行レポート');
    expect(report[1]).toBe('- 作成: 4回');
    expect(report[2]).toBe('- 実行: 4回（成功: 2, 失敗: 2）');
    expect(report[3]).toBe('- クリーンアップ: 4回');
    expect(report[4]).toBe('- エラー: 2回');
    expect(report[6]).toBe('- 成功率: 50.0%');
    expect(report).toHaveLength(7);
  });

  it('rejects an unknown locale with a coded error', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    await expect(manager.telemetryReport({ locale: 'fr' as never })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    expect(await manager.telemetryReport()).toContain('Worktree');
  });
});
