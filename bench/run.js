// Benchmark: the pool (N no-op tasks at concurrency C) against a plain script doing the same git
// work (`worktree add -b`, `worktree remove`, `branch -D`) at the same parallelism, on synthetic
// repositories of several sizes. Prints medians and the ratio pool/raw. Not a test: no assertions.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { WorktreePool } from '../dist/index.js';

const run = promisify(execFile);
const args = new Map(
  process.argv.slice(2).flatMap((arg) => {
    const match = /^--([^=]+)=(.*)$/.exec(arg);
    return match ? [[match[1], match[2]]] : [];
  }),
);
const SIZES = (args.get('sizes') ?? '100,10000,50000').split(',').map(Number);
const TASKS = Number(args.get('tasks') ?? 32);
const CONCURRENCY = Number(args.get('concurrency') ?? 4);
const ROUNDS = Number(args.get('rounds') ?? 3);
const ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'bench',
  GIT_AUTHOR_EMAIL: 'bench@miyabi.invalid',
  GIT_COMMITTER_NAME: 'bench',
  GIT_COMMITTER_EMAIL: 'bench@miyabi.invalid',
  LC_ALL: 'C',
};

const git = (cwd, ...argv) => run('git', argv, { cwd, env: ENV, maxBuffer: 64 * 1024 * 1024 });

/** A repository of `files` small files spread over folders, one commit on main. */
async function makeRepo(root, files) {
  const repo = join(root, `repo-${files}`);
  mkdirSync(repo, { recursive: true });
  await git(repo, 'init', '-q', '-b', 'main');
  for (let i = 0; i < files; i++) {
    const dir = join(repo, `d${i % 100}`, `s${Math.floor(i / 100) % 50}`);
    if (i < 5000) mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `f${i}.txt`), `file ${i}\n${'x'.repeat(i % 200)}\n`);
  }
  await git(repo, 'add', '-A');
  await git(repo, 'commit', '-q', '-m', 'synthetic');
  return repo;
}

/** Runs `worker(i)` for i in [0, n) with at most `limit` at once. */
async function parallel(n, limit, worker) {
  let next = 0;
  let failures = 0;
  const lanes = Array.from({ length: Math.min(limit, n) }, async () => {
    while (next < n) {
      const i = next++;
      await worker(i).catch(() => failures++);
    }
  });
  await Promise.all(lanes);
  return failures;
}

/** The baseline: what a plain script does for each task. */
async function rawRound(repo, round) {
  const dir = join(repo, '..', `raw-${round}`);
  mkdirSync(dir, { recursive: true });
  const started = performance.now();
  const failures = await parallel(TASKS, CONCURRENCY, async (i) => {
    const path = join(dir, `t${i}`);
    const branch = `raw/${round}/${i}`;
    await git(repo, 'worktree', 'add', '-q', '-b', branch, path, 'main');
    await git(repo, 'worktree', 'remove', '--force', path);
    await git(repo, 'branch', '-D', '-q', branch);
  });
  return { ms: performance.now() - started, failures };
}

async function poolRound(repo, round) {
  const pool = await WorktreePool.create({
    repoPath: repo,
    maxConcurrency: CONCURRENCY,
    worktreeDir: join(repo, '..', `pool-${round}`),
  });
  const started = performance.now();
  const result = await pool.executeSimple(
    Array.from({ length: TASKS }, (_, i) => round * 1000 + i + 1),
    async () => {},
  );
  const ms = performance.now() - started;
  await pool.manager.flush();
  return { ms, failures: result.totalTasks - result.successCount };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

const root = mkdtempSync(join(tmpdir(), 'miyabi-bench-'));
const rows = [];
try {
  for (const size of SIZES) {
    process.stderr.write(`building a ${size}-file repository...\n`);
    const repo = await makeRepo(root, size);
    const raw = [];
    const pooled = [];
    let rawFailures = 0;
    let poolFailures = 0;
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate the order so that page-cache warmth does not favour one side.
      const order = round % 2 === 0 ? ['raw', 'pool'] : ['pool', 'raw'];
      for (const side of order) {
        const r = side === 'raw' ? await rawRound(repo, round) : await poolRound(repo, round);
        (side === 'raw' ? raw : pooled).push(r.ms);
        if (side === 'raw') rawFailures += r.failures;
        else poolFailures += r.failures;
        process.stderr.write(`  ${size} files, round ${round + 1}, ${side}: ${Math.round(r.ms)} ms\n`);
      }
    }
    rows.push({ size, raw: median(raw), pool: median(pooled), rawFailures, poolFailures });
    rmSync(repo, { recursive: true, force: true });
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}

const pad = (value, width) => String(value).padStart(width);
console.log(`\n${TASKS} no-op tasks at concurrency ${CONCURRENCY}, median of ${ROUNDS} rounds (ms)`);
console.log(
  `${pad('files', 8)} ${pad('raw git', 10)} ${pad('pool', 10)} ${pad('pool/raw', 9)} ${pad('raw fail', 9)} ${pad('pool fail', 9)}`,
);
for (const row of rows) {
  console.log(
    `${pad(row.size, 8)} ${pad(Math.round(row.raw), 10)} ${pad(Math.round(row.pool), 10)} ${pad((row.pool / row.raw).toFixed(2), 9)} ${pad(row.rawFailures, 9)} ${pad(row.poolFailures, 9)}`,
  );
}
