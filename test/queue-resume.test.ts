import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { BatchRecord, PoolExecutionResult } from '../src/index.js';
import { remoteQueue } from '../src/queue/remote-queue.js';
import {
  type CliProcess,
  eventually,
  json,
  processAlive,
  saidOnStderr,
  startCli,
} from './helpers/cli-process.js';
import { requireBinary } from './helpers/external-binary.js';
import { queueTestBed } from './helpers/queue-bed.js';
import { createTempRepo, git, tempDir } from './helpers/temp-repo.js';

const redisServer = requireBinary('redis-server', 'the queue resume tests');

/**
 * How many commits on `branch` of the repository at `cwd` have the subject `subject`: a task merged
 * twice (run again and merged again) shows its commit twice; merged once, once (merge or fast-forward).
 */
function commitsOn(cwd: string, branch: string, subject: string): number {
  return git(cwd, 'log', '--format=%s', branch)
    .split('\n')
    .filter((line) => line === subject).length;
}

describe.skipIf(!redisServer)('a queue batch survives its submitter', () => {
  const { redis, processes } = queueTestBed(redisServer);
  let queueCount = 0;
  const nextQueue = () => `r${++queueCount}`;

  async function workerProcess(args: string[]): Promise<CliProcess> {
    const proc = startCli(['worker', '--queue', redis.url, ...args], { cwd: tempDir() });
    processes.push(proc);
    await saidOnStderr(proc, /waiting for jobs/);
    return proc;
  }

  function cli(cwd: string, args: string[]): CliProcess {
    const proc = startCli(args, { cwd });
    processes.push(proc);
    return proc;
  }

  it('kill -9 of the submitter mid-batch: the workers finish; run --resume collects their results, merges each task exactly once on the remote, and its --json covers every task', async () => {
    const repo = createTempRepo({ withRemote: true });
    const remote = repo.remote as string;
    const queueName = nextQueue();
    const marks = tempDir();
    const workers = await Promise.all(
      ['w1', 'w2'].map((name) =>
        workerProcess([
          '--queue-name',
          queueName,
          '--repo',
          join(tempDir(), name),
          '--remote',
          remote,
          '--name',
          name,
          '--concurrency',
          '2',
        ]),
      ),
    );
    // Issue 1 ends at once; the others wait for the test's go, given once the submitter is dead.
    const command = [
      'sh',
      '-c',
      `if [ "$MIYABI_ISSUE_NUMBER" != 1 ]; then while [ ! -e "${marks}/go" ]; do sleep 0.05; done; fi; ` +
        'echo "issue $MIYABI_ISSUE_NUMBER" > "task-$MIYABI_ISSUE_NUMBER.txt" && git add -A && git commit -qm "task $MIYABI_ISSUE_NUMBER"',
    ];
    const submitter = cli(repo.path, [
      'run',
      '--queue',
      redis.url,
      '--queue-name',
      queueName,
      '--issues',
      '1-4',
      '--concurrency',
      '3',
      '--merge',
      '--json',
      '--',
      ...command,
    ]);
    // The first task merged at the submitter: the batch is mid-way (its merges are pushed at its end).
    expect(await eventually(() => commitsOn(repo.path, 'main', 'task 1') === 1, 60_000)).toBe(true);
    submitter.child.kill('SIGKILL');
    await submitter.done;
    expect(commitsOn(remote, 'main', 'task 1')).toBe(0);
    await writeFile(join(marks, 'go'), '');
    // Nobody waits for them, and the workers finish the tasks they hold.
    const said = () => workers.map((worker) => worker.stderr()).join('');
    expect(await eventually(() => /#2 success/.test(said()) && /#3 success/.test(said()), 60_000)).toBe(true);

    // Within the killed submitter's lease (30 s): the same batch takes it over, not ISSUE_BUSY.
    const resumed = await cli(repo.path, ['run', '--resume', '--json']).done;
    expect(resumed.stderr).toMatch(/Resuming batch batch-/);
    expect(resumed.code, resumed.stderr).toBe(0);
    const result = json<PoolExecutionResult>(resumed);
    expect(result.totalTasks).toBe(4);
    expect(result.results.map((r) => [r.issueNumber, r.status])).toEqual([
      [1, 'success'],
      [2, 'success'],
      [3, 'success'],
      [4, 'success'],
    ]);
    expect(result.successCount).toBe(4);
    // Each task merged exactly once, on the remote and here; every task's file landed.
    for (const issue of [1, 2, 3, 4]) {
      expect(commitsOn(remote, 'main', `task ${issue}`), git(remote, 'log', '--oneline', 'main')).toBe(1);
      expect(git(remote, 'show', `main:task-${issue}.txt`)).toBe(`issue ${issue}`);
    }
    expect(commitsOn(repo.path, 'main', 'task 1')).toBe(1);
    // The tasks the workers finished were collected, not run again.
    for (const issue of [1, 2, 3]) {
      expect(said().match(new RegExp(`#${issue} started`, 'g')) ?? []).toHaveLength(1);
    }
    // A second resume finds nothing left to do.
    const again = await cli(repo.path, ['run', '--resume', '--json']).done;
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/no unfinished batch/);
  }, 180_000);

  it('run --resume pushes what the killed submitter merged but never pushed, even when no task merges in the resume (the other failed)', async () => {
    const repo = createTempRepo({ withRemote: true });
    const remote = repo.remote as string;
    const queueName = nextQueue();
    const marks = tempDir();
    const worker = await workerProcess([
      '--queue-name',
      queueName,
      '--repo',
      join(tempDir(), 'clone'),
      '--remote',
      remote,
      '--concurrency',
      '2',
    ]);
    // Issue 1 commits at once; issue 2 waits for the go, then fails.
    const command = [
      'sh',
      '-c',
      `if [ "$MIYABI_ISSUE_NUMBER" = 2 ]; then while [ ! -e "${marks}/go" ]; do sleep 0.05; done; exit 3; fi; ` +
        'echo one > one.txt && git add -A && git commit -qm "task 1"',
    ];
    const submitter = cli(repo.path, [
      'run',
      '--queue',
      redis.url,
      '--queue-name',
      queueName,
      '--issues',
      '1,2',
      '--merge',
      '--json',
      '--',
      ...command,
    ]);
    expect(await eventually(() => commitsOn(repo.path, 'main', 'task 1') === 1, 60_000)).toBe(true);
    submitter.child.kill('SIGKILL');
    await submitter.done;
    await writeFile(join(marks, 'go'), '');
    await saidOnStderr(worker, /#2 failed/);
    expect(commitsOn(remote, 'main', 'task 1')).toBe(0);

    const resumed = await cli(repo.path, ['run', '--resume', '--json']).done;
    expect(resumed.code, resumed.stderr).toBe(1);
    const result = json<PoolExecutionResult>(resumed);
    expect(result.results.map((r) => [r.issueNumber, r.status])).toEqual([
      [1, 'success'],
      [2, 'failed'],
    ]);
    expect(commitsOn(remote, 'main', 'task 1')).toBe(1);
    expect(git(remote, 'rev-parse', 'main')).toBe(repo.git('rev-parse', 'main'));
  }, 180_000);

  it('run --resume of a batch killed between a merge and its record, its job gone from Redis: the merge intent says it landed, so the task is neither run nor merged again', async () => {
    const repo = createTempRepo({ withRemote: true });
    const remote = repo.remote as string;
    const queueName = nextQueue();
    const marks = tempDir();
    const worker = await workerProcess([
      '--queue-name',
      queueName,
      '--repo',
      join(tempDir(), 'clone'),
      '--remote',
      remote,
      '--concurrency',
      '2',
    ]);
    const command = [
      'sh',
      '-c',
      `if [ "$MIYABI_ISSUE_NUMBER" = 2 ]; then while [ ! -e "${marks}/go" ]; do sleep 0.05; done; fi; ` +
        'echo "issue $MIYABI_ISSUE_NUMBER" > "task-$MIYABI_ISSUE_NUMBER.txt" && git add -A && git commit -qm "task $MIYABI_ISSUE_NUMBER"',
    ];
    const submitter = cli(repo.path, [
      'run',
      '--queue',
      redis.url,
      '--queue-name',
      queueName,
      '--issues',
      '1,2',
      '--merge',
      '--json',
      '--',
      ...command,
    ]);
    expect(await eventually(() => commitsOn(repo.path, 'main', 'task 1') === 1, 60_000)).toBe(true);
    submitter.child.kill('SIGKILL');
    await submitter.done;
    // As a kill right after the merge leaves it (no result yet), and a day later (its job expired).
    const batches = join(repo.path, '.git', 'miyabi', 'batches');
    const [file] = readdirSync(batches).filter((name) => name.endsWith('.json'));
    const record = JSON.parse(readFileSync(join(batches, file as string), 'utf8')) as BatchRecord;
    expect(record.mergeIntents?.map((intent) => intent.issueNumber)).toEqual([1]);
    await writeFile(
      join(batches, file as string),
      JSON.stringify({ ...record, results: record.results.filter((r) => r.issueNumber !== 1) }),
    );
    const target = remoteQueue(queueName, remote);
    const client = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue(target.bullName, { connection: client, prefix: target.prefix });
    await (await queue.getJob(`${record.id}-1`))?.remove();
    await queue.close();
    client.disconnect();
    await writeFile(join(marks, 'go'), '');
    await saidOnStderr(worker, /#2 success/);

    const resumed = await cli(repo.path, ['run', '--resume', '--json']).done;
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(json<PoolExecutionResult>(resumed).results.map((r) => [r.issueNumber, r.status])).toEqual([
      [1, 'success'],
      [2, 'success'],
    ]);
    expect(worker.stderr().match(/#1 started/g) ?? []).toHaveLength(1);
    for (const issue of [1, 2]) expect(commitsOn(remote, 'main', `task ${issue}`)).toBe(1);
  }, 180_000);

  it('worker --orphan-timeout: the running job of a batch whose submitter is gone is cancelled (process group killed, work pushed to its task branch, BATCH_ORPHANED), its waiting job never starts; run --resume continues both', async () => {
    const repo = createTempRepo({ withRemote: true });
    const remote = repo.remote as string;
    const queueName = nextQueue();
    const marks = tempDir();
    const worker = await workerProcess([
      '--queue-name',
      queueName,
      '--repo',
      join(tempDir(), 'clone'),
      '--remote',
      remote,
      '--orphan-timeout',
      '5s',
    ]);
    // First run: commits part of its work, leaves a file uncommitted, records its pid and hangs.
    // Resumed: says whether the part it made is there, and finishes.
    const command = [
      'sh',
      '-c',
      'n=$MIYABI_ISSUE_NUMBER; ' +
        'if [ "$MIYABI_RESUMED" = 1 ]; then ' +
        '  if [ -e "work-$n.txt" ] && [ -e "wip-$n.txt" ]; then echo kept > "kept-$n.txt"; fi; ' +
        '  echo resumed > "resumed-$n.txt"; git add -A; git commit -qm "finish $n"; ' +
        'else ' +
        '  echo part > "work-$n.txt"; git add "work-$n.txt"; git commit -qm "part $n"; echo wip > "wip-$n.txt"; ' +
        `  echo $$ > "${marks}/pid.tmp"; mv "${marks}/pid.tmp" "${marks}/pid-$n"; exec sleep 300; ` +
        'fi',
    ];
    const submitter = cli(repo.path, [
      'run',
      '--queue',
      redis.url,
      '--queue-name',
      queueName,
      '--issues',
      '5,6',
      '--concurrency',
      '2',
      '--merge',
      '--json',
      '--',
      ...command,
    ]);
    // The worker runs one job at a time: the first it took hangs, the other waits in the queue.
    await eventually(() => readdirSync(marks).some((name) => name.startsWith('pid-')), 60_000);
    const [pidFile] = readdirSync(marks).filter((name) => name.startsWith('pid-'));
    const ran = Number(pidFile?.slice('pid-'.length));
    const waited = ran === 5 ? 6 : 5;
    const agent = Number(readFileSync(join(marks, pidFile as string), 'utf8'));
    submitter.child.kill('SIGKILL');
    await submitter.done;

    await saidOnStderr(worker, new RegExp(`#${waited} failed \\(BATCH_ORPHANED\\)`));
    expect(worker.stderr()).toMatch(new RegExp(`#${ran} failed \\(BATCH_ORPHANED\\)`));
    // The agent's process group was killed; the waiting job never started.
    expect(await eventually(() => !processAlive(agent), 10_000)).toBe(true);
    expect(worker.stderr()).not.toMatch(new RegExp(`#${waited} started`));
    // Its work, committed and not, is on the remote's task branch.
    expect(git(remote, 'show', `feature/issue-${ran}:work-${ran}.txt`)).toBe('part');
    expect(git(remote, 'show', `feature/issue-${ran}:wip-${ran}.txt`)).toBe('wip');

    const resumed = await cli(repo.path, ['run', '--resume', '--json']).done;
    expect(resumed.code, resumed.stderr).toBe(0);
    const result = json<PoolExecutionResult>(resumed);
    expect(result.results.map((r) => [r.issueNumber, r.status])).toEqual([
      [5, 'success'],
      [6, 'success'],
    ]);
    // The cancelled task continued its pushed work; the one that never started ran fresh.
    expect(git(remote, 'show', `main:kept-${ran}.txt`)).toBe('kept');
    expect(git(remote, 'show', `main:work-${ran}.txt`)).toBe('part');
    expect(git(remote, 'show', `main:resumed-${waited}.txt`)).toBe('resumed');
    expect(git(remote, 'ls-tree', '--name-only', 'main')).not.toContain(`kept-${waited}.txt`);
    expect(commitsOn(remote, 'main', `part ${ran}`)).toBe(1);
    for (const issue of [5, 6]) expect(commitsOn(remote, 'main', `finish ${issue}`)).toBe(1);
  }, 180_000);

  it('worker --orphan-timeout below 5s is exit 2 at start, one line naming the flag', async () => {
    const repo = createTempRepo({ withRemote: true });
    const done = await startCli(
      [
        'worker',
        '--queue',
        redis.url,
        '--repo',
        join(tempDir(), 'c'),
        '--remote',
        repo.remote as string,
        '--orphan-timeout',
        '1s',
      ],
      { cwd: tempDir() },
    ).done;
    expect(done.code).toBe(2);
    expect(done.stderr.trim().split('\n')).toHaveLength(1);
    expect(done.stderr).toMatch(/--orphan-timeout must be at least 5s/);
  });
});
