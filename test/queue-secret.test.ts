import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  commandExecutor,
  isMiyabiError,
  type PoolExecutionResult,
  type QueueWorker,
  startWorker,
  type WorkerActivity,
  WorktreePool,
} from '../src/index.js';
import { remoteQueue } from '../src/queue/remote-queue.js';
import { signJob } from '../src/queue/sign-job.js';
import { json, saidOnStderr, stoppedAfterEachTest } from './helpers/cli-process.js';
import { requireBinary } from './helpers/external-binary.js';
import { startRedis, type TestRedis } from './helpers/redis-server.js';
import { createTempRepo, git, tempDir } from './helpers/temp-repo.js';

const redisServer = requireBinary('redis-server', 'the queue tests');
const startCli = stoppedAfterEachTest();

const SECRET = 'test-secret-5f1c0e9a7d3b42c8';
const COMMIT_FILE = [
  'sh',
  '-c',
  'echo "issue $MIYABI_ISSUE_NUMBER" > "task-$MIYABI_ISSUE_NUMBER.txt" && git add -A && git commit -qm "task $MIYABI_ISSUE_NUMBER"',
];

/** What a worker's clone holds: refs, worktrees and files of its checkout. */
function cloneState(clone: string): string {
  return [
    git(clone, 'for-each-ref'),
    git(clone, 'worktree', 'list', '--porcelain'),
    git(clone, 'status', '--porcelain', '--ignored'),
  ].join('\n');
}

describe.skipIf(!redisServer)('signed queue jobs (a shared secret on a real redis-server)', () => {
  let redis: TestRedis;
  const workers: QueueWorker[] = [];
  let queueCount = 0;
  const nextQueue = () => `s${++queueCount}`;

  beforeAll(async () => {
    redis = await startRedis(redisServer as string);
  });
  afterAll(async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.close({ cancelRunning: true })));
    await redis?.dispose();
  });

  async function worker(queueName: string, repo: string, remote: string, activities: WorkerActivity[] = []) {
    const started = await startWorker({
      connection: redis.url,
      repo,
      remote,
      queueName,
      secret: SECRET,
      onJob: (activity) => activities.push(activity),
    });
    workers.push(started);
    return started;
  }

  it("refuses a job without the worker's secret or with another one (QUEUE_UNTRUSTED, not retried, its clone unchanged), and runs the same batch signed with it", async () => {
    const repo = createTempRepo({ withRemote: true });
    const queueName = nextQueue();
    const clone = join(tempDir(), 'clone');
    git(join(clone, '..'), 'clone', '-q', repo.remote as string, clone);
    const before = cloneState(clone);
    const activities: WorkerActivity[] = [];
    await worker(queueName, clone, repo.remote as string, activities);
    const tasks = [{ issueNumber: 1 }];
    const queue = { connection: redis.url, name: queueName };

    const unsigned = await WorktreePool.create({ repoPath: repo.path, merge: {}, queue });
    const refused = await unsigned.executeParallel(tasks, commandExecutor(COMMIT_FILE));
    expect(refused.results[0]).toMatchObject({ status: 'failed', error: { code: 'QUEUE_UNTRUSTED' } });
    expect(refused.results[0]?.error?.message).toMatch(/not signed/);
    expect(refused.results[0]?.error?.hint).toMatch(/MIYABI_QUEUE_SECRET/);
    const wrong = await WorktreePool.create({
      repoPath: repo.path,
      merge: {},
      queue: { ...queue, secret: 'another secret' },
    });
    const badlySigned = await wrong.executeParallel(tasks, commandExecutor(COMMIT_FILE));
    expect(badlySigned.results[0]).toMatchObject({ status: 'failed', error: { code: 'QUEUE_UNTRUSTED' } });
    expect(badlySigned.results[0]?.error?.message).toMatch(/signature does not match/);
    // No retry: a job no attempt may run fails on its first.
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const target = remoteQueue(queueName, repo.remote as string);
    const bull = new Queue(target.bullName, { connection, prefix: target.prefix });
    try {
      for (const batch of [refused, badlySigned]) {
        expect((await bull.getJob(`${batch.batchId}-1`))?.attemptsMade).toBe(1);
      }
    } finally {
      await bull.close();
      connection.disconnect();
    }
    expect(cloneState(clone)).toBe(before);
    expect(repo.git('ls-tree', '--name-only', 'main')).toBe('README.md');
    // Said in the worker's activity (its log and --json), never with the secret.
    const said = activities.filter((a) => a.kind === 'refused');
    expect(said.map((a) => a.kind === 'refused' && a.code)).toEqual(['QUEUE_UNTRUSTED', 'QUEUE_UNTRUSTED']);
    expect(JSON.stringify([activities, refused, badlySigned])).not.toContain(SECRET);

    const trusted = await WorktreePool.create({
      repoPath: repo.path,
      merge: {},
      queue: { ...queue, secret: SECRET },
    });
    const ran = await trusted.executeParallel(tasks, commandExecutor(COMMIT_FILE));
    expect(ran.results.map((r) => [r.status, r.error?.code])).toEqual([['success', undefined]]);
    expect(repo.git('ls-tree', '--name-only', 'main').split('\n').sort()).toEqual([
      'README.md',
      'task-1.txt',
    ]);
  });

  it('refuses an empty secret at the pool and the worker (INVALID_ARGUMENT) before connecting', async () => {
    const repo = createTempRepo({ withRemote: true });
    const pool = await WorktreePool.create({
      repoPath: repo.path,
      queue: { connection: redis.url, name: nextQueue(), secret: '' },
    }).catch((e: unknown) => e);
    expect(isMiyabiError(pool, 'INVALID_ARGUMENT')).toBe(true);
    expect((pool as Error).message).toMatch(/queue\.secret must be a non-empty string/);
    const started = await startWorker({
      connection: redis.url,
      repo: join(tempDir(), 'w'),
      secret: '',
    }).catch((e: unknown) => e);
    expect(isMiyabiError(started, 'INVALID_ARGUMENT')).toBe(true);
  });

  it('refuses a signed job whose payload (its command, its batch id) was changed, or that expired', async () => {
    const queueName = nextQueue();
    const clone = join(tempDir(), 'clone');
    const activities: WorkerActivity[] = [];
    const started = await worker(
      queueName,
      clone,
      createTempRepo({ withRemote: true }).remote as string,
      activities,
    );
    const before = cloneState(clone);
    const target = remoteQueue(queueName, started.remote);
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue(target.bullName, { connection, prefix: target.prefix });
    const eventsConnection = connection.duplicate();
    const events = new QueueEvents(target.bullName, { connection: eventsConnection, prefix: target.prefix });
    const payload = {
      v: 1,
      batchId: 'batch-signed',
      remote: '/nowhere',
      baseSha: 'a'.repeat(40),
      baseBranch: 'main',
      issueNumber: 1,
      branchName: 'feature/issue-1',
      argv: ['true'],
      timeoutMs: 1000,
    };
    const inAnHour = Date.now() + 3_600_000;
    const signed = signJob(payload, SECRET, inAnHour);
    const reasonOf = async (data: object): Promise<{ code: string; message: string }> => {
      const job = await queue.add('x', data, { attempts: 3 });
      const error = await job.waitUntilFinished(events).catch((e: Error) => e);
      expect((await queue.getJob(job.id as string))?.attemptsMade).toBe(1);
      return JSON.parse((error as Error).message);
    };
    try {
      await events.waitUntilReady();
      // Same signature, another command: the bytes no longer match their tag.
      const tampered = { ...signed, body: signed.body.replace('["true"]', '["sh","-c","id"]') };
      expect(tampered.body).not.toBe(signed.body);
      expect(await reasonOf(tampered)).toMatchObject({
        code: 'QUEUE_UNTRUSTED',
        message: expect.stringMatching(/signature does not match/),
      });
      const expired = signJob(payload, SECRET, Date.now() - 1_000);
      expect(await reasonOf(expired)).toMatchObject({
        code: 'QUEUE_UNTRUSTED',
        message: expect.stringMatching(/expired/),
      });
      // The batch id is in the signed bytes: a signature does not carry over to another batch.
      const moved = { ...signed, body: signed.body.replace('"batch-signed"', '"batch-other"') };
      expect(moved.body).not.toBe(signed.body);
      expect(await reasonOf(moved)).toMatchObject({ code: 'QUEUE_UNTRUSTED' });
      expect(activities.map((a) => a.kind)).toEqual(['refused', 'refused', 'refused']);
      // Refused before any repository was touched: the clone is as it was.
      expect(cloneState(clone)).toBe(before);
    } finally {
      await events.close();
      await queue.close();
      connection.disconnect();
      eventsConnection.disconnect();
    }
  });

  it('CLI: a missing or empty --secret-file is exit 2 at start with nothing enqueued; a worker says without one that it runs any job, and with one refuses and runs as the submitters sign', async () => {
    const repo = createTempRepo({ withRemote: true });
    const queueName = nextQueue();
    const dir = tempDir();
    const empty = join(dir, 'empty');
    writeFileSync(empty, '\n');
    const secretFile = join(dir, 'secret');
    writeFileSync(secretFile, `${SECRET}\n`);
    const runArgs = (...extra: string[]) => [
      'run',
      '--queue',
      redis.url,
      '--queue-name',
      queueName,
      '--issues',
      '1',
      '--merge',
      '--json',
      ...extra,
      '--',
      'sh',
      '-c',
      // The task says whether the worker's secret reached its environment.
      'echo "issue $MIYABI_ISSUE_NUMBER [$MIYABI_QUEUE_SECRET]" > task-1.txt && git add -A && git commit -qm t',
    ];
    for (const file of [join(dir, 'missing'), empty]) {
      const done = await startCli(runArgs('--secret-file', file), { cwd: repo.path }).done;
      expect(done.code).toBe(2);
      expect(done.stderr.trim().split('\n')).toHaveLength(1);
      expect(done.stderr).toMatch(/INVALID_ARGUMENT|--secret-file/);
      const workerDone = await startCli(
        ['worker', '--queue', redis.url, '--queue-name', queueName, '--secret-file', file],
        { cwd: dir },
      ).done;
      expect(workerDone.code).toBe(2);
      expect(workerDone.stderr).toMatch(/--secret-file/);
    }
    const withoutFlag = await startCli(['run', '--issues', '1', '--secret-file', secretFile, '--', 'true'], {
      cwd: repo.path,
    }).done;
    expect(withoutFlag.code).toBe(2);
    expect(withoutFlag.stderr).toMatch(/--secret-file only applies with --queue/);
    // Nothing was enqueued: the queue has no key in Redis.
    const client = new Redis(redis.url);
    expect(await client.keys(`bull:${queueName}:*`)).toEqual([]);
    client.disconnect();

    const open = startCli(
      [
        'worker',
        '--queue',
        redis.url,
        '--queue-name',
        nextQueue(),
        '--repo',
        join(dir, 'o'),
        '--remote',
        repo.remote as string,
      ],
      {
        cwd: dir,
      },
    );
    await saidOnStderr(open, /waiting for jobs/);
    expect(open.stderr()).toMatch(/^warning: no shared secret .*runs any job/m);
    open.child.kill('SIGTERM');
    await open.done;

    const guarded = startCli(
      [
        'worker',
        '--queue',
        redis.url,
        '--queue-name',
        queueName,
        '--repo',
        join(dir, 'clone'),
        '--remote',
        repo.remote as string,
        '--json',
      ],
      { cwd: dir, env: { MIYABI_QUEUE_SECRET: SECRET } },
    );
    await saidOnStderr(guarded, /waiting for jobs/);
    expect(guarded.stderr()).not.toMatch(/warning/);
    const refused = await startCli(runArgs(), { cwd: repo.path }).done;
    expect(refused.code).toBe(1);
    expect(json<PoolExecutionResult>(refused).results[0]).toMatchObject({
      status: 'failed',
      error: { code: 'QUEUE_UNTRUSTED' },
    });
    const ran = await startCli(runArgs('--secret-file', secretFile), { cwd: repo.path }).done;
    expect(ran.code, ran.stderr).toBe(0);
    expect(json<PoolExecutionResult>(ran).results[0]?.status).toBe('success');
    expect(repo.git('show', 'main:task-1.txt')).toBe('issue 1 []');
    expect(repo.git('ls-tree', '--name-only', 'main').split('\n').sort()).toEqual([
      'README.md',
      'task-1.txt',
    ]);
    guarded.child.kill('SIGTERM');
    const workerDone = await guarded.done;
    const lines = workerDone.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as WorkerActivity);
    expect(lines.map((l) => [l.kind, 'code' in l ? l.code : undefined])).toEqual([
      ['ready', undefined],
      ['refused', 'QUEUE_UNTRUSTED'],
      ['start', undefined],
      ['end', undefined],
    ]);
    // The secret is in no output of either side, nor in Redis.
    for (const text of [
      refused.stdout,
      refused.stderr,
      ran.stdout,
      ran.stderr,
      workerDone.stdout,
      workerDone.stderr,
    ]) {
      expect(text).not.toContain(SECRET);
    }
    const inRedis = new Redis(redis.url);
    const keys = await inRedis.keys(`bull:${queueName}:*`);
    const dumps = await Promise.all(
      keys.map(async (key) =>
        (await inRedis.type(key)) === 'hash' ? JSON.stringify(await inRedis.hgetall(key)) : '',
      ),
    );
    inRedis.disconnect();
    expect(dumps.join('\n')).not.toContain(SECRET);
  }, 120_000);
});
