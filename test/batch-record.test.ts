import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { summaryLine, type TaskProgress } from '../src/cli/render/progress.js';
import type { RunTaskOutput } from '../src/cli/run/task-executor.js';
import { WorktreeManager, WorktreePool } from '../src/index.js';
import type { BatchSummary } from '../src/manager/batch-history.js';
import type { PoolExecutionResult } from '../src/pool/types.js';
import type { BatchRecord } from '../src/state/batch-records.js';
import type { TelemetryStats } from '../src/telemetry/stats.js';
import { type CliResult, json, runCli } from './helpers/cli-process.js';
import { createTempRepo, git, type TempRepo, tempDir } from './helpers/temp-repo.js';

type RunJson = PoolExecutionResult<RunTaskOutput>;

/** The figures every view of a batch must agree on. */
interface Counts {
  readonly tasks: number;
  readonly executed: number;
  readonly succeeded: number;
  /** Started tasks that did not succeed. */
  readonly failed: number;
  readonly notStarted: number;
  readonly errors: number;
  /** One decimal, as printed. */
  readonly rate: string;
}

const number = (text: string, pattern: RegExp, absent?: number): number => {
  const found = pattern.exec(text)?.[1];
  if (found === undefined && absent !== undefined) return absent;
  expect(found, `${pattern} in:\n${text}`).toBeDefined();
  return Number(found);
};

/** From the run summary's last line, `3 tasks: 2 succeeded · 1 failed in 1.2s (batch-…)`. */
function fromSummary(text: string): Counts {
  const line = /^(\d+) tasks?: (.*) in .* \(batch-[^)]+\)$/m.exec(text);
  expect(line, text).not.toBeNull();
  const part = (label: string) => number(line?.[2] ?? '', new RegExp(`(\\d+) ${label}(?: ·|$)`), 0);
  const tasks = Number(line?.[1]);
  const succeeded = part('succeeded');
  const notStarted = part('cancelled before starting');
  const failed = part('failed') + part('timed out') + part('cancelled');
  return {
    tasks,
    executed: succeeded + failed,
    succeeded,
    failed,
    notStarted,
    errors: tasks - succeeded,
    rate: ((succeeded / tasks) * 100).toFixed(1),
  };
}

function fromEnglish(text: string): Counts {
  const executed = number(text, /^- Executed: (\d+) \(/m);
  const notStarted = number(text, /^- Cancelled before starting: (\d+)$/m, 0);
  return {
    tasks: executed + notStarted,
    executed,
    succeeded: number(text, /\(succeeded: (\d+),/),
    failed: number(text, /, failed: (\d+)\)/),
    notStarted,
    errors: number(text, /^- Errors: (\d+)$/m),
    rate: /^- Success rate: ([\d.]+)%$/m.exec(text)?.[1] ?? 'missing',
  };
}

function fromJapanese(text: string): Counts {
  const executed = number(text, /^- 実行: (\d+)回/m);
  const notStarted = number(text, /^- 開始前に取消: (\d+)件$/m, 0);
  // Seven lines, and an extra one only for what is non-zero.
  expect(text.trimEnd().split('\n').length).toBeGreaterThanOrEqual(7);
  return {
    tasks: executed + notStarted,
    executed,
    succeeded: number(text, /（成功: (\d+),/),
    failed: number(text, /, 失敗: (\d+)）/),
    notStarted,
    errors: number(text, /^- エラー: (\d+)回$/m),
    rate: /^- 成功率: ([\d.]+)%$/m.exec(text)?.[1] ?? 'missing',
  };
}

/** The count cards of the HTML page. */
function fromHtml(page: string): Counts {
  const card = (label: string, absent?: number) =>
    number(page, new RegExp(`data-count="${label}"><span class="value">(\\d+)`), absent);
  return {
    tasks: card('tasks'),
    executed: card('executed'),
    succeeded: card('succeeded'),
    failed: card('failed'),
    notStarted: card('cancelled before starting', 0),
    errors: card('errors'),
    rate: /data-count="success rate"><span class="value">([\d.]+)%/.exec(page)?.[1] ?? 'missing',
  };
}

function fromRunJson(batch: RunJson): Counts {
  const failed = batch.failedCount + batch.timeoutCount + batch.cancelledCount - batch.notStartedCount;
  return {
    tasks: batch.totalTasks,
    executed: batch.successCount + failed,
    succeeded: batch.successCount,
    failed,
    notStarted: batch.notStartedCount,
    errors: batch.totalTasks - batch.successCount,
    rate: batch.successRate.toFixed(1),
  };
}

function fromStats(stats: TelemetryStats): Counts {
  return {
    tasks: stats.tasks,
    executed: stats.executions,
    succeeded: stats.successfulExecutions,
    failed: stats.failedExecutions,
    notStarted: stats.notStarted,
    errors: stats.errors,
    rate: stats.successRate.toFixed(1),
  };
}

/** `report` of the batch in every form: English, Japanese, HTML and `--json`. */
async function reportViews(repo: TempRepo, batchId: string) {
  const cli = (...args: string[]) => runCli(args, { cwd: repo.path });
  const page = join(tempDir(), 'batch.html');
  const [en, ja, html, stats, last] = await Promise.all([
    cli('report', '--batch', batchId),
    cli('report', '--batch', batchId, '--locale', 'ja'),
    cli('report', '--batch', batchId, '--html', page),
    cli('report', '--batch', batchId, '--json'),
    // The last batch is the default: the same report.
    cli('report'),
  ]);
  for (const result of [en, ja, html, stats, last]) expect(result.stderr).toBe('');
  expect(last.stdout).toBe(en.stdout);
  return {
    english: fromEnglish(en.stdout),
    japanese: fromJapanese(ja.stdout),
    html: fromHtml(readFileSync(page, 'utf8')),
    json: fromStats(json<TelemetryStats>(stats)),
    stats: json<TelemetryStats>(stats),
    text: en.stdout,
  };
}

/** `run ... --json` whose summary (on stderr with --json) and own report are checked too. */
async function runViews(repo: TempRepo, args: readonly string[]) {
  const result: CliResult = await runCli(['run', '--json', ...args], { cwd: repo.path });
  const batch = json<RunJson>(result);
  const reportAt = result.stderr.indexOf('📊');
  return {
    result,
    batch,
    summary: fromSummary(result.stderr.slice(0, reportAt)),
    runReport: fromEnglish(result.stderr.slice(reportAt)),
    runJson: fromRunJson(batch),
  };
}

/** The counts of the run's own views: its summary, the report it printed, its `--json`. */
function runCounts(run: Awaited<ReturnType<typeof runViews>>) {
  return { summary: run.summary, runReport: run.runReport, runJson: run.runJson };
}

/** The counts of `report`'s views of the batch. */
function reportCounts(views: Awaited<ReturnType<typeof reportViews>>) {
  return { english: views.english, japanese: views.japanese, html: views.html, json: views.json };
}

/** Every view says `expected` (named, so a disagreement shows which view). */
function expectCounts(views: Readonly<Record<string, Counts>>, expected: Counts): void {
  expect(views).toEqual(Object.fromEntries(Object.keys(views).map((name) => [name, expected])));
}

const node = process.execPath;

describe('one record per batch: every view counts the same tasks', () => {
  it('a setup failure: 3 tasks, 2 succeeded, 1 failed, in the summary, report (en, ja), HTML and --json', async () => {
    const repo = createTempRepo();
    repo.commit(
      {
        'miyabi-worktree.config.json': JSON.stringify({
          setup: [[node, '-e', "process.exit(process.env.MIYABI_ISSUE_NUMBER === '2' ? 4 : 0)"]],
        }),
      },
      'setup fails for #2',
    );
    const run = await runViews(repo, ['--issues', '1,2,3', '--', node, '-e', '0']);
    expect(run.batch.results.map((r) => [r.issueNumber, r.status, r.stage])).toEqual([
      [1, 'success', undefined],
      [2, 'failed', 'setup'],
      [3, 'success', undefined],
    ]);
    expect(run.result.code).toBe(1);
    const expected: Counts = {
      tasks: 3,
      executed: 3,
      succeeded: 2,
      failed: 1,
      notStarted: 0,
      errors: 1,
      rate: '66.7',
    };
    const views = await reportViews(repo, run.batch.batchId);
    expectCounts({ ...runCounts(run), ...reportCounts(views) }, expected);
  });

  it('a cancellation: the running task counts as failed, the queued one as cancelled before starting', async () => {
    const repo = createTempRepo();
    const shared = tempDir();
    // #2 says it runs and waits to be stopped; #1 fails once #2 runs; fail-fast stops #2, and #3
    // (queued behind two slots) never starts.
    const agent = `
      const fs = require('fs'), path = require('path');
      const n = process.env.MIYABI_ISSUE_NUMBER, dir = process.argv[1];
      if (n === '2') { fs.writeFileSync(path.join(dir, 'running-2'), ''); setInterval(() => {}, 1000); }
      else if (n === '1') {
        const wait = setInterval(() => {
          if (fs.existsSync(path.join(dir, 'running-2'))) { clearInterval(wait); process.exit(1); }
        }, 10);
      }`;
    const run = await runViews(repo, [
      '--issues',
      '1,2,3',
      '--concurrency',
      '2',
      '--fail-fast',
      '--',
      node,
      '-e',
      agent,
      shared,
    ]);
    expect(run.batch.results.map((r) => [r.issueNumber, r.status])).toEqual([
      [1, 'failed'],
      [2, 'cancelled'],
      [3, 'cancelled'],
    ]);
    expect(run.batch.results[2]?.worktreeId).toBe('');
    expect(run.result.code).toBe(1);
    const expected: Counts = {
      tasks: 3,
      executed: 2,
      succeeded: 0,
      failed: 2,
      notStarted: 1,
      errors: 3,
      rate: '0.0',
    };
    expect(run.result.stderr).toMatch(/^3 tasks: 1 failed · 1 cancelled · 1 cancelled before starting in /m);
    const views = await reportViews(repo, run.batch.batchId);
    expect(views.text).toContain('- Cancelled before starting: 1');
    expectCounts({ ...runCounts(run), ...reportCounts(views) }, expected);
    // The list says how the batch went.
    const list = json<BatchSummary[]>(await runCli(['report', '--list', '--json'], { cwd: repo.path }));
    expect(list).toEqual([
      expect.objectContaining({
        id: run.batch.batchId,
        outcome: 'failed',
        tasks: 3,
        succeeded: 0,
        failed: 2,
        notStarted: 1,
      }),
    ]);
  });

  describe('a resolved conflict', () => {
    // Normal run: #2 changes same.txt (which main changed since `start`), the others a file of their
    // own. As a resolver (MIYABI_CONFLICTS names a file of paths): keep both sides, commit the merge.
    const AGENT = `
      const fs = require('fs'), { execFileSync } = require('child_process');
      const list = process.env.MIYABI_CONFLICTS, n = process.env.MIYABI_ISSUE_NUMBER;
      if (list) {
        for (const path of fs.readFileSync(list, 'utf8').split('\\n').filter(Boolean)) {
          const kept = fs.readFileSync(path, 'utf8').split('\\n').filter((l) => !/^(<{7}|={7}|>{7})/.test(l));
          fs.writeFileSync(path, kept.join('\\n'));
        }
        execFileSync('git', ['add', '-A']);
        execFileSync('git', ['commit', '-q', '--no-edit']);
      } else {
        const file = n === '2' ? 'same.txt' : 'file-' + n + '.txt';
        fs.writeFileSync(file, 'line from ' + n + '\\n');
        execFileSync('git', ['add', file]);
        execFileSync('git', ['commit', '-q', '-m', 'fix ' + n]);
      }`;
    const conflictingRepo = () => {
      const repo = createTempRepo();
      repo.commit({ 'same.txt': 'line\n' }, 'a line #2 changes');
      repo.git('branch', 'start');
      repo.commit({ 'same.txt': 'main changed it\n' }, 'main changes the same line');
      return repo;
    };
    const expected: Counts = {
      tasks: 2,
      executed: 2,
      succeeded: 2,
      failed: 0,
      notStarted: 0,
      errors: 0,
      rate: '100.0',
    };
    const runArgs = ['--issues', '1,2', '--base', 'start', '--merge', '--into', 'main'];

    it('by the agent during the batch: 2 succeeded, 0 errors, 1 conflict resolved, everywhere', async () => {
      const repo = conflictingRepo();
      const run = await runViews(repo, [...runArgs, '--on-conflict', 'agent', '--', node, '-e', AGENT]);
      expect(run.result.code).toBe(0);
      expect(run.batch.conflicts).toEqual({ met: 1, resolved: 1 });
      const views = await reportViews(repo, run.batch.batchId);
      expect(views.stats).toMatchObject({ mergeConflicts: 1, conflictsResolved: 1 });
      expect(views.text).toContain('- Merge conflicts: 1 (resolved: 1)');
      expectCounts({ ...runCounts(run), ...reportCounts(views) }, expected);
    });

    it('later by resolve: the batch record is rewritten, and every report of the batch says so', async () => {
      const repo = conflictingRepo();
      const run = await runViews(repo, [...runArgs, '--', node, '-e', AGENT]);
      expect(run.result.code).toBe(1);
      expect(run.batch.results[1]).toMatchObject({ status: 'failed', stage: 'merge' });
      expect(run.summary).toEqual({ ...expected, succeeded: 1, failed: 1, errors: 1, rate: '50.0' });

      const resolved = await runCli(['resolve', '2', '--into', 'main', '--', node, '-e', AGENT], {
        cwd: repo.path,
      });
      expect(resolved.code).toBe(0);
      expect(repo.git('show', 'main:same.txt')).toContain('line from 2');
      const views = await reportViews(repo, run.batch.batchId);
      expect(views.stats).toMatchObject({ mergeConflicts: 1, conflictsResolved: 1 });
      expect(views.text).toContain('- Merge conflicts: 1 (resolved: 1)');
      expectCounts(reportCounts(views), expected);
      const list = json<BatchSummary[]>(await runCli(['report', '--list', '--json'], { cwd: repo.path }));
      expect(list).toEqual([expect.objectContaining({ id: run.batch.batchId, outcome: 'success' })]);
    });

    it('later by merge <issue> after a hand resolution; a merge into another branch settles nothing', async () => {
      const repo = conflictingRepo();
      const run = await runViews(repo, [...runArgs, '--', node, '-e', AGENT]);
      const kept = run.batch.results[1];
      expect(kept).toMatchObject({ status: 'failed', stage: 'merge', error: { code: 'MERGE_CONFLICT' } });
      const path = kept?.worktreePath as string;
      // Resolved by hand in the kept worktree.
      expect(() => git(path, 'merge', '-q', 'main')).toThrow(/git merge/);
      writeFileSync(join(path, 'same.txt'), 'both\n');
      git(path, 'commit', '-qam', 'resolved by hand');
      repo.git('branch', 'elsewhere', 'start');
      const cli = (...args: string[]) => runCli(args, { cwd: repo.path });
      expect((await cli('merge', '2', '--into', 'elsewhere')).code).toBe(0);
      const manager = await WorktreeManager.open({ repoPath: repo.path });
      expect((await manager.batchRecord(run.batch.batchId)).results[1]).toMatchObject({ status: 'failed' });

      expect((await cli('merge', '2', '--into', 'main')).code).toBe(0);
      const record = await manager.batchRecord(run.batch.batchId);
      expect(record.results[1]).toMatchObject({
        status: 'success',
        merge: { into: 'main' },
        settledLater: {
          by: 'merge',
          previous: { status: 'failed', stage: 'merge', error: { code: 'MERGE_CONFLICT' } },
        },
      });
      expect(record.results[1]?.error).toBeUndefined();
      const views = await reportViews(repo, run.batch.batchId);
      expect(views.stats).toMatchObject({ mergeConflicts: 1, conflictsResolved: 1 });
      expectCounts(reportCounts(views), expected);
    });
  });
});

describe('the batch records, from the library', () => {
  it('keeps one file per batch; the report is the last batch unless asked for all or one', async () => {
    const repo = createTempRepo();
    const pool = await WorktreePool.create({ repoPath: repo.path, maxConcurrency: 2 });
    const first = await pool.executeParallel(
      [1, 2, 3].map((issueNumber) => ({ issueNumber })),
      async (_worktree, task) => {
        if (task.issueNumber === 3) throw new Error('agent crashed');
      },
    );
    const second = await pool.executeSimple([4, 5], async () => 'done');
    const { manager } = pool;

    // The record: results, options, base and target, as plain JSON.
    const file = join(manager.stateDir, 'batches', `${first.batchId}.json`);
    const onDisk = JSON.parse(readFileSync(file, 'utf8')) as BatchRecord;
    expect(onDisk).toMatchObject({
      id: first.batchId,
      issues: [1, 2, 3],
      base: { branch: 'main' },
      target: {},
      options: { maxConcurrency: 2, failFast: false, autoCleanup: true, onConflict: 'keep' },
    });
    expect(onDisk.endedAt).toEqual(expect.any(String));
    expect(onDisk.results).toEqual(JSON.parse(JSON.stringify(first.results)));
    expect(await manager.batchRecord()).toMatchObject({ id: second.batchId });

    // The last batch by default (the README's telemetryReport()), every batch with `all`.
    expect(await manager.telemetryStats()).toMatchObject({ tasks: 2, creates: 2, successRate: 100 });
    expect(await manager.telemetryReport()).toBe(await manager.telemetryReport({ batchId: second.batchId }));
    expect(await manager.telemetryReport()).toContain('- Created: 2\n');
    expect(await manager.telemetryStats({ all: true })).toMatchObject({
      tasks: 5,
      executions: 5,
      successfulExecutions: 4,
      failedExecutions: 1,
      errors: 1,
      successRate: 80,
    });
    expect(await manager.telemetryStats({ batchId: first.batchId })).toMatchObject({ tasks: 3, errors: 1 });
    await expect(manager.telemetryStats({ batchId: 'batch-unknown' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      details: { recentBatches: [second.batchId, first.batchId] },
    });
    expect(await manager.listBatches()).toEqual([
      expect.objectContaining({ id: first.batchId, outcome: 'failed', tasks: 3, succeeded: 2, failed: 1 }),
      expect.objectContaining({ id: second.batchId, outcome: 'success', tasks: 2, succeeded: 2, failed: 0 }),
    ]);
  });
});

describe('report --list, --all, --batch', () => {
  it('lists the batches, and refuses two selections at once (exit 2, nothing written)', async () => {
    const repo = createTempRepo();
    const cli = (...args: string[]) => runCli(args, { cwd: repo.path });
    const empty = await cli('report', '--list');
    expect(empty).toMatchObject({
      code: 0,
      stdout: 'No batch has been recorded yet: miyabi-worktree run starts one.\n',
    });
    const run = await cli('run', '--issues', '1,2', '--json', '--', node, '-e', '0');
    const { batchId } = json<RunJson>(run);
    const list = await cli('report', '--list');
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^BATCH\s+STARTED\s+TASKS\s+OUTCOME\s+COUNTS$/m);
    expect(list.stdout).toMatch(new RegExp(`^${batchId}\\s+\\S+Z\\s+2\\s+success\\s+2 succeeded$`, 'm'));
    const page = join(tempDir(), 'page.html');
    for (const args of [
      ['--all', '--batch', batchId],
      ['--list', '--all'],
      ['--all', '--html', page],
      ['--list', '--html', page],
    ]) {
      const refused = await cli('report', ...args);
      expect({ args, code: refused.code, stdout: refused.stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(refused.stderr.trim().split('\n')).toHaveLength(1);
      expect(refused.stderr).toContain('INVALID_ARGUMENT');
    }
    expect(existsSync(page)).toBe(false);
  });
});

describe('the live view', () => {
  it('counts tasks cancelled before they started apart, as the summary and the report do', () => {
    const states: TaskProgress[] = [
      { issueNumber: 1, state: 'failed' },
      { issueNumber: 2, state: 'cancelled' },
      { issueNumber: 3, state: 'cancelled', notStarted: true },
    ];
    expect(summaryLine(states)).toBe('3/3 finished · 1 failed · 1 cancelled · 1 cancelled before starting');
  });
});
