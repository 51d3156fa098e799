import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import type { PoolExecutionResult, TaskResult } from '../src/index.js';
import { remoteQueue } from '../src/queue/remote-queue.js';
import { type CliProcess, eventually, json, saidOnStderr, startCli } from './helpers/cli-process.js';
import { requireBinary } from './helpers/external-binary.js';
import { queueTestBed } from './helpers/queue-bed.js';
import { createTempRepo, git, tempDir } from './helpers/temp-repo.js';

const redisServer = requireBinary('redis-server', 'the queue usage-limit pause tests');

describe.skipIf(!redisServer)('a usage limit on a worker pauses the queue batch', () => {
  const { redis, processes } = queueTestBed(redisServer);
  let queueCount = 0;
  const nextQueue = () => `pause${++queueCount}`;

  const cli = (args: string[], cwd: string): CliProcess => {
    const proc = startCli(args, { cwd });
    processes.push(proc);
    return proc;
  };
  const worker = (remote: string, queueName: string, name: string, concurrency = 1) =>
    cli(
      [
        'worker',
        ...['--remote', remote, '--queue', redis.url, '--queue-name', queueName],
        ...['--repo', join(tempDir(), name), '--name', name, '--concurrency', String(concurrency)],
      ],
      tempDir(),
    );
  const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : []);

  /**
   * The fake agent: issue 1 commits the first half of its work, leaves a draft uncommitted, and
   * stops at Claude's usage limit (reset in `resetIn` s); resumed, it commits the draft as the
   * second half. Issue 2 ends once the batch's pause is set in Redis; issue 3 notes when it started.
   */
  function agent(
    log: string,
    queueName: string,
    resetIn: number,
    message = 'Claude AI usage limit reached|$r',
  ) {
    const dir = tempDir();
    const start = join(dir, 'agent.sh');
    const resume = join(dir, 'resume.sh');
    writeFileSync(
      start,
      [
        'n=$MIYABI_ISSUE_NUMBER',
        'if [ "$n" = 1 ]; then',
        '  echo one > a.txt && git add a.txt && git commit -qm "first half"',
        '  echo draft > draft.txt',
        '  mkdir -p node_modules && echo cache > node_modules/kept',
        `  r=$(( $(date +%s) + ${resetIn} ))`,
        `  echo "1 paused $(pwd) reset=$r attempt=$MIYABI_ATTEMPT" >> "${log}"`,
        `  echo "${message}"`,
        '  exit 1',
        'fi',
        'if [ "$n" = 2 ]; then',
        `  until redis-cli -p ${redis.port} --scan --pattern 'miyabi:queue:${queueName}:*:pause:*' | grep -q .; do sleep 0.05; done`,
        `  echo "2 done" >> "${log}"`,
        'fi',
        `if [ "$n" = 3 ]; then echo "3 start $(date +%s)" >> "${log}"; fi`,
        'echo "$n" > "f$n.txt" && git add "f$n.txt" && git commit -qm "task $n"',
        '',
      ].join('\n'),
    );
    writeFileSync(
      resume,
      [
        `echo "1 resumed $(pwd) attempt=$MIYABI_ATTEMPT resumed=$MIYABI_RESUMED draft=$(cat draft.txt) head=$(git log -1 --format=%s) cache=$(cat node_modules/kept 2>/dev/null)" >> "${log}"`,
        'mv draft.txt b.txt && git add -A && git commit -qm "second half"',
        '',
      ].join('\n'),
    );
    return { start: ['sh', start], resume: `sh ${resume}` };
  }

  const repoWithIgnores = () =>
    createTempRepo({ withRemote: true, files: { '.gitignore': 'node_modules/\n' } });

  it('no task of the program starts during the pause; the task resumes with its partial commit, --merge lands both halves, --timeout 3s does not fire', async () => {
    const repo = repoWithIgnores();
    const queueName = nextQueue();
    const log = join(tempDir(), 'events.log');
    const { start, resume } = agent(log, queueName, 4);
    worker(repo.remote as string, queueName, 'w-a');
    worker(repo.remote as string, queueName, 'w-b');
    const done = await cli(
      [
        'run',
        ...['--queue', redis.url, '--queue-name', queueName],
        ...['--issues', '1,2,3', '--concurrency', '2', '--merge', '--timeout', '3s', '--json'],
        ...['--resume-command', resume, '--', ...start],
      ],
      repo.path,
    ).done;
    expect(done.code, done.stderr).toBe(0);
    const result = json<PoolExecutionResult>(done);
    const [one, two, three] = result.results as [TaskResult, TaskResult, TaskResult];
    expect(result.results.map((r) => [r.issueNumber, r.status])).toEqual([
      [1, 'success'],
      [2, 'success'],
      [3, 'success'],
    ]);
    const events = lines(log);
    const paused = events.find((line) => line.startsWith('1 paused'));
    const reset = Number(/reset=(\d+)/.exec(paused ?? '')?.[1]);
    expect(paused).toContain('attempt=1');
    expect(one.pause).toMatchObject({ count: 1, until: new Date(reset * 1000).toISOString() });
    expect(two.pause).toBeUndefined();
    // Issue 3 started only once the reset came: the gate held it although a slot was free.
    const third = events.find((line) => line.startsWith('3 start'));
    expect(Number(third?.split(' ')[2])).toBeGreaterThanOrEqual(reset);
    expect(events.indexOf('2 done')).toBeGreaterThan(events.indexOf(paused as string));
    // …because the submitter released its job only then (its gate), not because a worker held it.
    const target = remoteQueue(queueName, repo.remote as string);
    const queue = new Queue(target.bullName, { connection: { url: redis.url }, prefix: target.prefix });
    try {
      const job = await queue.getJob(`${result.batchId}-3`);
      expect(job?.timestamp).toBeGreaterThanOrEqual(reset * 1000);
    } finally {
      await queue.close();
    }
    // Resumed with its committed half and its uncommitted draft, by its resume command.
    const resumed = events.find((line) => line.startsWith('1 resumed'));
    expect(resumed).toMatch(/attempt=2 resumed=1 draft=draft head=first half/);
    // Both halves landed on main, with the other tasks' work.
    git(repo.path, 'fetch', '-q', 'origin');
    const landed = git(repo.path, 'log', '--format=%s', 'main').split('\n');
    expect(landed).toEqual(expect.arrayContaining(['first half', 'second half', 'task 2', 'task 3']));
    expect(git(repo.path, 'show', 'main:b.txt').trim()).toBe('draft');
    expect(three.status).toBe('success');
    // The submitter's live view and journal saw the pause.
    const journal = readFileSync(join(repo.path, '.git', 'miyabi', 'telemetry.jsonl'), 'utf8');
    for (const type of ['task-paused', 'task-resumed', 'pool-paused', 'pool-unpaused']) {
      expect(journal).toContain(`"type":"${type}"`);
    }
  });

  it('jobs already on the queue when the pause starts wait there until the reset (a --pause-on limit)', async () => {
    const repo = repoWithIgnores();
    const queueName = nextQueue();
    const log = join(tempDir(), 'events.log');
    // A limit of the user's own wording (--pause-on) travels to the worker too.
    const { start, resume } = agent(log, queueName, 4, 'quota spent, back at $r');
    // All three jobs enqueued at once (no --concurrency): the worker takes 1 and 2, then 3 while 1 waits.
    worker(repo.remote as string, queueName, 'w-two', 2);
    const done = await cli(
      [
        'run',
        ...['--queue', redis.url, '--queue-name', queueName, '--issues', '1,2,3', '--merge', '--json'],
        ...['--pause-on', 'quota spent, back at (?<reset>\\d+)'],
        ...['--resume-command', resume, '--', ...start],
      ],
      repo.path,
    ).done;
    expect(done.code, done.stderr).toBe(0);
    const events = lines(log);
    const reset = Number(/reset=(\d+)/.exec(events.find((l) => l.startsWith('1 paused')) ?? '')?.[1]);
    const third = events.find((line) => line.startsWith('3 start'));
    expect(Number(third?.split(' ')[2])).toBeGreaterThanOrEqual(reset);
  });

  it('a worker that did not pause the task resumes it from the work the other pushed; the other then drops its copy', async () => {
    const repo = repoWithIgnores();
    const queueName = nextQueue();
    const log = join(tempDir(), 'events.log');
    const hold = join(tempDir(), 'hold');
    const { start, resume } = agent(log, queueName, 6);
    const first = worker(repo.remote as string, queueName, 'w-first');
    const submitter = cli(
      [
        'run',
        ...['--queue', redis.url, '--queue-name', queueName, '--issues', '1', '--merge', '--json'],
        ...['--resume-command', resume, '--', ...start],
      ],
      repo.path,
    );
    await saidOnStderr(first, /#1 paused/);
    // One job at a time: another batch's job keeps it busy until the test says, so another worker resumes issue 1.
    const busy = cli(
      [
        'run',
        ...['--queue', redis.url, '--queue-name', queueName, '--issues', '2', '--merge', '--json'],
        ...[
          '--',
          'sh',
          '-c',
          `while [ ! -e "${hold}" ]; do sleep 0.05; done; echo 2 > f2.txt && git add f2.txt && git commit -qm "task 2"`,
        ],
      ],
      repo.path,
    );
    await saidOnStderr(first, /#2 started/);
    const second = worker(repo.remote as string, queueName, 'w-second');
    const done = await submitter.done;
    expect(done.code, done.stderr).toBe(0);
    // Only now: the two batches would race to push main.
    writeFileSync(hold, '');
    const busyDone = await busy.done;
    expect(busyDone.code, busyDone.stderr).toBe(0);
    const [one] = json<PoolExecutionResult>(done).results as [TaskResult];
    expect(one).toMatchObject({ status: 'success', worker: 'w-second', pause: { count: 1 } });
    const events = lines(log);
    const pausedIn = /^1 paused (\S+)/.exec(events.find((l) => l.startsWith('1 paused')) ?? '')?.[1] ?? '';
    expect(pausedIn).toContain('w-first');
    const resumed = events.find((line) => line.startsWith('1 resumed')) ?? '';
    // Commits and uncommitted files came over; ignored files (node_modules) stay where they were.
    expect(resumed).toMatch(/attempt=2 resumed=1 draft=draft head=first half cache=$/);
    expect(resumed).toContain('w-second');
    git(repo.path, 'fetch', '-q', 'origin');
    expect(git(repo.path, 'log', '--format=%s', 'main').split('\n')).toEqual(
      expect.arrayContaining(['first half', 'second half', 'task 2']),
    );
    // Its paused work is gone from the remote once the task's branch holds it.
    expect(git(repo.path, 'ls-remote', 'origin', 'refs/miyabi/paused/*')).toBe('');

    // The issue again, on the worker that paused it: its stale copy goes (archived), the job runs.
    second.child.kill('SIGTERM');
    await second.done;
    expect(existsSync(pausedIn)).toBe(true);
    const again = await cli(
      [
        'run',
        ...['--queue', redis.url, '--queue-name', queueName, '--issues', '1', '--merge', '--json'],
        ...['--', 'sh', '-c', 'echo again > again.txt && git add again.txt && git commit -qm again'],
      ],
      repo.path,
    ).done;
    expect(again.code, again.stderr).toBe(0);
    expect(json<PoolExecutionResult>(again).results[0]).toMatchObject({
      status: 'success',
      worker: 'w-first',
    });
    expect(existsSync(pausedIn)).toBe(false);
  });

  it('the worker that paused the task resumes it in its own worktree (ignored files too)', async () => {
    const repo = repoWithIgnores();
    const queueName = nextQueue();
    const log = join(tempDir(), 'events.log');
    const { start, resume } = agent(log, queueName, 4);
    worker(repo.remote as string, queueName, 'w-own');
    // The queue timeout passes while the job waits on the queue: a paused job was taken, it stays.
    const done = await cli(
      [
        'run',
        ...['--queue', redis.url, '--queue-name', queueName, '--issues', '1', '--merge', '--json'],
        ...['--queue-timeout', '3s', '--resume-command', resume, '--', ...start],
      ],
      repo.path,
    ).done;
    expect(done.code, done.stderr).toBe(0);
    const events = lines(log);
    const folder = /^1 paused (\S+)/.exec(events[0] ?? '')?.[1];
    expect(folder).toBeDefined();
    expect(events[1]).toBe(`1 resumed ${folder} attempt=2 resumed=1 draft=draft head=first half cache=cache`);
  });

  it('a reset beyond --pause-max ends the task USAGE_LIMIT, its partial commit kept here', async () => {
    const repo = repoWithIgnores();
    const queueName = nextQueue();
    const log = join(tempDir(), 'events.log');
    const { start } = agent(log, queueName, 3600);
    worker(repo.remote as string, queueName, 'w-max');
    const done = await cli(
      [
        'run',
        ...['--queue', redis.url, '--queue-name', queueName, '--issues', '1', '--merge', '--json'],
        ...['--pause-max', '1m', '--', ...start],
      ],
      repo.path,
    ).done;
    expect(done.code, done.stderr).toBe(1);
    const [one] = json<PoolExecutionResult>(done).results as [TaskResult];
    expect(one).toMatchObject({
      status: 'failed',
      stage: 'execute',
      error: { code: 'USAGE_LIMIT' },
      pause: { count: 1 },
      cleanedUp: false,
    });
    expect(one.error?.message).toMatch(/beyond the batch's pauseMax/);
    // Kept here as --keep keeps a queue task: a worktree of its pushed branch.
    expect(one.worktreePath).toBeDefined();
    expect(git(one.worktreePath as string, 'log', '-1', '--format=%s')).toBe('first half');
    expect(await eventually(() => lines(log).length === 1)).toBe(true);
  });
});
