import { existsSync, readFileSync, watch, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import {
  commandExecutor,
  type PoolExecutionResult,
  type QueueWorker,
  startWorker,
  type WorkerActivity,
  WorktreePool,
} from '../src/index.js';
import { recordRefusal, refusalNote } from '../src/queue/refusals.js';
import { remoteQueue } from '../src/queue/remote-queue.js';
import { type CliProcess, json, processAlive, saidOnStderr, startCli } from './helpers/cli-process.js';
import { requireBinary } from './helpers/external-binary.js';
import { queueTestBed } from './helpers/queue-bed.js';
import { createTempRepo, git, tempDir } from './helpers/temp-repo.js';

const redisServer = requireBinary('redis-server', 'the queue fleet tests');

// Each task commits a file of its own.
const COMMIT_FILE = [
  'sh',
  '-c',
  'echo "issue $MIYABI_ISSUE_NUMBER" > "task-$MIYABI_ISSUE_NUMBER.txt" && git add -A && git commit -qm "task $MIYABI_ISSUE_NUMBER"',
];

/** Resolves once `path` exists, watching its folder (the task's own write is the signal). */
function fileAppears(path: string): Promise<void> {
  return new Promise((resolve) => {
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

/** The JSON lines a `worker --json` printed on stdout. */
function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .trim()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe.skipIf(!redisServer)('a queue fleet that strands nothing', () => {
  const { redis, processes } = queueTestBed(redisServer);
  const workers: QueueWorker[] = [];
  const strayPids: number[] = [];
  let queueCount = 0;
  const nextQueue = () => `f${++queueCount}`;

  afterEach(async () => {
    for (const pid of strayPids.splice(0)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await Promise.all(workers.splice(0).map((worker) => worker.close({ cancelRunning: true })));
  });

  async function workerProcess(args: string[]): Promise<CliProcess> {
    const proc = startCli(['worker', '--queue', redis.url, ...args], { cwd: tempDir() });
    processes.push(proc);
    await saidOnStderr(proc, /waiting for jobs/);
    return proc;
  }

  function submit(cwd: string, args: string[]): CliProcess {
    const proc = startCli(['run', '--queue', redis.url, ...args], { cwd });
    processes.push(proc);
    return proc;
  }

  it('a worker whose clone belongs to another remote never takes the batch: healthy workers run every task; no per-batch base branch stays', async () => {
    const repo = createTempRepo({ withRemote: true });
    const other = createTempRepo({ withRemote: true });
    const queueName = nextQueue();
    const home = tempDir();
    const misfit = await workerProcess([
      '--queue-name',
      queueName,
      '--repo',
      join(home, 'misfit'),
      '--remote',
      other.remote as string,
      '--name',
      'misfit',
      '--json',
    ]);
    for (const name of ['h1', 'h2']) {
      await workerProcess([
        '--queue-name',
        queueName,
        '--repo',
        join(home, name),
        '--remote',
        repo.remote as string,
        '--name',
        name,
      ]);
    }
    const done = await submit(repo.path, [
      '--queue-name',
      queueName,
      '--issues',
      '1-6',
      '--merge',
      '--json',
      '--',
      ...COMMIT_FILE,
    ]).done;
    const result = json<PoolExecutionResult>(done);
    expect(result.results.map((r) => [r.issueNumber, r.status, r.error?.code])).toEqual(
      [1, 2, 3, 4, 5, 6].map((n) => [n, 'success', undefined]),
    );
    for (const r of result.results) expect(['h1', 'h2']).toContain(r.worker);
    expect(done.code).toBe(0);
    // The misfit's --json log: it serves its own remote's queue, and took (or refused) nothing.
    misfit.child.kill('SIGTERM');
    const lines = jsonLines((await misfit.done).stdout);
    expect(lines).toEqual([
      {
        kind: 'ready',
        worker: 'misfit',
        queue: remoteQueue(queueName, other.remote as string).id,
        remote: other.remote,
        repo: join(home, 'misfit'),
      },
    ]);
    expect(lines[0]?.queue).not.toBe(remoteQueue(queueName, repo.remote as string).id);
    // The batch ended: its base branches are gone from the workers' clones.
    for (const name of ['h1', 'h2']) {
      expect(git(join(home, name), 'for-each-ref', 'refs/heads/miyabi-base/')).toBe('');
    }
  }, 120_000);

  it('worker: a --repo that is a file, or a new clone without --remote, is exit 2 at start (one line naming --remote)', async () => {
    const dir = tempDir();
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    const repo = createTempRepo({ withRemote: true });
    const onFile = await startCli(
      ['worker', '--queue', redis.url, '--repo', file, '--remote', repo.remote as string],
      {
        cwd: dir,
      },
    ).done;
    expect(onFile.code).toBe(2);
    expect(onFile.stderr).toMatch(/is a file, not a folder/);
    const noRemote = await startCli(['worker', '--queue', redis.url, '--repo', join(dir, 'new')], {
      cwd: dir,
    }).done;
    expect(noRemote.code).toBe(2);
    expect(noRemote.stderr.trim().split('\n')).toHaveLength(1);
    expect(noRemote.stderr).toMatch(/does not exist yet.*Pass --remote/);
    expect(existsSync(join(dir, 'new'))).toBe(false);
  });

  it('a worker that refuses a job (--allow) leaves it to the others; once every connected worker refused it, it fails with their reasons', async () => {
    const repo = createTempRepo({ withRemote: true });
    const queueName = nextQueue();
    const barrier = join(tempDir(), 'go');
    const picky: WorkerActivity[] = [];
    let onRefused = () => {};
    const refused = new Promise<void>((resolve) => {
      onRefused = resolve;
    });
    workers.push(
      ...(await Promise.all([
        startWorker({
          connection: redis.url,
          repo: join(tempDir(), 'picky'),
          remote: repo.remote as string,
          queueName,
          name: 'picky',
          allow: ['git'],
          onJob: (activity) => {
            picky.push(activity);
            if (activity.kind === 'refused') onRefused();
          },
        }),
        startWorker({
          connection: redis.url,
          repo: join(tempDir(), 'able'),
          remote: repo.remote as string,
          queueName,
          name: 'able',
        }),
      ])),
    );
    // Both tasks hold until `picky` has refused one: `able` (one at a time) cannot take both first.
    const command = ['sh', '-c', `while [ ! -e "${barrier}" ]; do sleep 0.05; done; ${COMMIT_FILE[2]}`];
    const pool = await WorktreePool.create({
      repoPath: repo.path,
      merge: {},
      queue: { connection: redis.url, name: queueName },
    });
    const batch = pool.executeParallel([{ issueNumber: 1 }, { issueNumber: 2 }], commandExecutor(command));
    await refused;
    writeFileSync(barrier, '');
    const result = await batch;
    expect(result.results.map((r) => [r.issueNumber, r.status, r.worker])).toEqual([
      [1, 'success', 'able'],
      [2, 'success', 'able'],
    ]);
    const first = picky.find((a) => a.kind === 'refused');
    expect(first).toMatchObject({ code: 'COMMAND_NOT_ALLOWED', outcome: 'delayed' });
    // The refusal is recorded in Redis: the job's hash, worker → reason.
    const client = new Redis(redis.url);
    const target = remoteQueue(queueName, repo.remote as string);
    const recorded = await client.hgetall(`miyabi:queue:${target.id}:refusals:${first?.jobId}`);
    expect(Object.keys(recorded)).toEqual(['picky']);
    // A job some worker refuses while another (connected) has not fails once it waited the queue timeout.
    const bull = new Queue(target.bullName, { connection: client, prefix: target.prefix });
    const refusal = { worker: 'picky', host: 'h', code: 'NOT_FOUND', message: 'no base' };
    const fresh = { id: 'fresh', timestamp: Date.now() };
    expect(await recordRefusal(client, bull, target, fresh, refusal, 60_000)).toBeUndefined();
    const old = { id: 'old', timestamp: Date.now() - 5_000 };
    const late = await recordRefusal(client, bull, target, old, refusal, 1_000);
    expect(late?.code).toBe('NOT_FOUND');
    expect(late?.message).toBe(
      'no worker took the task within 1 s (--queue-timeout): picky (NOT_FOUND: no base)',
    );
    // ...and a submitter that takes it off the queue at its timeout says the same reasons.
    expect(await refusalNote(client, target.id, 'old')).toBe('; refused by picky (NOT_FOUND: no base)');
    await bull.close();
    client.disconnect();

    // Every connected worker refuses: the task fails, naming each worker and its reason.
    const strict = nextQueue();
    for (const name of ['strict-1', 'strict-2']) {
      workers.push(
        await startWorker({
          connection: redis.url,
          repo: join(tempDir(), name),
          remote: repo.remote as string,
          queueName: strict,
          name,
          allow: ['git'],
        }),
      );
    }
    const strictPool = await WorktreePool.create({
      repoPath: repo.path,
      queue: { connection: redis.url, name: strict },
    });
    const failed = await strictPool.executeParallel([{ issueNumber: 3 }], commandExecutor(COMMIT_FILE));
    expect(failed.results[0]).toMatchObject({ status: 'failed', error: { code: 'COMMAND_NOT_ALLOWED' } });
    expect(failed.results[0]?.error?.message).toMatch(
      /every connected worker refused the task: strict-1 \(COMMAND_NOT_ALLOWED: .*\); strict-2 \(COMMAND_NOT_ALLOWED: /,
    );
  }, 120_000);

  it('a worker killed with kill -9 and restarted reclaims its clone: the agent stopped, the worktree archived and removed, the job finished', async () => {
    const repo = createTempRepo({ withRemote: true });
    const queueName = nextQueue();
    const clone = join(tempDir(), 'clone');
    const marks = tempDir();
    const timings = ['--lock-duration', '2s', '--stalled-interval', '1s'];
    const common = [
      '--queue-name',
      queueName,
      '--repo',
      clone,
      '--remote',
      repo.remote as string,
      ...timings,
    ];
    const victim = await workerProcess([...common, '--name', 'victim']);
    // First attempt: leaves uncommitted work, records its pid and hangs; the next attempt commits.
    const command = [
      'sh',
      '-c',
      `if [ ! -e "${marks}/first" ]; then echo wip > wip.txt; echo $$ > "${marks}/first.tmp"; mv "${marks}/first.tmp" "${marks}/first"; exec sleep 120; fi; ` +
        'echo done > result.txt && git add result.txt && git commit -qm "second attempt"',
    ];
    const submitter = submit(repo.path, [
      '--queue-name',
      queueName,
      '--issues',
      '7',
      '--merge',
      '--json',
      '--',
      ...command,
    ]);
    await fileAppears(join(marks, 'first'));
    const agent = Number(readFileSync(join(marks, 'first'), 'utf8'));
    strayPids.push(agent);
    victim.child.kill('SIGKILL');
    await victim.done;
    // kill -9 leaves the agent running and its worktree active in the clone.
    expect(processAlive(agent)).toBe(true);
    expect(git(clone, 'worktree', 'list')).toMatch(/issue-7/);

    const restarted = await workerProcess([...common, '--name', 'restarted', '--json']);
    expect(processAlive(agent)).toBe(false);
    const reclaimed = jsonLines(restarted.stdout()).find((line) => line.kind === 'reclaimed');
    expect(reclaimed).toMatchObject({
      branchName: 'feature/issue-7',
      stoppedProcesses: expect.arrayContaining([agent]),
      archiveRef: expect.stringMatching(/^refs\/miyabi\/archive\//),
    });
    // Its work is in the clone's archive (restore brings it back there).
    expect(git(clone, 'show', `${reclaimed?.archiveRef}:wip.txt`)).toBe('wip');
    const done = await submitter.done;
    expect(json<PoolExecutionResult>(done).results[0]).toMatchObject({
      status: 'success',
      worker: 'restarted',
    });
    expect(repo.git('show', 'main:result.txt')).toBe('done');
    // Nothing of the killed attempt is left: no worktree of issue 7 but none the new attempt kept idle.
    const left = git(clone, 'worktree', 'list', '--porcelain')
      .split('\n')
      .filter((line) => line.startsWith('worktree '));
    expect(left.filter((line) => line.includes(String(reclaimed?.id)))).toEqual([]);
  }, 120_000);

  it('a second submitter whose issues overlap a live batch is refused before it starts (exit 2, ISSUE_BUSY naming the batch and its host); released at batch end', async () => {
    const repo = createTempRepo({ withRemote: true });
    const second = join(tempDir(), 'second');
    git(join(second, '..'), 'clone', '-q', repo.remote as string, second);
    const queueName = nextQueue();
    const marks = tempDir();
    await workerProcess([
      '--queue-name',
      queueName,
      '--repo',
      join(tempDir(), 'clone'),
      '--remote',
      repo.remote as string,
    ]);
    const command = [
      'sh',
      '-c',
      `touch "${marks}/started-$MIYABI_ISSUE_NUMBER"; while [ ! -e "${marks}/go" ]; do sleep 0.05; done; ${COMMIT_FILE[2]}`,
    ];
    const first = submit(repo.path, [
      '--queue-name',
      queueName,
      '--issues',
      '1,2',
      '--merge',
      '--json',
      '--',
      ...command,
    ]);
    await fileAppears(join(marks, 'started-1'));
    const remoteRefs = git(repo.remote as string, 'for-each-ref');
    const busy = await submit(second, [
      '--queue-name',
      queueName,
      '--issues',
      '2,3',
      // Bounded: without the lease this batch would wait behind the first one.
      '--queue-timeout',
      '3s',
      '--json',
      '--',
      ...command,
    ]).done;
    expect(busy.code).toBe(2);
    // One line says it (after the plan the CLI prints before the pool starts).
    expect(
      busy.stderr
        .trim()
        .split('\n')
        .filter((line) => /error/.test(line)),
      busy.stderr,
    ).toHaveLength(1);
    expect(busy.stderr).toMatch(
      new RegExp(`issue 2 is busy: batch batch-[0-9a-z]+-[0-9a-f]+ on host ${hostname()}`),
    );
    expect(busy.stderr).toContain('ISSUE_BUSY');
    // Nothing of the second batch was enqueued or pushed.
    const client = new Redis(redis.url);
    const target = remoteQueue(queueName, repo.remote as string);
    expect((await client.keys(`bull:${queueName}:*`)).filter((key) => /-3$/.test(key))).toEqual([]);
    expect(git(repo.remote as string, 'for-each-ref')).toBe(remoteRefs);
    writeFileSync(join(marks, 'go'), '');
    const done = await first.done;
    expect(json<PoolExecutionResult>(done).results.map((r) => r.status)).toEqual(['success', 'success']);
    // Released at batch end: the same second batch now runs.
    expect(await client.keys(`miyabi:queue:${target.id}:lease:*`)).toEqual([]);
    client.disconnect();
    const rerun = await submit(second, [
      '--queue-name',
      queueName,
      '--issues',
      '3',
      '--json',
      '--',
      ...COMMIT_FILE,
    ]).done;
    expect(rerun.code, rerun.stderr).toBe(0);
  }, 120_000);
});

describe.skipIf(!redisServer)("a worker's archives, announced truthfully", () => {
  const { redis, processes } = queueTestBed(redisServer);

  it("names the worker and its clone by default (restore works there, not here); with --share-archives 'restore <id>' works at the submitter", async () => {
    const repo = createTempRepo({ withRemote: true });
    const clone = join(tempDir(), 'clone');
    const worker = startCli(
      [
        'worker',
        '--queue',
        redis.url,
        '--queue-name',
        'a',
        '--repo',
        clone,
        '--remote',
        repo.remote as string,
        '--name',
        'w',
      ],
      { cwd: tempDir() },
    );
    processes.push(worker);
    await saidOnStderr(worker, /waiting for jobs/);
    // The task leaves uncommitted work and fails: the worker archives it when it removes the worktree.
    const command = ['sh', '-c', 'echo "wip $MIYABI_ISSUE_NUMBER" > wip.txt; exit 3'];
    const run = (issue: string, ...extra: string[]) =>
      startCli(
        ['run', '--queue', redis.url, '--queue-name', 'a', '--issues', issue, ...extra, '--', ...command],
        {
          cwd: repo.path,
        },
      ).done;

    const told = await run('4');
    expect(told.code).toBe(1);
    const line = `${told.stdout}${told.stderr}`.split('\n').find((l) => l.startsWith('#4: work saved under'));
    const id = line?.match(/refs\/miyabi\/archive\/(\S+);/)?.[1] ?? '';
    expect(line).toBe(
      `#4: work saved under refs/miyabi/archive/${id}; it is on worker w (host ${hostname()}) in its clone ${clone}: bring it back there with: cd ${clone} && miyabi-worktree restore ${id} (or rerun with --share-archives)`,
    );
    // True: not here, there.
    expect((await startCli(['restore', id], { cwd: repo.path }).done).code).not.toBe(0);
    const there = await startCli(['restore', id, '--json'], { cwd: clone }).done;
    expect(there.code, there.stderr).toBe(0);
    expect(readFileSync(join(json<{ path: string }>(there).path, 'wip.txt'), 'utf8')).toBe('wip 4\n');

    // Another issue: issue 4's work is restored in the clone now.
    const shared = await run('5', '--share-archives', '--json');
    const result = json<PoolExecutionResult>(shared).results[0];
    expect(result?.archivedOn, shared.stdout).toEqual({
      worker: 'w',
      host: hostname(),
      repo: clone,
      shared: true,
    });
    const sharedId = result?.archiveRef?.split('/').pop() ?? '';
    const here = await startCli(['restore', sharedId, '--json'], { cwd: repo.path }).done;
    expect(here.code, here.stderr).toBe(0);
    expect(readFileSync(join(json<{ path: string }>(here).path, 'wip.txt'), 'utf8')).toBe('wip 5\n');
  }, 120_000);
});
