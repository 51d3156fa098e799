import { describe, expect, it } from 'vitest';
import { isMiyabiError } from '../src/errors.js';
import type { WorktreeEventInput } from '../src/telemetry/events.js';
import { formatTelemetryReport } from '../src/telemetry/report.js';
import { foldEvents, toTelemetryStats } from '../src/telemetry/stats.js';
import { Telemetry } from '../src/telemetry/telemetry.js';

/** The API.md example: 5 creates, 5 executions (4 ok, 1 failed), 5 cleanups, 1 error, 12.34 s average. */
function recordExample(telemetry: Telemetry): void {
  const durations = [10_000, 11_000, 12_000, 13_000, 15_700]; // 61_700 ms in all, 12_340 ms on average
  durations.forEach((durationMs, i) => {
    const e = {
      worktreeId: `issue-${i + 1}-0000000${i}`,
      issueNumber: i + 1,
      branch: `feature/issue-${i + 1}`,
    };
    const ok = i !== 4;
    telemetry.record({ type: 'create-start', ...e });
    telemetry.record({ type: 'create-complete', ...e, path: `/wt/${i}`, durationMs: 50 });
    telemetry.record({ type: 'execute-start', ...e });
    telemetry.record({
      type: 'execute-complete',
      ...e,
      durationMs,
      success: ok,
      status: ok ? 'success' : 'failed',
    });
    if (!ok) telemetry.record({ type: 'error', ...e, operation: 'execute', message: 'exit code 1' });
    telemetry.record({ type: 'cleanup-start', ...e });
    telemetry.record({
      type: 'cleanup-complete',
      ...e,
      durationMs: 20,
      archived: false,
      branchDeleted: true,
    });
  });
}

describe('telemetry stats', () => {
  it('counts a mix of successes, a failure, a timeout and a cancellation', async () => {
    const telemetry = new Telemetry();
    const e = { worktreeId: 'w', issueNumber: 1 };
    const outcomes = ['success', 'success', 'failed', 'timeout', 'cancelled'] as const;
    for (const [i, status] of outcomes.entries()) {
      telemetry.record({ type: 'create-complete', ...e, path: '/p', durationMs: 1 });
      telemetry.record({
        type: 'execute-complete',
        ...e,
        durationMs: (i + 1) * 100,
        success: status === 'success',
        status,
      });
    }
    telemetry.record({ type: 'error', ...e, operation: 'cleanup', message: 'boom' });
    telemetry.record({ type: 'cleanup-complete', ...e, durationMs: 3, archived: true, branchDeleted: false });
    expect(await telemetry.stats()).toEqual({
      creates: 5,
      executions: 5,
      successfulExecutions: 2,
      failedExecutions: 3,
      followUpFailures: 0,
      mergeConflicts: 0,
      conflictsResolved: 0,
      pullRequests: 0,
      overlapWarnings: 0,
      overlapConflicts: 0,
      cleanups: 1,
      errors: 1,
      totalExecutionMs: 1500,
      averageExecutionMs: 300,
      successRate: 40,
    });
  });

  it('reports zeros, not NaN, when nothing executed', async () => {
    const stats = await new Telemetry().stats();
    expect(stats).toEqual({
      creates: 0,
      executions: 0,
      successfulExecutions: 0,
      failedExecutions: 0,
      followUpFailures: 0,
      mergeConflicts: 0,
      conflictsResolved: 0,
      pullRequests: 0,
      overlapWarnings: 0,
      overlapConflicts: 0,
      cleanups: 0,
      errors: 0,
      totalExecutionMs: 0,
      averageExecutionMs: 0,
      successRate: 0,
    });
    expect(formatTelemetryReport(stats)).toContain('- Average execution time: 0.00s\n- Success rate: 0.0%');
  });

  it('scopes stats to a batch and to a start time', async () => {
    const telemetry = new Telemetry();
    const e = { worktreeId: 'w', issueNumber: 1 };
    const run = (batchId: string, timestamp: string, success: boolean): void => {
      telemetry.record({
        type: 'execute-complete',
        ...e,
        batchId,
        timestamp,
        durationMs: 10,
        success,
        status: success ? 'success' : 'timeout',
      });
    };
    run('a', '2025-01-01T00:00:00.000Z', true);
    run('a', '2025-01-01T00:00:01.000Z', false);
    run('b', '2025-02-01T00:00:00.000Z', true);
    expect((await telemetry.stats({ batchId: 'a' })).executions).toBe(2);
    expect((await telemetry.stats({ batchId: 'b' })).successRate).toBe(100);
    expect((await telemetry.stats({ since: '2025-01-01T00:00:01.000Z' })).executions).toBe(2);
    expect((await telemetry.stats({ since: new Date('2025-01-15') })).executions).toBe(1);
    expect((await telemetry.stats({ since: '2025-01-01', batchId: 'a' })).failedExecutions).toBe(1);
    expect((await telemetry.stats()).executions).toBe(3);
    await expect(telemetry.stats({ since: 'yesterday-ish' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });
});

describe('telemetry report', () => {
  it('prints the exact Japanese report of the API example', async () => {
    const telemetry = new Telemetry();
    recordExample(telemetry);
    expect(await telemetry.report({ locale: 'ja' })).toBe(
      [
        '📊 Worktree実行レポート',
        '- 作成: 5回',
        '- 実行: 5回（成功: 4, 失敗: 1）',
        '- クリーンアップ: 5回',
        '- エラー: 1回',
        '- 平均実行時間: 12.34秒',
        '- 成功率: 80.0%',
      ].join('\n'),
    );
  });

  it('prints the same figures in English by default', async () => {
    const telemetry = new Telemetry();
    recordExample(telemetry);
    const expected = [
      '📊 Worktree execution report',
      '- Created: 5',
      '- Executed: 5 (succeeded: 4, failed: 1)',
      '- Cleaned up: 5',
      '- Errors: 1',
      '- Average execution time: 12.34s',
      '- Success rate: 80.0%',
    ].join('\n');
    expect(await telemetry.report()).toBe(expected);
    expect(await telemetry.report({ locale: 'en' })).toBe(expected);
  });

  it('rejects an unknown locale with INVALID_ARGUMENT and a hint', async () => {
    const telemetry = new Telemetry();
    await expect(telemetry.report({ locale: 'fr' as 'en' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      hint: 'Use one of: en, ja.',
    });
    const stats = toTelemetryStats(foldEvents([]));
    try {
      formatTelemetryReport(stats, 'klingon' as 'en');
      expect.unreachable();
    } catch (error) {
      expect(isMiyabiError(error, 'INVALID_ARGUMENT')).toBe(true);
    }
  });

  it('accepts a locale with a region', () => {
    const stats = toTelemetryStats(foldEvents([]));
    expect(formatTelemetryReport(stats, 'ja-JP' as 'ja').split('\n')[0]).toBe('📊 Worktree実行レポート');
  });

  it('adds the variants line after the seven lines only when an issue ran as variants (en, ja)', () => {
    const stats = toTelemetryStats(foldEvents([]));
    expect(formatTelemetryReport(stats, 'ja').split('\n')).toHaveLength(7);
    const withVariants = { ...stats, variants: { attempts: 6, issues: 2 } };
    expect(formatTelemetryReport(withVariants, 'ja').split('\n').slice(7)).toEqual([
      '- バリアント: 2件の課題に6回の試行',
    ]);
    expect(formatTelemetryReport(withVariants, 'en').split('\n').slice(7)).toEqual([
      '- Variants: 6 attempts for 2 issues',
    ]);
  });

  it('rounds seconds to two decimals and the rate to one', () => {
    const events: WorktreeEventInput[] = [1, 2, 3].map((i) => ({
      type: 'execute-complete',
      worktreeId: 'w',
      timestamp: '2025-01-01T00:00:00Z',
      durationMs: 1234.5 * i,
      success: i !== 3,
      status: i !== 3 ? 'success' : 'failed',
    }));
    const stats = toTelemetryStats(foldEvents(events as never));
    expect(formatTelemetryReport(stats, 'ja').split('\n').slice(5)).toEqual([
      '- 平均実行時間: 2.47秒',
      '- 成功率: 66.7%',
    ]);
  });
});
