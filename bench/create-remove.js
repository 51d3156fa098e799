// Benchmark: one createWorktree and one removeWorktree on a repository of N files (default 10,000),
// sequentially and 8 at once. Prints medians per operation. Not a test: no assertions.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { WorktreeManager } from '../dist/index.js';

const run = promisify(execFile);
const FILES = Number(process.argv.find((a) => a.startsWith('--files='))?.slice(8) ?? 10_000);
const PARALLEL = 8;
const ROUNDS = 3;
const env = {
  ...process.env,
  GIT_AUTHOR_NAME: 'bench',
  GIT_AUTHOR_EMAIL: 'bench@miyabi.invalid',
  GIT_COMMITTER_NAME: 'bench',
  GIT_COMMITTER_EMAIL: 'bench@miyabi.invalid',
};
const git = (cwd, ...argv) => run('git', argv, { cwd, env });

const root = mkdtempSync(join(tmpdir(), 'miyabi-bench-cr-'));
const repo = join(root, 'repo');
try {
  mkdirSync(repo);
  await git(repo, 'init', '-q', '-b', 'main');
  for (let i = 0; i < FILES; i++) {
    const dir = join(repo, `d${i % 100}`);
    if (i < 100) mkdirSync(dir);
    writeFileSync(join(dir, `f${i}.txt`), `file ${i}\n`);
  }
  await git(repo, 'add', '-A');
  await git(repo, 'commit', '-q', '-m', 'synthetic');
  const manager = await WorktreeManager.open({ repoPath: repo, maxConcurrency: PARALLEL });
  const timed = async (fn) => {
    const t = performance.now();
    const value = await fn();
    return { ms: performance.now() - t, value };
  };
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const rows = [];
  let issue = 1;
  for (const width of [1, PARALLEL]) {
    const creates = [];
    const removes = [];
    const batchCreates = [];
    const batchRemoves = [];
    for (let round = 0; round < ROUNDS; round++) {
      const batchStart = performance.now();
      const made = await Promise.all(
        Array.from({ length: width }, () => timed(() => manager.createWorktree(issue++))),
      );
      batchCreates.push(performance.now() - batchStart);
      creates.push(...made.map((m) => m.ms));
      const removeStart = performance.now();
      const gone = await Promise.all(made.map((m) => timed(() => manager.removeWorktree(m.value.id))));
      batchRemoves.push(performance.now() - removeStart);
      removes.push(...gone.map((g) => g.ms));
    }
    rows.push({
      width,
      create: median(creates),
      remove: median(removes),
      batchCreate: median(batchCreates),
      batchRemove: median(batchRemoves),
    });
  }
  await manager.flush();
  console.log(`\n${FILES}-file repository, median of ${ROUNDS} rounds (ms)`);
  console.log('at once   create (each)   remove (each)   all creates   all removes');
  for (const r of rows) {
    console.log(
      `${String(r.width).padStart(7)} ${r.create.toFixed(0).padStart(15)} ${r.remove.toFixed(0).padStart(15)} ${r.batchCreate.toFixed(0).padStart(13)} ${r.batchRemove.toFixed(0).padStart(13)}`,
    );
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
