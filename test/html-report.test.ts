import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';
import { describe, expect, it } from 'vitest';
import { renderHtmlReport, type TelemetryStats, type WorktreeEvent } from '../src/index.js';
import { buildBatchTimeline } from '../src/telemetry/html-report/batch-timeline.js';
import { runCli } from './helpers/cli-process.js';
import { requireBinary } from './helpers/external-binary.js';
import { repoState } from './helpers/repo-state.js';
import { createTempRepo, tempDir } from './helpers/temp-repo.js';

const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-artifacts');
const chromium = requireBinary('chromium', 'the HTML report test', ['/usr/bin/chromium']);

const STATS: TelemetryStats = {
  tasks: 2,
  creates: 2,
  executions: 2,
  successfulExecutions: 1,
  failedExecutions: 1,
  notStarted: 0,
  followUpFailures: 0,
  mergeConflicts: 0,
  conflictsResolved: 0,
  pullRequests: 0,
  overlapWarnings: 0,
  overlapConflicts: 0,
  cleanups: 2,
  errors: 1,
  totalExecutionMs: 3000,
  averageExecutionMs: 1500,
  successRate: 50,
};

/** Events of a two-task batch as the pool records them, at `t0 + offset` ms. */
function sampleEvents(hostile: string): WorktreeEvent[] {
  const t0 = Date.parse('2026-01-01T10:00:00.000Z');
  const at = (ms: number) => new Date(t0 + ms).toISOString();
  const base = (n: number, branch: string) => ({
    worktreeId: `issue-${n}-0000000${n}`,
    issueNumber: n,
    branch,
    batchId: 'batch-x',
  });
  const one = base(1, 'feature/issue-1');
  const two = base(2, hostile);
  return [
    { type: 'create-start', ...one, timestamp: at(0) },
    { type: 'create-complete', ...one, timestamp: at(100), durationMs: 100, path: '/x' },
    { type: 'execute-start', ...one, timestamp: at(100) },
    { type: 'create-start', ...two, timestamp: at(500) },
    { type: 'create-complete', ...two, timestamp: at(600), durationMs: 100, path: '/y' },
    { type: 'execute-start', ...two, timestamp: at(600) },
    {
      type: 'execute-complete',
      ...one,
      timestamp: at(2000),
      durationMs: 1900,
      success: true,
      status: 'success',
    },
    {
      type: 'task-complete',
      ...one,
      timestamp: at(2100),
      durationMs: 2100,
      status: 'success',
      worker: 'w1@build-7',
    },
    {
      type: 'execute-complete',
      ...two,
      timestamp: at(2500),
      durationMs: 1900,
      success: false,
      status: 'failed',
    },
    { type: 'error', ...two, timestamp: at(2500), operation: 'execute', message: hostile },
    // Not yet in the event union on this branch: read field by field.
    {
      type: 'overlap',
      worktreeId: '',
      timestamp: at(1500),
      a: { issue: 1, worktreeId: one.worktreeId, branch: one.branch },
      b: { issue: 2, worktreeId: two.worktreeId, branch: hostile },
      files: ['lib/app.js'],
      conflict: true,
      conflictPaths: ['lib/app.js'],
    } as unknown as WorktreeEvent,
    {
      type: 'task-complete',
      ...two,
      timestamp: at(2600),
      durationMs: 2100,
      status: 'failed',
      stage: 'execute',
      code: 'COMMAND_FAILED',
    },
  ] as WorktreeEvent[];
}

describe('renderHtmlReport', () => {
  it('escapes user data, reads overlap events tolerantly, and loads nothing from the network', () => {
    const hostile = `feature/<script>alert("x")</script>&'`;
    const page = renderHtmlReport(
      { batchId: 'batch-x', events: sampleEvents(hostile), stats: STATS },
      { localHost: 'here' },
    );
    expect(page).not.toContain('<script');
    expect(page).toContain('feature/&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;');
    expect(page).not.toMatch(/\b(src|href)=/);
    expect(page).not.toMatch(/https?:\/\//);
    expect(page.match(/<tr class="task"/g)).toHaveLength(2);
    expect(page).toContain('data-outcome="failed"');
    expect(page).toContain('w1@build-7');
    expect(page).toMatch(/conflict in lib\/app\.js/);
    const timeline = buildBatchTimeline(sampleEvents('b'));
    expect(timeline.peakConcurrency).toBe(2);
    expect(timeline.tasks.map((t) => t.phases.map((p) => p.phase))).toEqual([
      ['create', 'execute'],
      ['wait', 'create', 'execute'],
    ]);
    expect(timeline.tasks[1]?.phases.at(-1)?.failed).toBe(true);
  });

  it('gives a row to a task cancelled before it started (from its result) and to a create that failed', () => {
    const at = (ms: number) => new Date(Date.parse('2026-01-01T10:00:00.000Z') + ms).toISOString();
    const three = { worktreeId: 'issue-3-00000003', issueNumber: 3, branch: 'feature/issue-3', batchId: 'b' };
    const events = [
      ...sampleEvents('b'),
      { type: 'create-start', ...three, timestamp: at(700) },
      {
        type: 'error',
        ...three,
        timestamp: at(900),
        operation: 'create',
        code: 'GIT_FAILED',
        message: 'disk full',
      },
    ] as WorktreeEvent[];
    const cancelled = {
      issueNumber: 4,
      worktreeId: '',
      status: 'cancelled',
      stage: 'create',
      error: { message: 'fail-fast' },
      durationMs: 0,
    };
    const timeline = buildBatchTimeline(events, [cancelled]);
    expect(timeline.tasks.map((t) => [t.issueNumber, t.outcome, t.stage])).toEqual([
      [1, 'success', null],
      [2, 'failed', 'execute'],
      [3, 'failed', 'create'],
      [4, 'cancelled', 'create'],
    ]);
    const page = renderHtmlReport({ batchId: 'b', events, stats: STATS, results: [cancelled] });
    expect(page.match(/<tr class="task"/g)).toHaveLength(4);
    expect(page).toContain('data-issue="4" data-worktree="" data-outcome="cancelled"');
    // An old batch whose events were compacted away keeps its counts, and says so.
    const old = renderHtmlReport({ batchId: 'old', events: [], stats: STATS });
    expect(old).toMatch(/No event of this batch is retained/);
    expect(old).toContain('data-count="cleaned up"');
  });

  it('shows each landing check as a bar and the landing order into main, a batch of landings marked as one move', () => {
    const at = (ms: number) => new Date(Date.parse('2026-01-01T10:00:00.000Z') + ms).toISOString();
    const task = (n: number) => ({
      worktreeId: `issue-${n}-0000000${n}`,
      issueNumber: n,
      branch: `feature/issue-${n}`,
      batchId: 'b',
    });
    // #1 lands alone first; #2 and #3 are checked together (one run) and land in one move, second.
    const landing = (n: number, from: number, to: number, candidate: string) => [
      { type: 'merge-start', ...task(n), into: 'main', timestamp: at(from) },
      {
        type: 'check-start',
        ...task(n),
        into: 'main',
        candidate,
        target: 'a',
        ahead: 1,
        timestamp: at(from + 10),
      },
      {
        type: 'check-complete',
        ...task(n),
        into: 'main',
        candidate,
        ok: true,
        exitCode: 0,
        timedOut: false,
        durationMs: to - from - 20,
        timestamp: at(to - 10),
      },
      {
        type: 'merge-complete',
        ...task(n),
        into: 'main',
        status: 'merged',
        commit: candidate,
        durationMs: 1,
        timestamp: at(to),
      },
    ];
    const events = [
      ...landing(1, 0, 1000, 'c1'),
      ...landing(3, 1000, 2000, 'c23'),
      ...landing(2, 1000, 2000, 'c23'),
    ] as WorktreeEvent[];
    const result = (n: number, commit: string, checkedCommit: string, together?: number) => ({
      issueNumber: n,
      worktreeId: task(n).worktreeId,
      status: 'success',
      durationMs: 1,
      merge: { into: 'main', status: 'merged', commit },
      landing: { checkedCommit, ...(together ? { landedTogether: together } : {}) },
    });
    const results = [result(1, 'c1', 'c1'), result(2, 'c2', 'c23', 2), result(3, 'c23', 'c23', 2)];
    const timeline = buildBatchTimeline(events, results);
    expect(timeline.tasks.map((t) => [t.issueNumber, t.landed, t.phases.map((p) => p.phase)])).toEqual([
      [1, { into: 'main', order: 1, together: 1 }, ['merge', 'check']],
      [3, { into: 'main', order: 2, together: 2 }, ['merge', 'check']],
      [2, { into: 'main', order: 2, together: 2 }, ['merge', 'check']],
    ]);
    const page = renderHtmlReport({ batchId: 'b', events, stats: STATS, results });
    expect(page).toContain('data-landing-order="1" data-landed-together="1">1st into main</span>');
    expect(
      page.match(
        /class="detail landing-order batched" data-landing-order="2" data-landed-together="2">2nd into main · batch of 2</g,
      ),
    ).toHaveLength(2);
    expect(page.match(/class="phase phase-check/g)).toHaveLength(3);
  });
});

describe('--html', () => {
  it('to a missing folder or to a folder fails before the batch starts, touching nothing', async () => {
    const repo = createTempRepo();
    const before = repoState(repo.path);
    const missing = join(tempDir(), 'no-such-folder', 'report.html');
    const [run, report] = await Promise.all([
      runCli(['run', '--issues', '1', '--html', missing, '--', process.execPath, '-e', ''], {
        cwd: repo.path,
      }),
      runCli(['report', '--html', repo.path], { cwd: repo.path }),
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/INVALID_ARGUMENT.*--html: .*does not exist/);
    expect(report.code).toBe(2);
    expect(report.stderr).toMatch(/--html: .* is a folder/);
    expect(repoState(repo.path)).toEqual(before);
    expect(existsSync(dirname(missing))).toBe(false);
  });
});

describe.skipIf(!chromium)('the HTML report in Chromium', () => {
  it('renders one row per task with its outcome, with no console error, and a screenshot', async () => {
    const repo = createTempRepo();
    const file = join(tempDir(), 'batch.html');
    const script =
      "const fs=require('fs');const n=process.env.MIYABI_ISSUE_NUMBER;fs.writeFileSync('f'+n,'x');" +
      "require('child_process').execFileSync('git',['add','-A']);require('child_process').execFileSync('git',['commit','-qm','t'+n]);" +
      "if(n==='3')process.exit(3)";
    const run = await runCli(
      [
        'run',
        '--issues',
        '1,2,3',
        '--concurrency',
        '2',
        '--merge',
        '--check',
        'node -e 0',
        '--html',
        file,
        '--',
        process.execPath,
        '-e',
        script,
      ],
      { cwd: repo.path },
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`HTML report: ${file}`);
    expect(statSync(file).size).toBeGreaterThan(1000);
    // `report --html` draws the last batch by default: the same page but for when it was made.
    const again = join(dirname(file), 'again.html');
    const report = await runCli(['report', '--html', again], { cwd: repo.path });
    expect(report.code).toBe(0);
    const withoutFooter = (path: string) => readFileSync(path, 'utf8').replace(/<footer>.*<\/footer>/, '');
    expect(withoutFooter(again)).toBe(withoutFooter(file));

    const profile = mkdtempSync(join(tmpdir(), 'miyabi-chromium-'));
    const browser = await puppeteer.launch({
      executablePath: chromium as string,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--user-data-dir=${profile}`,
      ],
    });
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      const requests: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error' || message.type() === 'warn') problems.push(message.text());
      });
      page.on('pageerror', (error) => problems.push(String(error)));
      page.on('request', (request) => requests.push(request.url()));
      await page.setViewport({ width: 1200, height: 800 });
      await page.goto(`file://${file}`, { waitUntil: 'load' });
      const rows = await page.$$eval('tr.task', (trs) =>
        trs.map((tr) => ({
          issue: tr.getAttribute('data-issue'),
          outcome: tr.getAttribute('data-outcome'),
          badge: tr.querySelector('.badge')?.textContent ?? '',
          bars: tr.querySelectorAll('rect.phase').length,
          checks: tr.querySelectorAll('rect.phase-check').length,
          landed: tr.querySelector('.landing-order')?.textContent ?? null,
        })),
      );
      expect(rows.map((row) => [row.issue, row.outcome, row.badge]).sort()).toEqual([
        ['1', 'success', 'success'],
        ['2', 'success', 'success'],
        ['3', 'failed', 'failed'],
      ]);
      // Each task was created, executed and cleaned up; the successful ones merged too.
      for (const row of rows) expect(row.bars, `#${row.issue}`).toBeGreaterThanOrEqual(3);
      // The two that landed: a landing check bar each, and their order into main.
      expect(rows.map((row) => [row.issue, row.checks > 0, row.landed !== null]).sort()).toEqual([
        ['1', true, true],
        ['2', true, true],
        ['3', false, false],
      ]);
      expect(rows.map((row) => row.landed).sort()).toEqual(['1st into main', '2nd into main', null]);
      expect(
        await page.$eval('svg.concurrency', (svg) => svg.getBoundingClientRect().height),
      ).toBeGreaterThan(50);
      expect(problems).toEqual([]);
      expect(requests).toEqual([`file://${file}`]);
      mkdirSync(ARTIFACTS, { recursive: true });
      const shot = join(ARTIFACTS, 'html-report.png');
      await page.screenshot({ path: shot, fullPage: true });
      expect(statSync(shot).size).toBeGreaterThan(5000);
      expect(readFileSync(file, 'utf8')).toContain('<svg');
    } finally {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
