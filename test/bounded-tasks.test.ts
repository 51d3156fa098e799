import { readdirSync, readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/config-schema.js';
import {
  type PoolExecutionResult,
  runCommand,
  type TelemetryStats,
  type WorktreeEvent,
  WorktreePool,
} from '../src/index.js';
import { json, runCli } from './helpers/cli-process.js';
import { repoState } from './helpers/repo-state.js';
import { createTempRepo, tempDir } from './helpers/temp-repo.js';

const onLinux = process.platform === 'linux';

/** Live processes whose environment names worktree `id` (what removal looks for), read from /proc. */
function processesOf(id: string): number[] {
  const marker = `\0MIYABI_WORKTREE_ID=${id}\0`;
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
        return state !== 'Z' && `\0${readFileSync(`/proc/${pid}/environ`, 'latin1')}\0`.includes(marker);
      } catch {
        return false;
      }
    })
    .map(Number);
}

// Issue 1 starts a `setsid` child (an escapee outside its process group) and then allocates 600 MB in
// 20 MB steps, holding it; issue 2 does a little work. Without the limit, issue 1 would run until its
// timeout: so ending `failed` (not `timeout`) is the proof that the limit stopped it.
const ALLOCATOR = `
const { spawn } = require('node:child_process');
if (process.env.MIYABI_ISSUE_NUMBER === '1') {
  spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { detached: true, stdio: 'ignore' }).unref();
  const held = [];
  const grow = setInterval(() => {
    held.push(Buffer.alloc(20 * 1024 * 1024, 1));
    if (held.length === 30) clearInterval(grow);
  }, 20);
  setInterval(() => {}, 1000);
} else {
  console.log('sibling done');
}
`;

describe.runIf(onLinux)('a memory limit per task (--max-memory, maxMemory)', () => {
  it('stops a task that allocates 600 MB under --max-memory 150M with MEMORY_LIMIT, its sibling succeeds, none of its processes is left', async () => {
    const repo = createTempRepo();
    const cli = await runCli(
      [
        'run',
        '--issues',
        '1,2',
        '--max-memory',
        '150M',
        '--timeout',
        '60s',
        '--keep',
        '--json',
        '--',
        process.execPath,
        '-e',
        ALLOCATOR,
      ],
      { cwd: repo.path },
    );
    expect(cli.code, cli.stderr).toBe(1);
    const result = json<PoolExecutionResult>(cli);
    const [first, second] = result.results;
    expect(first).toMatchObject({ status: 'failed', stage: 'execute', error: { code: 'MEMORY_LIMIT' } });
    expect(first?.error?.message).toMatch(/above the memory limit of 150 MiB.*the largest: pid \d+ \(.*node/);
    const hit = first?.resources?.memoryLimit;
    expect(hit?.limitBytes).toBe(150 * 1024 ** 2);
    expect(hit?.totalBytes).toBeGreaterThan(150 * 1024 ** 2);
    expect(hit?.top.command).toContain(process.execPath);
    expect(first?.resources?.peakRssBytes).toBeGreaterThanOrEqual(
      hit?.totalBytes ?? Number.POSITIVE_INFINITY,
    );
    expect(second).toMatchObject({ status: 'success' });
    // --keep: no removal ran to stop leftovers; the limit itself took the escapee too.
    expect(processesOf(first?.worktreeId ?? '')).toEqual([]);
    // One line in the human summary too, from the same result.
    expect(cli.stderr).toMatch(/- Peak memory: .* \(#\d+\), CPU time: .*s, stopped at the memory limit: 1/);
  });

  it('refuses a size without a unit, below 16M, or a free-memory floor above the machine: exit 2, one line, repository unchanged', async () => {
    const repo = createTempRepo();
    const before = repoState(repo.path);
    const total = `${Math.ceil(totalmem() / 1024 ** 2) + 1024}M`;
    for (const [flag, value, said] of [
      ['--max-memory', '4', '"4" has no unit'],
      ['--max-memory', '8M', '"8M" is not a size with a unit (e.g. 512M, 4G) from 16M'],
      ['--max-memory', '4X', 'unknown unit'],
      ['--min-free-memory', total, "(this machine's memory)"],
    ] as const) {
      const cli = await runCli(['run', '--issues', '1', flag, value, '--', 'true'], { cwd: repo.path });
      expect(cli.code, `${flag} ${value}`).toBe(2);
      expect(cli.stderr.trimEnd().split('\n'), cli.stderr).toHaveLength(1);
      expect(cli.stderr).toContain(`${flag}: `);
      expect(cli.stderr).toContain(said);
    }
    expect(repoState(repo.path)).toEqual(before);
    // The configuration file and the library read sizes the same way.
    expect(parseConfig({ maxMemory: '4G', minFreeMemory: '512M' })).toMatchObject({
      maxMemory: 4 * 1024 ** 3,
      minFreeMemory: 512 * 1024 ** 2,
    });
    expect(() => parseConfig({ maxMemory: '4' })).toThrow(/maxMemory: "4" has no unit/);
    const pool = await WorktreePool.create({ repoPath: repo.path, maxMemory: '1.5G' });
    expect(pool.config.maxMemory).toBe(1.5 * 1024 ** 3);
    await expect(WorktreePool.create({ repoPath: repo.path, maxMemory: 1024 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/^maxMemory must be a size/),
    });
  });
});

describe.runIf(onLinux)('admission by free memory (--min-free-memory, minFreeMemory)', () => {
  it('with a floor above what is available, runs exactly one task at a time and still finishes the batch', async () => {
    const repo = createTempRepo();
    // The machine's total: always above what is available, never refused.
    const pool = await WorktreePool.create({
      repoPath: repo.path,
      maxConcurrency: 3,
      minFreeMemory: totalmem(),
    });
    const waits: Extract<WorktreeEvent, { type: 'memory-wait' }>[] = [];
    pool.manager.on('memory-wait', (event) => waits.push(event));
    let running = 0;
    let most = 0;
    const result = await pool.executeSimple([1, 2, 3], async (path, _issue, ctx) => {
      running++;
      most = Math.max(most, running);
      // A real process per task, so the others have time to try to start while it runs.
      await runCommand([process.execPath, '-e', 'setTimeout(() => {}, 300)'], {
        cwd: path,
        signal: ctx.signal,
      });
      running--;
    });
    expect(result.successCount).toBe(3);
    expect(most).toBe(1);
    // Each task held back said why, once.
    expect(waits.map((w) => w.issueNumber).sort()).toEqual([2, 3]);
    expect(waits[0]).toMatchObject({ minFreeBytes: totalmem(), running: 1 });
    expect(waits[0]?.availableBytes).toBeLessThan(totalmem());
  });

  it('run --min-free-memory says which task waits for memory and why, and finishes the batch', async () => {
    const repo = createTempRepo();
    const floor = `${Math.floor(totalmem() / 1024 ** 2)}M`;
    const cli = await runCli(
      [
        'run',
        '--issues',
        '1,2',
        '--min-free-memory',
        floor,
        '--',
        process.execPath,
        '-e',
        'setTimeout(() => {}, 300)',
      ],
      { cwd: repo.path },
    );
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stderr).toMatch(/^#2 waiting for memory: .* available, --min-free-memory .* \(1 running\)$/m);
    expect(cli.stdout).toMatch(/^2 tasks: 2 succeeded/m);
  });
});

describe.runIf(onLinux)('what each task cost (resources, $MIYABI_USAGE_FILE)', () => {
  it('shows peak memory, CPU seconds and the usage file tokens and cost in --json, the report and the HTML; a bad usage file is a warning line', async () => {
    const repo = createTempRepo();
    const html = join(tempDir(), 'batch.html');
    // Issue 1 burns some CPU and writes its usage; issue 2 writes a usage file that is not JSON.
    const script = `
      const fs = require('node:fs');
      const end = Date.now() + 300; while (Date.now() < end) {}
      fs.writeFileSync(process.env.MIYABI_USAGE_FILE, process.env.MIYABI_ISSUE_NUMBER === '1'
        ? JSON.stringify({ inputTokens: 12000, outputTokens: 800, costUsd: 0.25, model: 'claude-test' })
        : 'not json');
    `;
    const cli = await runCli(
      ['run', '--issues', '1,2', '--html', html, '--json', '--', process.execPath, '-e', script],
      { cwd: repo.path },
    );
    expect(cli.code, cli.stderr).toBe(0);
    const [first, second] = json<PoolExecutionResult>(cli).results;
    expect(first?.usage).toEqual({
      inputTokens: 12000,
      outputTokens: 800,
      costUsd: 0.25,
      model: 'claude-test',
    });
    expect(first?.resources?.peakRssBytes).toBeGreaterThan(1024 ** 2);
    expect(first?.resources?.cpuSeconds).toBeGreaterThan(0);
    // The bad file changes nothing but one warning line in the task's log.
    expect(second).toMatchObject({ status: 'success' });
    expect(second?.usage).toBeUndefined();
    const log = readFileSync(second?.logFile ?? '', 'utf8');
    expect(log.match(/MIYABI_USAGE_FILE .* ignored: it is not JSON/g)).toHaveLength(1);

    const stats = json<TelemetryStats>(await runCli(['report', '--json'], { cwd: repo.path }));
    expect(stats.usage).toEqual({ tasks: 1, inputTokens: 12000, outputTokens: 800, costUsd: 0.25 });
    expect(stats.resources?.peakRssBytes).toBe(
      Math.max(first?.resources?.peakRssBytes ?? 0, second?.resources?.peakRssBytes ?? 0),
    );
    const en = (await runCli(['report'], { cwd: repo.path })).stdout.trimEnd().split('\n');
    expect(en.slice(7)).toEqual([
      expect.stringMatching(/^- Peak memory: \d+(\.\d+)? MiB \(#[12]\), CPU time: \d+\.\d\ds$/),
      '- Tokens (in / out): 12,000 / 800, cost: $0.25 (1 task)',
    ]);
    const ja = (await runCli(['report', '--locale', 'ja'], { cwd: repo.path })).stdout.trimEnd().split('\n');
    expect(ja.slice(7)).toEqual([
      expect.stringMatching(/^- 最大メモリ: .+（#[12]）、CPU時間: \d+\.\d\d秒$/),
      '- トークン（入力 / 出力）: 12,000 / 800、費用: $0.25（1タスク）',
    ]);

    const page = readFileSync(html, 'utf8');
    expect(page).toContain('data-count="peak memory"');
    expect(page).toContain('data-count="CPU time"');
    expect(page).toMatch(/<span class="value">12,000 \/ 800<\/span><span class="label">tokens in \/ out/);
    expect(page).toMatch(/<span class="value">\$0\.25<\/span><span class="label">cost/);
    expect(page).toContain('12,000 / 800 tokens · $0.25');
  });
});
