import { execFile } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Telemetry } from '../src/telemetry/telemetry.js';
import { tempDir } from './helpers/temp-repo.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
let build: string;
let child: string;

// Node 20 cannot run TypeScript: transpile the telemetry sources (and what they import) for children.
beforeAll(() => {
  build = mkdtempSync(join(tmpdir(), 'miyabi-telemetry-build-'));
  const sources = [
    'src/errors.ts',
    'src/log.ts',
    'src/state/lazy-modules.ts',
    // The report's sizes (peak memory).
    'src/core/size.ts',
    ...readdirSync(join(root, 'src/telemetry')).map((name) => `src/telemetry/${name}`),
  ].filter((file) => file.endsWith('.ts'));
  for (const file of sources) {
    const { outputText } = ts.transpileModule(readFileSync(join(root, file), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    });
    const out = join(build, file.replace(/\.ts$/, '.js'));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, outputText);
  }
  writeFileSync(join(build, 'package.json'), '{"type":"module"}\n');
  // The transpiled code resolves its dependencies from the project.
  symlinkSync(join(root, 'node_modules'), join(build, 'node_modules'));
  child = join(build, 'child.mjs');
  // Records `tasks` task lifecycles (6 events + a long error line each) into the journal in `dir`.
  writeFileSync(
    child,
    `import { Telemetry } from './src/telemetry/telemetry.js';
const [dir, tasks, maxJournalBytes, tag] = process.argv.slice(2);
const telemetry = new Telemetry({ dir, maxJournalBytes: Number(maxJournalBytes) });
for (let n = 1; n <= Number(tasks); n++) {
  const e = { worktreeId: tag + '-' + n, issueNumber: n, branch: 'feature/issue-' + n, batchId: tag };
  const ok = n % 5 !== 0;
  telemetry.record({ type: 'create-start', ...e });
  telemetry.record({ type: 'create-complete', ...e, path: '/wt/' + n, durationMs: 3 });
  telemetry.record({ type: 'execute-start', ...e });
  telemetry.record({ type: 'execute-complete', ...e, durationMs: 10, success: ok, status: ok ? 'success' : 'timeout' });
  if (!ok) telemetry.record({ type: 'error', ...e, operation: 'execute', message: tag.repeat(400) });
  telemetry.record({ type: 'cleanup-start', ...e });
  telemetry.record({ type: 'cleanup-complete', ...e, durationMs: 2, archived: false, branchDeleted: true });
  if (n % 7 === 0) await new Promise((resolve) => setImmediate(resolve));
}
await telemetry.flush();
`,
  );
});

afterAll(() => {
  if (build) rmSync(build, { recursive: true, force: true });
});

async function spawnWriters(
  dir: string,
  processes: number,
  tasks: number,
  maxJournalBytes: number,
): Promise<void> {
  await Promise.all(
    Array.from({ length: processes }, (_, i) =>
      run(process.execPath, [child, dir, String(tasks), String(maxJournalBytes), `proc${i}`], {
        timeout: 60_000,
      }),
    ),
  );
}

describe('telemetry across processes', () => {
  it('concurrent appends from several processes produce no torn lines', async () => {
    const dir = join(tempDir(), 'miyabi');
    const processes = 4;
    const tasks = 150;
    await spawnWriters(dir, processes, tasks, 64 * 1024 * 1024);
    const text = readFileSync(join(dir, 'telemetry.jsonl'), 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.slice(0, -1).split('\n');
    const perTask = 6;
    const errorsPerProcess = tasks / 5;
    expect(lines).toHaveLength(processes * (tasks * perTask + errorsPerProcess));
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    // Each process's own lines stay in its record order.
    const firstOf = lines.map((l) => JSON.parse(l)).filter((e) => e.worktreeId === 'proc2-1');
    expect(firstOf.map((e) => e.type)).toEqual([
      'create-start',
      'create-complete',
      'execute-start',
      'execute-complete',
      'cleanup-start',
      'cleanup-complete',
    ]);
  });

  it('every process sees the same all-time stats, also while they compact concurrently', async () => {
    const dir = join(tempDir(), 'miyabi');
    const processes = 4;
    const tasks = 200;
    const maxJournalBytes = 8 * 1024;
    const here = new Telemetry({ dir, maxJournalBytes });
    here.record({ type: 'create-complete', worktreeId: 'parent-1', path: '/p', durationMs: 1 });
    await here.flush();
    await spawnWriters(dir, processes, tasks, maxJournalBytes);
    const executions = processes * tasks;
    const failures = processes * (tasks / 5);
    const expected = {
      creates: executions + 1,
      executions,
      successfulExecutions: executions - failures,
      failedExecutions: failures,
      followUpFailures: 0,
      mergeConflicts: 0,
      conflictsResolved: 0,
      pullRequests: 0,
      overlapWarnings: 0,
      overlapConflicts: 0,
      cleanups: executions,
      errors: failures,
      totalExecutionMs: executions * 10,
      averageExecutionMs: 10,
      successRate: 80,
    };
    expect(await here.stats()).toEqual(expected);
    expect(await new Telemetry({ dir }).stats()).toEqual(expected);
    expect(await here.stats({ batchId: 'proc3' })).toMatchObject({
      executions: tasks,
      failedExecutions: tasks / 5,
    });
    // Compaction ran, and the raw history stayed bounded.
    const files = readdirSync(dir);
    expect(files).toContain('telemetry-summary.json');
    expect(files.filter((name) => name.endsWith('.jsonl')).length).toBeLessThanOrEqual(2);
    // The report of the whole history, from yet another process.
    const { stdout } = await run(process.execPath, [
      '--input-type=module',
      '-e',
      `import { Telemetry } from ${JSON.stringify(join(build, 'src/telemetry/telemetry.js'))};
       console.log(await new Telemetry({ dir: ${JSON.stringify(dir)} }).report({ locale: 'ja' }));`,
    ]);
    expect(stdout).toContain(`- 実行: ${executions}回（成功: ${executions - failures}, 失敗: ${failures}）`);
    expect(stdout).toContain('- 成功率: 80.0%');
  });

  it('reads taken while other processes append and compact never over- or under-count', async () => {
    const dir = join(tempDir(), 'miyabi');
    const processes = 3;
    const tasks = 200;
    const reader = new Telemetry({ dir });
    const seen: number[] = [];
    let done = false;
    const writers = spawnWriters(dir, processes, tasks, 1024).finally(() => {
      done = true;
    });
    while (!done) {
      const stats = await reader.stats();
      // Each task's execute-complete follows its create-complete in the same process.
      expect(stats.executions).toBeLessThanOrEqual(stats.creates);
      seen.push(stats.executions);
    }
    await writers;
    const final = await reader.stats();
    expect(final.executions).toBe(processes * tasks);
    expect(seen.length).toBeGreaterThan(1);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1] ?? 0);
    expect(Math.max(...seen)).toBeLessThanOrEqual(processes * tasks);
  });
});
