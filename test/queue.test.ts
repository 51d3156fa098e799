import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandExecutor, isMiyabiError, type QueueWorker, startWorker, WorktreePool } from '../src/index.js';
import { remoteQueue } from '../src/queue/remote-queue.js';
import { requireBinary } from './helpers/external-binary.js';
import { freePort, startRedis, type TestRedis } from './helpers/redis-server.js';
import { createTempRepo, git, tempDir } from './helpers/temp-repo.js';

const redisServer = requireBinary('redis-server', 'the queue tests');

// Each task commits a file of its own: the merged tree is the same whatever order tasks end in.
const COMMIT_FILE = [
  'sh',
  '-c',
  'echo "issue $MIYABI_ISSUE_NUMBER" > "task-$MIYABI_ISSUE_NUMBER.txt" && git add -A && git commit -qm "task $MIYABI_ISSUE_NUMBER"',
];

describe.skipIf(!redisServer)('queue (BullMQ on a real redis-server)', () => {
  let redis: TestRedis;
  const workers: QueueWorker[] = [];
  let queueCount = 0;
  // Every test its own queue: one test's leftovers never reach another's workers.
  const nextQueue = () => `q${++queueCount}`;

  beforeAll(async () => {
    redis = await startRedis(redisServer as string);
  });
  afterAll(async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.close({ cancelRunning: true })));
    await redis?.dispose();
  });

  async function worker(
    queueName: string,
    repo: string,
    remote: string | undefined,
    extra: { allow?: string[]; concurrency?: number } = {},
  ) {
    const started = await startWorker({
      connection: redis.url,
      repo,
      queueName,
      ...(remote !== undefined ? { remote } : {}),
      ...extra,
    });
    workers.push(started);
    return started;
  }

  it('fails within 5 s with QUEUE_UNAVAILABLE on an unreachable Redis, for the submitter and a worker alike', async () => {
    const repo = createTempRepo({ withRemote: true });
    const url = `redis://127.0.0.1:${await freePort()}`;
    const refsBefore = git(repo.remote as string, 'for-each-ref');
    const pool = await WorktreePool.create({ repoPath: repo.path, queue: { connection: url } });
    const started = Date.now();
    const error = await pool.executeParallel([{ issueNumber: 1 }], commandExecutor(['true'])).catch((e) => e);
    expect(isMiyabiError(error, 'QUEUE_UNAVAILABLE')).toBe(true);
    expect(error.hint).toMatch(/redis-server/);
    const workerError = await startWorker({ connection: url, repo: join(tempDir(), 'clone') }).catch(
      (e) => e,
    );
    expect(isMiyabiError(workerError, 'QUEUE_UNAVAILABLE')).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000 * 2);
    // Nothing was pushed: the remote is as it was.
    expect(git(repo.remote as string, 'for-each-ref')).toBe(refsBefore);
  });

  it('runs a batch on a worker, archives an earlier pushed task branch, merges here and pushes the target', async () => {
    const repo = createTempRepo({ withRemote: true });
    // An earlier run pushed issue 2's branch with work of its own: the new attempt starts from the base.
    repo.git('checkout', '-q', '-b', 'feature/issue-2');
    const earlier = repo.commit({ 'earlier.txt': 'earlier work\n' }, 'earlier attempt');
    repo.git('push', '-q', 'origin', 'feature/issue-2');
    repo.git('checkout', '-q', 'main');
    repo.git('branch', '-q', '-D', 'feature/issue-2');
    const queueName = nextQueue();
    const only = await worker(queueName, join(tempDir(), 'clone'), repo.remote);
    const tasks = [1, 2].map((issueNumber) => ({ issueNumber }));
    const pool = await WorktreePool.create({
      repoPath: repo.path,
      merge: {},
      queue: { connection: redis.url, name: queueName },
    });
    const base = repo.git('rev-parse', 'main');
    const result = await pool.executeParallel(tasks, commandExecutor(COMMIT_FILE));
    expect(result.results.map((r) => [r.issueNumber, r.status, r.error?.message])).toEqual([
      [1, 'success', undefined],
      [2, 'success', undefined],
    ]);
    for (const r of result.results) {
      // Each job's worktree started from, and recorded, the batch's base commit.
      expect(r).toMatchObject({ worker: only.name, host: only.host, baseCommit: base });
      expect(r.merge?.status).toMatch(/merged|fast-forwarded/);
      expect(r.push?.commit).toMatch(/^[0-9a-f]{40}$/);
    }
    // The merged main went to the remote, without the earlier attempt's file.
    expect(git(repo.remote as string, 'rev-parse', 'main')).toBe(repo.git('rev-parse', 'main'));
    expect(repo.git('ls-tree', '--name-only', 'main').split('\n').sort()).toEqual([
      'README.md',
      'task-1.txt',
      'task-2.txt',
    ]);
    // ...and the earlier work is kept on the remote under an archive ref.
    const archived = git(
      repo.remote as string,
      'for-each-ref',
      '--format=%(objectname)',
      'refs/miyabi/archive/queue/',
    );
    expect(archived).toBe(earlier);
    // The worker's telemetry reached this side's journal, under this batch, with the worker on each task.
    const events = await pool.manager.telemetryEvents({ batchId: result.batchId });
    expect(events.filter((e) => e.type === 'execute-complete')).toHaveLength(2);
    expect(events.filter((e) => e.type === 'task-complete').map((e) => 'worker' in e && e.worker)).toEqual([
      only.name,
      only.name,
    ]);
  });

  it('commandExecutor tells an agent the same locally and on a worker: placeholders, MIYABI_ISSUE_*, MIYABI_ISSUE_FILE', async () => {
    const context = {
      title: 'Fix {id}: "quoted"',
      body: 'line\nmore',
      url: 'https://x.example/1',
      labels: ['a', 'b'],
    };
    const tasks = [{ issueNumber: 5, context }, { issueNumber: 6 }];
    // The agent commits what it was told; {path} and {id} differ by machine, so they are told apart.
    const command = [
      'sh',
      '-c',
      'printf "%s|%s|%s|%s\\n" "$1" "$MIYABI_ISSUE_TITLE" "$MIYABI_ISSUE_LABELS" "$(cat "$MIYABI_ISSUE_FILE" 2>/dev/null)" > "told-$MIYABI_ISSUE_NUMBER" && ' +
        'test "$2" = "$PWD" && git add -A && git commit -qm "t {issue}"',
      'told',
      '#{issue} {branch} {title} {labels} {url} {body} {conflicts}',
      '{path}',
    ];
    const local = createTempRepo();
    const here = await WorktreePool.create({ repoPath: local.path, merge: {} });
    const localResult = await here.executeParallel(tasks, commandExecutor(command));
    expect(localResult.results.map((r) => r.status)).toEqual(['success', 'success']);

    const repo = createTempRepo({ withRemote: true });
    const queueName = nextQueue();
    await worker(queueName, join(tempDir(), 'clone'), repo.remote);
    const pool = await WorktreePool.create({
      repoPath: repo.path,
      merge: {},
      queue: { connection: redis.url, name: queueName },
    });
    const remoteResult = await pool.executeParallel(tasks, commandExecutor(command));
    expect(remoteResult.results.map((r) => r.status)).toEqual(['success', 'success']);
    expect(repo.git('show', 'main:told-5')).toBe(
      '#5 feature/issue-5 Fix {id}: "quoted" a,b https://x.example/1 line\nmore |Fix {id}: "quoted"|a,b|line\nmore',
    );
    // Without an issue context the issue placeholders stay, and no MIYABI_ISSUE_* is set.
    expect(repo.git('show', 'main:told-6')).toBe('#6 feature/issue-6 {title} {labels} {url} {body} |||');
    expect(repo.git('rev-parse', 'main^{tree}')).toBe(local.git('rev-parse', 'main^{tree}'));
    expect(repo.git('log', '--format=%s', 'main')).toMatch(/^t 5$/m);
  });

  it('fails a job whose payload is of another version, before touching any repository', async () => {
    const queueName = nextQueue();
    const clone = join(tempDir(), 'clone');
    const started = await worker(queueName, clone, createTempRepo({ withRemote: true }).remote);
    const refs = git(clone, 'for-each-ref');
    const target = remoteQueue(queueName, started.remote);
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue(target.bullName, { connection, prefix: target.prefix });
    const eventsConnection = connection.duplicate();
    const events = new QueueEvents(target.bullName, { connection: eventsConnection, prefix: target.prefix });
    try {
      await events.waitUntilReady();
      const job = await queue.add(
        'x',
        {
          // A whole payload a version-1 worker could run, but for its version number.
          v: 99,
          batchId: 'b',
          remote: '/nowhere',
          baseSha: 'a'.repeat(40),
          baseBranch: 'main',
          issueNumber: 1,
          branchName: 'feature/issue-1',
          argv: ['true'],
          timeoutMs: 1000,
        },
        { attempts: 3 },
      );
      const error = await job.waitUntilFinished(events).catch((e: Error) => e);
      const reason = JSON.parse((error as Error).message);
      expect(reason.code).toBe('QUEUE_PAYLOAD');
      expect(reason.message).toMatch(/version 99 is not one this worker reads \(1, 2, 3, 4\)/);
      // Unrecoverable: no retry of a payload no attempt can read.
      expect((await queue.getJob(job.id as string))?.attemptsMade).toBe(1);
      expect(git(clone, 'for-each-ref')).toBe(refs);
    } finally {
      await events.close();
      await queue.close();
      connection.disconnect();
      eventsConnection.disconnect();
    }
  });

  it("runs a version-1 job (an older submitter's) and expands its placeholders on the worker", async () => {
    const repo = createTempRepo({ withRemote: true });
    const queueName = nextQueue();
    const started = await worker(queueName, join(tempDir(), 'clone'), repo.remote);
    const target = remoteQueue(queueName, started.remote);
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue(target.bullName, { connection, prefix: target.prefix });
    const eventsConnection = connection.duplicate();
    const events = new QueueEvents(target.bullName, { connection: eventsConnection, prefix: target.prefix });
    try {
      await events.waitUntilReady();
      const job = await queue.add('x', {
        v: 1,
        batchId: 'old-submitter',
        remote: repo.git('remote', 'get-url', 'origin'),
        baseSha: repo.git('rev-parse', 'main'),
        baseBranch: 'main',
        issueNumber: 3,
        branchName: 'feature/issue-3',
        argv: ['sh', '-c', 'echo "{issue} {branch}" > out && git add -A && git commit -qm "t {issue}"'],
        timeoutMs: 60_000,
      });
      const result = await job.waitUntilFinished(events);
      expect(result).toMatchObject({
        status: 'success',
        output: { argv: ['sh', '-c', expect.stringContaining('"3 feature/issue-3"')] },
      });
      expect(git(repo.remote as string, 'show', 'feature/issue-3:out')).toBe('3 feature/issue-3');
    } finally {
      await events.close();
      await queue.close();
      connection.disconnect();
      eventsConnection.disconnect();
    }
  });

  it("never gives a worker another remote's job (it serves its own remote's queue), and refuses argv outside --allow, leaving the clone as it was", async () => {
    const repo = createTempRepo({ withRemote: true });
    const other = createTempRepo({ withRemote: true });
    const queueName = nextQueue();
    const clone = join(tempDir(), 'clone');
    git(join(clone, '..'), 'clone', '-q', other.remote as string, clone);
    const refs = git(clone, 'for-each-ref');
    const misfit = await worker(queueName, clone, undefined);
    const seen: number[] = [];
    const pool = await WorktreePool.create({
      repoPath: repo.path,
      queue: {
        connection: redis.url,
        name: queueName,
        queueTimeoutMs: 1_000,
        onWorkers: (n) => seen.push(n),
      },
    });
    const unserved = await pool.executeParallel([{ issueNumber: 1 }], commandExecutor(['true']));
    expect(unserved.results[0]).toMatchObject({ status: 'timeout', error: { code: 'TIMEOUT' } });
    expect(seen).toEqual([0]);
    expect(misfit.queue).toBe(remoteQueue(queueName, other.remote as string).id);
    expect(misfit.queue).not.toBe(remoteQueue(queueName, repo.remote as string).id);
    expect(git(clone, 'for-each-ref')).toBe(refs);
    // Another spelling of a worker's remote (a trailing slash, `.git`) is the same queue.
    expect(remoteQueue(queueName, `${repo.remote}/`).id).toBe(
      remoteQueue(queueName, repo.remote as string).id,
    );

    const allowQueue = nextQueue();
    await worker(allowQueue, join(tempDir(), 'fresh'), repo.remote, { allow: ['git'] });
    const allowPool = await WorktreePool.create({
      repoPath: repo.path,
      queue: { connection: redis.url, name: allowQueue },
    });
    const refused = await allowPool.executeParallel(
      [{ issueNumber: 2 }],
      commandExecutor(['sh', '-c', 'true']),
    );
    expect(refused.results[0]).toMatchObject({ status: 'failed', error: { code: 'COMMAND_NOT_ALLOWED' } });
  });

  it('bounds the wait for workers with queueTimeoutMs and says none is connected', async () => {
    const repo = createTempRepo({ withRemote: true });
    const seen: number[] = [];
    const pool = await WorktreePool.create({
      repoPath: repo.path,
      queue: {
        connection: redis.url,
        name: nextQueue(),
        queueTimeoutMs: 300,
        onWorkers: (n) => seen.push(n),
      },
    });
    const result = await pool.executeParallel([{ issueNumber: 1 }], commandExecutor(['true']));
    expect(result.results[0]).toMatchObject({ status: 'timeout', error: { code: 'TIMEOUT' } });
    expect(seen[0]).toBe(0);
  });

  it('fail-fast stops a task running on a worker (its process group killed) and takes waiting ones off', async () => {
    const repo = createTempRepo({ withRemote: true });
    const queueName = nextQueue();
    await worker(queueName, join(tempDir(), 'clone'), repo.remote, { concurrency: 2 });
    const dir = tempDir();
    // Issue 2 fails once issue 1 runs; the others hold until killed (issue 3 waits: concurrency 2).
    const command = [
      'sh',
      '-c',
      `if [ "$MIYABI_ISSUE_NUMBER" != 2 ]; then echo $$ > "${dir}/pid-$MIYABI_ISSUE_NUMBER"; exec sleep 120; fi; ` +
        `while [ ! -s "${dir}/pid-1" ]; do sleep 0.05; done; exit 3`,
    ];
    const pool = await WorktreePool.create({
      repoPath: repo.path,
      failFast: true,
      queue: { connection: redis.url, name: queueName },
    });
    const result = await pool.executeParallel(
      [1, 2, 3].map((issueNumber) => ({ issueNumber })),
      commandExecutor(command),
    );
    expect(
      result.results.map((r) => [r.issueNumber, r.status]),
      JSON.stringify(result.results.map((r) => [r.stage, r.error])),
    ).toEqual([
      [1, 'cancelled'],
      [2, 'failed'],
      [3, 'cancelled'],
    ]);
    // Issue 1 ran (issue 2 waited for its pid file), so its kill is really tested.
    expect(alive(Number(readFileSync(join(dir, 'pid-1'), 'utf8')))).toBe(false);
    // Issue 3 was either taken off the queue or cancelled on the worker: never left running.
    const pid3 = join(dir, 'pid-3');
    if (existsSync(pid3)) expect(alive(Number(readFileSync(pid3, 'utf8')))).toBe(false);
  });

  it('loses nothing when Redis restarts mid-batch (append-only file): worker and submitter reconnect', async () => {
    const own = await startRedis(redisServer as string);
    const repo = createTempRepo({ withRemote: true });
    const restartable = await startWorker({
      connection: own.url,
      repo: join(tempDir(), 'clone'),
      remote: repo.remote as string,
      queueName: 'r',
    });
    try {
      const dir = tempDir();
      // Issue 1 holds until the test says go (after the restart); issue 2 waits in the queue meanwhile.
      const command = [
        'sh',
        '-c',
        `touch "${dir}/running-$MIYABI_ISSUE_NUMBER"; while [ ! -e "${dir}/go" ]; do sleep 0.05; done; ` +
          'echo "$MIYABI_ISSUE_NUMBER" > "task-$MIYABI_ISSUE_NUMBER.txt" && git add -A && git commit -qm task',
      ];
      const pool = await WorktreePool.create({
        repoPath: repo.path,
        merge: {},
        queue: { connection: own.url, name: 'r' },
      });
      const batch = pool.executeParallel([{ issueNumber: 1 }, { issueNumber: 2 }], commandExecutor(command));
      await fileAppears(join(dir, 'running-1'));
      await own.stop();
      await own.start();
      writeFileSync(join(dir, 'go'), '');
      const result = await batch;
      expect(result.results.map((r) => r.status)).toEqual(['success', 'success']);
      expect(repo.git('ls-tree', '--name-only', 'main').split('\n').sort()).toEqual([
        'README.md',
        'task-1.txt',
        'task-2.txt',
      ]);
    } finally {
      await restartable.close({ cancelRunning: true });
      await own.dispose();
    }
  }, 120_000);
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resolves once `path` exists (the task's own write is the signal; its folder is watched). */
async function fileAppears(path: string): Promise<void> {
  const { watch } = await import('node:fs');
  await new Promise<void>((resolve) => {
    const watcher = watch(join(path, '..'), () => {
      if (existsSync(path)) {
        watcher.close();
        resolve();
      }
    });
    if (existsSync(path)) {
      watcher.close();
      resolve();
    }
  });
}
