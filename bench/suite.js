// The benchmark table of docs/benchmarks.md: each row a ratio of interleaved pairs measured in one run
// (median of the per-pair ratios), on tmpfs (/dev/shm) where it exists, so that disk noise does not
// drown the overhead. `node bench/suite.js [name...] [--rounds=3] [--files=10000] [--big]`.
// Names: pool, reuse, batch, merge, cli, queue (needs redis-server; --tasks=12 --wait=2), sampler, landing. Not a test: no assertions. Other processes on the machine
// load it too: compare ratios, not absolute times.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { WorktreeManager, WorktreePool } from '../dist/index.js';

const run = promisify(execFile);
const argv = process.argv.slice(2);
const flag = (name, fallback) => argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback;
const ROUNDS = Number(flag('rounds', 3));
const FILES = Number(flag('files', 10_000));
const BIG = argv.includes('--big');
const names = argv.filter((a) => !a.startsWith('--'));
const CLI = new URL('../dist/cli/main.js', import.meta.url).pathname;
const ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'bench',
  GIT_AUTHOR_EMAIL: 'bench@miyabi.invalid',
  GIT_COMMITTER_NAME: 'bench',
  GIT_COMMITTER_EMAIL: 'bench@miyabi.invalid',
  LC_ALL: 'C',
};
const git = (cwd, ...args) => run('git', args, { cwd, env: ENV, maxBuffer: 64 * 1024 * 1024 });
const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
const root = mkdtempSync(join(base, 'miyabi-suite-'));
// Reuse and the real batch save file writes: measured on the disk, where those cost what users pay.
const diskRoot = mkdtempSync(join(tmpdir(), 'miyabi-suite-disk-'));
const log = (line) => process.stderr.write(`${line}\n`);

/** A repository of `files` small tracked files, one commit on main. */
async function makeRepo(name, files, extra = {}, folder = root) {
  const repo = join(folder, name);
  mkdirSync(repo, { recursive: true });
  await git(repo, 'init', '-q', '-b', 'main');
  for (let i = 0; i < files; i++) {
    const dir = join(repo, `d${i % 100}`, `s${Math.floor(i / 100) % 50}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `f${i}.txt`), `file ${i}\n${'x'.repeat(i % 200)}\n`);
  }
  for (const [path, content] of Object.entries(extra)) writeFileSync(join(repo, path), content);
  await git(repo, 'add', '-A');
  await git(repo, 'commit', '-q', '-m', 'synthetic');
  return repo;
}

const time = async (fn) => {
  const started = performance.now();
  await fn();
  return performance.now() - started;
};
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** Interleaved pairs (order alternating); returns the medians and the median of a/b per pair. */
async function pairs(label, a, b, rounds = ROUNDS) {
  const as = [];
  const bs = [];
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? ['a', 'b'] : ['b', 'a'];
    for (const side of order) {
      const ms = side === 'a' ? await a(round) : await b(round);
      (side === 'a' ? as : bs).push(ms);
    }
    log(`  ${label}, pair ${round + 1}: ${Math.round(as[round])} / ${Math.round(bs[round])} ms`);
  }
  return { a: median(as), b: median(bs), ratio: median(as.map((value, i) => value / bs[i])) };
}

const rows = [];
const row = (name, what, a, b, result, goal) =>
  rows.push({ name, what, a, b, ms: [result.a, result.b], ratio: result.ratio, goal });

const BENCHES = {
  /** The pool (N no-op tasks, concurrency 4) against `xargs -P4` running the same git steps. */
  async pool() {
    for (const files of BIG ? [100, FILES] : [100]) {
      log(`pool vs raw git, ${files} files`);
      const repo = await makeRepo(`pool-${files}`, files);
      const tasks = 32;
      const result = await pairs(
        `pool/raw ${files}`,
        async (round) => {
          const pool = await WorktreePool.create({
            repoPath: repo,
            maxConcurrency: 4,
            worktreeDir: join(root, `pool-wt-${files}-${round}`),
            config: false,
          });
          const ms = await time(() =>
            pool.executeSimple(
              Array.from({ length: tasks }, (_, i) => round * 1000 + i + 1),
              async () => {},
            ),
          );
          await pool.manager.flush();
          return ms;
        },
        async (round) => {
          // Raw git races itself (`worktree add` next to `remove` fails now and then with "Invalid
          // path .git/worktrees/N"): a failed round is said and run again, so the baseline stays whole.
          for (let attempt = 1; ; attempt++) {
            const tag = `${round}-${attempt}`;
            const dir = join(root, `raw-wt-${files}-${tag}`);
            const script = `git worktree add -q -b raw-${tag}-$0 ${dir}/$0 main && git worktree remove --force ${dir}/$0 && git branch -D -q raw-${tag}-$0`;
            try {
              return await time(() =>
                run('sh', ['-c', `seq 0 ${tasks - 1} | xargs -P4 -I{} sh -c '${script}' {}`], {
                  cwd: repo,
                  env: ENV,
                }),
              );
            } catch (error) {
              if (attempt >= 3) throw error;
              log(
                `  raw git failed (${String(error.stderr).trim().split('\n')[0]}); running the round again`,
              );
              await git(repo, 'worktree', 'prune');
            }
          }
        },
      );
      row(
        'pool',
        `pool vs xargs -P4 raw git, ${files} files, 32 tasks`,
        'pool',
        'raw',
        result,
        files === 100 ? '≤ 1.10' : '≤ 1.0',
      );
      rmSync(repo, { recursive: true, force: true });
    }
  },

  /** Per-task setup: a fresh worktree (create + remove) against reuse (claim + hand back idle). */
  async reuse() {
    const files = BIG ? 50_000 : FILES;
    log(`reuse vs fresh, ${files} files`);
    const repo = await makeRepo('reuse', files, {}, diskRoot);
    const manager = await WorktreeManager.open({ repoPath: repo, config: false, maxConcurrency: 2 });
    await manager.warmWorktrees(1);
    let issue = 0;
    const result = await pairs(
      `fresh/reuse ${files}`,
      async () => {
        const n = ++issue;
        return time(async () => {
          const worktree = await manager.createWorktree(n);
          await manager.removeWorktree(worktree.id);
        });
      },
      async () => {
        const n = ++issue;
        return time(async () => {
          const worktree = await manager.createWorktree(n, { reuse: true });
          await manager.idleWorktree(worktree.id);
        });
      },
    );
    await manager.cleanupAll();
    await manager.flush();
    row(
      'reuse',
      `per-task setup, ${files} files: fresh create+remove vs reuse claim+idle`,
      'fresh',
      'reuse',
      result,
      '≥ 50',
    );
    rmSync(repo, { recursive: true, force: true });
  },

  /** Time from task start to the command running, with an ignored node_modules of 5,000 files. */
  async batch() {
    log('real batch: node_modules of 5,000 files');
    const repo = await makeRepo('batch', 200, { '.gitignore': 'node_modules/\n' }, diskRoot);
    for (let i = 0; i < 5000; i++) {
      const dir = join(repo, 'node_modules', `pkg${i % 250}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `m${i}.js`), `module.exports = ${i};\n`);
    }
    let issue = 0;
    const toCommand = async (options) => {
      const pool = await WorktreePool.create({
        repoPath: repo,
        maxConcurrency: 1,
        config: false,
        ...options,
      });
      const started = performance.now();
      let reached = 0;
      const result = await pool.executeSimple([++issue], async () => {
        reached = performance.now();
      });
      if (!result.allSuccessful) throw new Error(JSON.stringify(result.results[0]?.error));
      return reached - started;
    };
    const copying = { prepare: { setup: [['cp', '-R', join(repo, 'node_modules'), 'node_modules']] } };
    const clone = { prepare: { share: [{ path: 'node_modules', mode: 'clone' }] } };
    const reuse = { reuse: true, maxIdle: 1, prepare: { share: [{ path: 'node_modules', mode: 'clone' }] } };
    await toCommand(reuse); // leaves one idle worktree with node_modules kept
    const vsClone = await pairs(
      'fresh+copy / share clone',
      () => toCommand(copying),
      () => toCommand(clone),
    );
    row('batch', 'time to command: fresh + cp -R node_modules vs share: clone', 'copy', 'clone', vsClone, '');
    const vsReuse = await pairs(
      'fresh+copy / reuse',
      () => toCommand(copying),
      () => toCommand(reuse),
    );
    row(
      'batch',
      'time to command: fresh + cp -R node_modules vs reuse with keepPaths',
      'copy',
      'reuse',
      vsReuse,
      'reuse < 1 s',
    );
    const manager = await WorktreeManager.open({ repoPath: repo, config: false });
    await manager.cleanupAll();
    rmSync(repo, { recursive: true, force: true });
  },

  /** The safe merge (target not checked out) against `git merge --no-ff` in a checkout. */
  async merge() {
    log('merge vs git merge --no-ff');
    const repo = await makeRepo('merge', 100);
    await git(repo, 'branch', 'target');
    await git(repo, 'checkout', '-q', '-b', 'elsewhere');
    const checkout = join(root, 'merge-checkout');
    await git(repo, 'worktree', 'add', '-q', checkout, 'target');
    const manager = await WorktreeManager.open({ repoPath: repo, config: false, baseBranch: 'main' });
    let n = 0;
    const result = await pairs(
      'safe merge / merge --no-ff',
      async () => {
        const worktree = await manager.createWorktree(++n);
        writeFileSync(join(worktree.path, `new-${n}.txt`), 'x\n');
        await git(worktree.path, 'add', '-A');
        await git(worktree.path, 'commit', '-q', '-m', `w${n}`);
        const ms = await time(() => manager.mergeWorktree(worktree.id, { into: 'main' }));
        await manager.removeWorktree(worktree.id);
        return ms;
      },
      async () => {
        const branch = `raw-${++n}`;
        await git(repo, 'branch', branch, 'main');
        const worktree = join(root, `merge-raw-${n}`);
        await git(repo, 'worktree', 'add', '-q', worktree, branch);
        writeFileSync(join(worktree, `raw-${n}.txt`), 'x\n');
        await git(worktree, 'add', '-A');
        await git(worktree, 'commit', '-q', '-m', branch);
        const ms = await time(() => git(checkout, 'merge', '--no-ff', '-q', '-m', 'm', branch));
        await git(repo, 'worktree', 'remove', '--force', worktree);
        return ms;
      },
      Math.max(ROUNDS, 5),
    );
    row(
      'merge',
      'merge: safe (target not checked out) vs git merge --no-ff in a checkout',
      'safe',
      'no-ff',
      result,
      '≤ 0.33',
    );
    await manager.flush();
    rmSync(repo, { recursive: true, force: true });
  },

  /** CLI start-up: `--version` and `list --json` against `node -e 0`. */
  async cli() {
    log('CLI vs node -e 0');
    const repo = await makeRepo('cli', 100);
    const node = () => time(() => run(process.execPath, ['-e', '0'], { cwd: repo }));
    const version = await pairs(
      '--version / node -e 0',
      () => time(() => run(process.execPath, [CLI, '--version'], { cwd: repo })),
      node,
      Math.max(ROUNDS, 5),
    );
    row('cli', '`--version` vs `node -e 0`', 'cli', 'node', version, '');
    const list = await pairs(
      'list --json / node -e 0',
      () => time(() => run(process.execPath, [CLI, 'list', '--json'], { cwd: repo })),
      node,
      Math.max(ROUNDS, 5),
    );
    row('cli', '`list --json` vs `node -e 0`', 'cli', 'node', list, '≤ 2.5');
    // create and remove through the CLI against what they must at least cost: a node start plus the
    // same git steps (`worktree add`, `worktree remove`, the branch deleted), with a `.env` copied.
    writeFileSync(join(repo, '.env'), 'SECRET=1\n');
    writeFileSync(join(repo, '.worktreeinclude'), '.env\n');
    writeFileSync(join(repo, '.gitignore'), '.env\n.worktrees/\n');
    let issue = 0;
    const cliCreate = await pairs(
      'CLI create / node -e 0 + git worktree add + cp .env',
      async () => {
        const n = ++issue;
        const ms = await time(() => run(process.execPath, [CLI, 'create', String(n)], { cwd: repo }));
        await run(process.execPath, [CLI, 'remove', String(n)], { cwd: repo });
        return ms;
      },
      async () => {
        const n = ++issue;
        const path = join(repo, '.worktrees', `raw-${n}`);
        const ms = await time(async () => {
          await run(process.execPath, ['-e', '0'], { cwd: repo });
          await git(repo, 'worktree', 'add', '-q', '-b', `raw-${n}`, path, 'main');
          await run('cp', [join(repo, '.env'), join(path, '.env')]);
        });
        await git(repo, 'worktree', 'remove', '--force', path);
        await git(repo, 'branch', '-D', '-q', `raw-${n}`);
        return ms;
      },
      Math.max(ROUNDS, 5),
    );
    row(
      'cli',
      'CLI `create` vs `node -e 0` + `git worktree add` + `cp .env`',
      'cli',
      'raw',
      cliCreate,
      '≤ 1.5',
    );
    const cliRemove = await pairs(
      'CLI remove / node -e 0 + git worktree remove + branch -D',
      async () => {
        const n = ++issue;
        await run(process.execPath, [CLI, 'create', String(n)], { cwd: repo });
        return time(() => run(process.execPath, [CLI, 'remove', String(n)], { cwd: repo }));
      },
      async () => {
        const n = ++issue;
        const path = join(repo, '.worktrees', `raw-${n}`);
        await git(repo, 'worktree', 'add', '-q', '-b', `raw-${n}`, path, 'main');
        return time(async () => {
          await run(process.execPath, ['-e', '0'], { cwd: repo });
          await git(repo, 'worktree', 'remove', '--force', path);
          await git(repo, 'branch', '-D', '-q', `raw-${n}`);
        });
      },
      Math.max(ROUNDS, 5),
    );
    row(
      'cli',
      'CLI `remove` vs `node -e 0` + `git worktree remove` + `branch -D`',
      'cli',
      'raw',
      cliRemove,
      '≤ 1.5',
    );
    rmSync(repo, { recursive: true, force: true });
  },
};

/**
 * The queue as agents load it: `--tasks` (12) tasks that each wait `--wait` (2 s, an agent waiting on
 * its model) on 1, 2 and 4 worker processes of concurrency 1, each batch merged at the submitter; the
 * rows are speed-ups (1 worker's time / N workers'), so 4× is the limit. Then the queue's own cost: the
 * same no-op tasks through the queue with one worker against a local pool of concurrency 1.
 */
BENCHES.queue = async () => {
  const TASKS = Number(flag('tasks', 12));
  const WAIT_S = Number(flag('wait', 2));
  const redisServer = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((path) =>
    existsSync(path),
  );
  if (!redisServer) {
    log('queue: skipped, redis-server is not installed (apt-get install redis-server)');
    return;
  }
  log(`queue: ${TASKS} tasks waiting ${WAIT_S} s each, on 1, 2 and 4 workers`);
  const { spawn } = await import('node:child_process');
  const { createServer } = await import('node:net');
  const port = await new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
  const redisDir = mkdtempSync(join(base, 'miyabi-suite-redis-'));
  const redis = spawn(
    redisServer,
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', redisDir, '--save', ''],
    {
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  const url = `redis://127.0.0.1:${port}`;
  const saying = (child, pattern, stream = 'stdout') =>
    new Promise((resolve) => {
      let text = '';
      child[stream].on('data', (chunk) => {
        text += chunk;
        if (pattern.test(text)) resolve();
      });
    });
  await saying(redis, /Ready to accept connections/);
  const { commandExecutor } = await import('../dist/index.js');
  const commit = 'echo "$MIYABI_ISSUE_NUMBER" > "t-$MIYABI_ISSUE_NUMBER" && git add -A && git commit -qm t';
  const waiting = ['sh', '-c', `sleep ${WAIT_S} && ${commit}`];
  const noop = ['sh', '-c', commit];
  const tasks = Array.from({ length: TASKS }, (_, i) => ({ issueNumber: i + 1 }));
  let batchNumber = 0;
  /** A repository with a bare remote of its own, so that batches never share branches. */
  const freshRepo = async () => {
    const dir = join(root, `queue-${++batchNumber}`);
    const repo = await makeRepo(join(`queue-${batchNumber}`, 'repo'), 10);
    await git(dir, 'init', '-q', '--bare', '-b', 'main', 'origin.git');
    await git(repo, 'remote', 'add', 'origin', join(dir, 'origin.git'));
    await git(repo, 'push', '-q', 'origin', 'main');
    return { dir, repo };
  };
  /** Starts `count` worker processes (their clones made before the clock starts), runs one merged batch through them: its ms. */
  const batch = async (count, command) => {
    const { dir, repo } = await freshRepo();
    const queueName = `bench-${batchNumber}`;
    const workers = [];
    for (let i = 0; i < count; i++) {
      const clone = join(dir, `worker-${i}`);
      await git(dir, 'clone', '-q', join(dir, 'origin.git'), clone);
      const child = spawn(
        process.execPath,
        [CLI, 'worker', '--queue', url, '--queue-name', queueName, '--repo', clone],
        { env: ENV, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      workers.push(child);
    }
    await Promise.all(workers.map((child) => saying(child, /waiting for jobs/, 'stderr')));
    const pool = await WorktreePool.create({
      repoPath: repo,
      merge: {},
      maxConcurrency: TASKS,
      queue: { connection: url, name: queueName },
    });
    let ok = false;
    const ms = await time(async () => {
      ok = (await pool.executeParallel(tasks, commandExecutor(command))).allSuccessful;
    });
    if (!ok) throw new Error(`queue batch with ${count} workers did not succeed`);
    await Promise.all(
      workers.map((child) => {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        return exited;
      }),
    );
    return ms;
  };
  /** The same tasks through a local pool of concurrency 1, merged: its ms. */
  const local = async (command) => {
    const { repo } = await freshRepo();
    const pool = await WorktreePool.create({ repoPath: repo, merge: {}, maxConcurrency: 1 });
    let ok = false;
    const ms = await time(async () => {
      ok = (await pool.executeParallel(tasks, commandExecutor(command))).allSuccessful;
    });
    if (!ok) throw new Error('local batch did not succeed');
    await pool.manager.flush();
    return ms;
  };
  try {
    for (const count of [2, 4]) {
      // a = 1 worker, b = N workers: a/b is the speed-up.
      const result = await pairs(
        `1 worker / ${count} workers`,
        () => batch(1, waiting),
        () => batch(count, waiting),
      );
      row(
        'queue',
        `scale-out: \`run --queue --merge\`, ${TASKS} tasks waiting ${WAIT_S} s: speed-up of ${count} workers (concurrency 1) over 1`,
        '1w',
        `${count}w`,
        result,
        count === 4 ? '≥ 3.3 (limit 4)' : `limit ${count}`,
      );
    }
    const cost = await pairs(
      'queue (1 worker) / local (concurrency 1), no-op',
      () => batch(1, noop),
      () => local(noop),
    );
    row(
      'queue',
      `the queue's own cost: ${TASKS} no-op tasks merged, 1 worker vs a local pool of concurrency 1 (${Math.round((cost.a - cost.b) / TASKS)} ms more per task)`,
      'queue',
      'local',
      cost,
      '',
    );
  } finally {
    redis.kill('SIGTERM');
    rmSync(redisDir, { recursive: true, force: true });
  }
};

/**
 * The memory sampler's cost (issue 25): a batch of real commands (each a node process that works
 * ~300 ms of CPU with a child of its own) with the pool's sampler as it is vs with its `watch`
 * replaced by one that reads nothing; and the sampler alone, watching 16 live task processes for 3 s,
 * against 3 s of this process idle: its CPU per second of sampling.
 */
BENCHES.sampler = async () => {
  const { commandExecutor } = await import('../dist/index.js');
  const { MemorySampler } = await import('../dist/internal.js');
  const realWatch = MemorySampler.prototype.watch;
  const noWatch = () => ({ stop: () => ({ peakRssBytes: 0, cpuSeconds: 0 }) });
  log('sampler: a batch with and without it');
  const repo = await makeRepo('sampler', 100);
  const tasks = 8;
  const work = [
    process.execPath,
    '-e',
    "require('node:child_process').spawn('sleep', ['0.5']); const end = Date.now() + 300; while (Date.now() < end) {}",
  ];
  let cpuWith = 0;
  let cpuWithout = 0;
  const batch = async (round, sampled) => {
    MemorySampler.prototype.watch = sampled ? realWatch : noWatch;
    const pool = await WorktreePool.create({
      repoPath: repo,
      maxConcurrency: 4,
      worktreeDir: join(root, `sampler-wt-${round}-${sampled}`),
      radarIntervalMs: 0,
      config: false,
    });
    const cpu = process.cpuUsage();
    const ms = await time(async () => {
      const result = await pool.executeParallel(
        Array.from({ length: tasks }, (_, i) => ({ issueNumber: round * 100 + i + 1 + (sampled ? 50 : 0) })),
        commandExecutor(work),
      );
      if (!result.allSuccessful) throw new Error('sampler bench: a task failed');
    });
    const used = process.cpuUsage(cpu);
    if (sampled) cpuWith += (used.user + used.system) / 1000;
    else cpuWithout += (used.user + used.system) / 1000;
    await pool.manager.flush();
    return ms;
  };
  try {
    const result = await pairs(
      'with / without sampler',
      (round) => batch(round, true),
      (round) => batch(round, false),
    );
    row(
      'sampler',
      `batch of ${tasks} commands (concurrency 4) with the memory sampler vs without (this process's CPU: ${Math.round(cpuWith / ROUNDS)} vs ${Math.round(cpuWithout / ROUNDS)} ms a batch)`,
      'with',
      'without',
      result,
      '≤ 1.05',
    );
  } finally {
    MemorySampler.prototype.watch = realWatch;
    rmSync(repo, { recursive: true, force: true });
  }

  log('sampler alone: 16 watched processes for 3 s vs idle');
  const { spawn } = await import('node:child_process');
  const children = Array.from({ length: 16 }, (_, i) =>
    spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
      env: { ...process.env, MIYABI_WORKTREE_ID: `bench-${i}` },
      stdio: 'ignore',
    }),
  );
  const cpuOver = async (sampling) => {
    const sampler = new MemorySampler();
    const watches = sampling ? children.map((_, i) => sampler.watch(`bench-${i}`)) : [];
    const cpu = process.cpuUsage();
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const used = process.cpuUsage(cpu);
    for (const watch of watches) watch.stop();
    return (used.user + used.system) / 1000;
  };
  try {
    const alone = await pairs(
      'sampling / idle (CPU ms in 3 s)',
      () => cpuOver(true),
      () => cpuOver(false),
    );
    rows.push({
      name: 'sampler',
      what: `the sampler alone, 16 task processes watched for 3 s (${Math.round(alone.a / 3)} ms of CPU a second, ${(alone.a / 30).toFixed(1)}% of a core), vs idle`,
      a: 'sampling',
      b: 'idle',
      ms: [alone.a, alone.b],
      // Idle is ~0: the column holds the share of one core the sampling took instead of a ratio.
      ratio: alone.a / 3000,
      goal: '< 0.02 of a core',
    });
  } finally {
    for (const child of children) child.kill('SIGKILL');
  }
};

/**
 * Landing with a check (issue 23): 8 ready branches, a check that takes ~2 s (a node script that
 * sleeps; it fails on the branch that adds bad.txt, the 3rd in order of readiness), all handed to
 * `landWorktree` at once, in order (a batched turn waits while landings keep joining, so the batches
 * form of all eight: 1-4, and 5-8 checked speculatively on top). Total landing time with
 * `check.batch` 4 against each landing checked alone (batch 1), and each against the serial floor
 * (8 runs of the check, 8 x 2 s).
 * `--rounds=1` for a quick try.
 */
BENCHES.landing = async () => {
  const BRANCHES = 8;
  const CHECK_MS = 2_000;
  const BAD = 3;
  log(`landing: ${BRANCHES} ready branches, a ${CHECK_MS / 1000} s check, branch ${BAD} breaks it`);
  const runs = join(root, 'landing-runs.txt');
  // Each run also writes down the tasks it sees (bad.txt is task 3's): how the batches formed.
  const check = `const fs = require('fs');
const seen = fs.readdirSync('.').filter((f) => /^task-|^bad/.test(f)).map((f) => f.replace(/\\D/g, '') || '${BAD}');
fs.appendFileSync(${JSON.stringify(runs)}, seen.sort().join('') + ' ');
setTimeout(() => process.exit(fs.existsSync('bad.txt') ? 1 : 0), ${CHECK_MS});
`;
  let batchNumber = 0;
  // `bad`: the branch that breaks the check (0: none does).
  const landAll = async (batch, bad) => {
    const name = `landing-${++batchNumber}`;
    const repo = await makeRepo(join(name, 'repo'), 10, { 'check.js': check });
    const manager = await WorktreeManager.open({
      repoPath: repo,
      config: false,
      maxConcurrency: BRANCHES,
      worktreeDir: join(root, name, 'worktrees'),
    });
    const ids = [];
    for (let i = 1; i <= BRANCHES; i++) {
      const worktree = await manager.createWorktree(i);
      writeFileSync(join(worktree.path, i === bad ? 'bad.txt' : `task-${i}.txt`), `task ${i}\n`);
      await git(worktree.path, 'add', '-A');
      await git(worktree.path, 'commit', '-q', '-m', `task ${i}`);
      ids.push(worktree.id);
    }
    writeFileSync(runs, '');
    const landings = [];
    const ms = await time(async () => {
      for (const id of ids) {
        // Each joins the landing queue (its merge-start) before the next is handed in: a fixed order.
        const joined = new Promise((resolve) => {
          const on = (event) => {
            if (event.worktreeId !== id) return;
            manager.off('merge-start', on);
            resolve();
          };
          manager.on('merge-start', on);
        });
        landings.push(manager.landWorktree(id, { check: { command: ['node', 'check.js'], batch } }));
        await joined;
      }
      await Promise.allSettled(landings);
    });
    const settled = await Promise.allSettled(landings);
    const failed = settled.filter((s) => s.status === 'rejected');
    const expected = bad === 0 ? 0 : 1;
    if (failed.length !== expected || failed.some((f) => f.reason?.code !== 'CHECK_FAILED')) {
      throw new Error(
        `landing bench: expected ${expected} failed check(s), got ${failed.map((f) => f.reason?.message).join('; ')}`,
      );
    }
    log(
      `    batch ${batch}: ${Math.round(ms)} ms, ${settled.length - failed.length} landed, ${failed.length} failed at check; the runs checked: ${readFileSync(runs, 'utf8').trim()}`,
    );
    await manager.flush();
    rmSync(join(root, name), { recursive: true, force: true });
    return ms;
  };
  const result = await pairs(
    'check.batch 4 / 1',
    () => landAll(4, BAD),
    () => landAll(1, BAD),
  );
  const floor = BRANCHES * CHECK_MS;
  row(
    'landing',
    `land ${BRANCHES} ready branches, ${CHECK_MS / 1000} s check, one breaks it: \`check.batch\` 4 vs 1 (serial)`,
    'batch 4',
    'serial',
    result,
    '≤ 0.5',
  );
  for (const [label, ms] of [
    ['serial', result.b],
    ['batch 4', result.a],
  ]) {
    rows.push({
      name: 'landing',
      what: `the same, ${label} against the serial floor (${BRANCHES} x ${CHECK_MS / 1000} s of check)`,
      a: label,
      b: 'floor',
      ms: [ms, floor],
      ratio: ms / floor,
      goal: label === 'serial' ? '≈ 1 (overhead)' : '≤ 0.5',
    });
  }
  // The best case for comparison: nothing breaks the check.
  const green = await pairs(
    'all pass: check.batch 4 / 1',
    () => landAll(4, 0),
    () => landAll(1, 0),
  );
  row(
    'landing',
    `the same with no branch breaking the check: \`check.batch\` 4 vs 1 (serial)`,
    'batch 4',
    'serial',
    green,
    '≤ 0.5',
  );
};

const chosen = names.length > 0 ? names : Object.keys(BENCHES);
const started = performance.now();
try {
  for (const name of chosen) {
    if (!BENCHES[name])
      throw new Error(`unknown benchmark ${name}; known: ${Object.keys(BENCHES).join(', ')}`);
    await BENCHES[name]();
  }
} finally {
  rmSync(root, { recursive: true, force: true });
  rmSync(diskRoot, { recursive: true, force: true });
}
const fmt = (ms) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);
console.log(
  `\nmedians of ${ROUNDS}+ interleaved pairs on ${base} (${Math.round((performance.now() - started) / 1000)} s in all)`,
);
console.log('| benchmark | a | b | a/b | goal |');
console.log('| --- | ---: | ---: | ---: | --- |');
for (const r of rows) {
  console.log(
    `| ${r.what} | ${r.a} ${fmt(r.ms[0])} | ${r.b} ${fmt(r.ms[1])} | ${r.ratio.toFixed(2)} | ${r.goal} |`,
  );
}
