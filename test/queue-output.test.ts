import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { PoolExecutionResult, TaskResult } from '../src/index.js';
import { appendChunk, type OutputChunk, outputStreamKey } from '../src/queue/output-stream.js';
import { readRemoteOutput } from '../src/queue/remote-output.js';
import { remoteQueue } from '../src/queue/remote-queue.js';
import { eventually, json, saidOnStderr, startCli } from './helpers/cli-process.js';
import { requireBinary } from './helpers/external-binary.js';
import { queueTestBed } from './helpers/queue-bed.js';
import { createTempRepo, tempDir } from './helpers/temp-repo.js';

const redisServer = requireBinary('redis-server', 'the queue output tests');

describe.skipIf(!redisServer)('a remote task’s output travels to the submitter', () => {
  const { redis, processes } = queueTestBed(redisServer);
  let queueCount = 0;
  const nextQueue = () => `out${++queueCount}`;

  const cli = (args: string[], cwd: string) => {
    const proc = startCli(args, { cwd });
    processes.push(proc);
    return proc;
  };

  it('--log-dir holds every line (stderr, and after a pause), logs -f follows it to its closing line, --html draws it', async () => {
    // logRetention 1: the batch's own log folder is the only one left once it starts.
    const repo = createTempRepo({
      withRemote: true,
      files: { 'miyabi-worktree.config.json': '{ "logRetention": 1 }\n' },
    });
    const queueName = nextQueue();
    const logDir = join(tempDir(), 'logs');
    const older = join(logDir, 'batch-old-0a0b0c');
    mkdirSync(older, { recursive: true });
    writeFileSync(join(older, 'issue-1.log'), 'an older batch\n');
    const gate = join(tempDir(), 'gate');
    const html = join(tempDir(), 'batch.html');
    // Issue 7 prints, waits for the test's gate, prints again, commits; issue 8 fails on stderr.
    const script =
      'if [ "$MIYABI_ISSUE_NUMBER" = 8 ]; then echo "eight is broken" >&2; exit 3; fi; ' +
      'echo "first line"; echo "early to stderr" >&2; ' +
      `while [ ! -e "${gate}" ]; do sleep 0.05; done; ` +
      'echo "after the pause"; echo "late to stderr" >&2; printf "no newline at the end" >&2; ' +
      'echo 7 > seven.txt && git add seven.txt && git commit -qm seven';
    const submitter = cli(
      [
        'run',
        ...['--queue', redis.url, '--queue-name', queueName],
        ...['--issues', '7,8', '--merge', '--log-dir', logDir, '--html', html, '--json'],
        ...['--', 'sh', '-c', script],
      ],
      repo.path,
    );
    // The batch's record is written before any job is enqueued: `logs -f` waits on it.
    const batches = join(repo.path, '.git', 'miyabi', 'batches');
    expect(await eventually(() => existsSync(batches) && readdirSync(batches).length > 0, 30_000)).toBe(true);
    const follower = cli(['logs', '-f', '7'], repo.path);
    await saidOnStderr(follower, /waiting for issue 7 to start in batch-/);
    cli(
      [
        'worker',
        '--remote',
        repo.remote as string,
        '--queue',
        redis.url,
        '--queue-name',
        queueName,
        '--repo',
        join(tempDir(), 'clone'),
        '--name',
        'w-out',
      ],
      tempDir(),
    );
    // The follower shows the running remote task's output before it ends.
    expect(await eventually(() => follower.stdout().split('\n').includes('early to stderr'), 60_000)).toBe(
      true,
    );
    expect(follower.stdout().split('\n')).not.toContain('after the pause');
    writeFileSync(gate, '');

    const followed = await follower.done;
    const done = await submitter.done;
    expect(done.code, done.stderr).toBe(1);
    const result = json<PoolExecutionResult>(done);
    const [seven, eight] = result.results as [TaskResult, TaskResult];
    expect(seven).toMatchObject({ issueNumber: 7, status: 'success', worker: 'w-out' });
    expect(eight).toMatchObject({ issueNumber: 8, status: 'failed', stage: 'execute', worker: 'w-out' });
    expect(readdirSync(logDir)).toEqual([result.batchId]);
    const file = join(logDir, result.batchId, 'issue-7.log');
    expect(seven.logFile).toBe(file);
    expect(eight.logFile).toBe(join(logDir, result.batchId, 'issue-8.log'));

    const log = readFileSync(file, 'utf8');
    const lines = log.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^# miyabi-worktree: issue 7, worktree issue-7-[0-9a-f]{8}, branch feature\/issue-7$/,
    );
    expect(lines[1]).toMatch(/^# in \//);
    expect(lines[2]).toMatch(/^# on worker w-out \(host .+\), attempt 1$/);
    // Each stream's lines in the order they were written, none lost (stdout and stderr are two pipes:
    // only the gate orders them), and the worker's own closing line not among them.
    const at = (line: string) => lines.indexOf(line);
    expect(at('first line')).toBeGreaterThan(2);
    expect(at('first line')).toBeLessThan(at('after the pause'));
    expect(at('early to stderr')).toBeLessThan(at('after the pause'));
    expect(at('late to stderr')).toBeLessThan(at('no newline at the end'));
    expect(at('early to stderr')).toBeLessThan(at('late to stderr'));
    expect(lines.filter((line) => line.startsWith('# miyabi-worktree: ended'))).toHaveLength(1);
    // The submitter's own closing line: its merge here, which the worker never saw.
    expect(lines.at(-1)).toMatch(
      /^# miyabi-worktree: ended success in .*: exit code 0 · .*into main \([0-9a-f]{7}\)/,
    );
    expect(readFileSync(eight.logFile as string, 'utf8')).toMatch(
      /\neight is broken\n# miyabi-worktree: ended failed at execute in .*: exit code 3 · COMMAND_FAILED: sh exited with code 3/,
    );

    // `logs -f` followed it to its end: exactly the file.
    expect(followed.code, followed.stderr).toBe(0);
    expect(followed.stdout).toBe(log);
    const shown = await cli(['logs', '7'], repo.path).done;
    expect(shown.stdout).toBe(log);

    // The page draws both remote tasks with their worker and their output.
    const page = readFileSync(html, 'utf8');
    const row = page.slice(
      page.indexOf('data-issue="7"'),
      page.indexOf('</tr>', page.indexOf('data-issue="7"')),
    );
    expect(row).toContain('w-out');
    expect(row).toContain('no newline at the end');
    expect(row).toContain(`file://${file}`);

    // The stream is gone once the batch ended.
    const client = new Redis(redis.url);
    try {
      expect(
        await client.exists(
          outputStreamKey(remoteQueue(queueName, repo.remote as string).id, result.batchId),
        ),
      ).toBe(0);
    } finally {
      client.disconnect();
    }
  }, 180_000);

  it('a job retried after its worker was killed: both attempts in one log, one closing line', async () => {
    const repo = createTempRepo({ withRemote: true });
    const queueName = nextQueue();
    const logDir = join(tempDir(), 'logs');
    const marks = tempDir();
    const timings = ['--lock-duration', '2s', '--stalled-interval', '1s'];
    const worker = (name: string) =>
      cli(
        [
          'worker',
          '--remote',
          repo.remote as string,
          '--queue',
          redis.url,
          '--queue-name',
          queueName,
          '--repo',
          join(marks, name),
          '--name',
          name,
          ...timings,
        ],
        tempDir(),
      );
    const victim = worker('victim');
    await saidOnStderr(victim, /waiting for jobs/);
    // The first attempt says so and hangs (its process group is stopped below); the second finishes.
    const script =
      `if [ ! -e "${marks}/first" ]; then echo "first attempt here"; echo $$ > "${marks}/first"; exec sleep 120; fi; ` +
      'echo "second attempt here"';
    const submitter = cli(
      [
        'run',
        '--queue',
        redis.url,
        '--queue-name',
        queueName,
        '--issues',
        '7',
        '--log-dir',
        logDir,
        '--json',
        '--',
        'sh',
        '-c',
        script,
      ],
      repo.path,
    );
    const logOf = () => {
      const batch = existsSync(logDir) ? readdirSync(logDir)[0] : undefined;
      const file = batch ? join(logDir, batch, 'issue-7.log') : '';
      return file && existsSync(file) ? readFileSync(file, 'utf8') : '';
    };
    // Killed once its first attempt's output is at the submitter.
    expect(await eventually(() => logOf().split('\n').includes('first attempt here'), 60_000)).toBe(true);
    victim.child.kill('SIGKILL');
    await victim.done;
    const firstPid = Number(readFileSync(join(marks, 'first'), 'utf8'));
    try {
      process.kill(-firstPid, 'SIGKILL');
    } catch {
      // already gone
    }
    worker('rescuer');
    const done = await submitter.done;
    expect(json<PoolExecutionResult>(done).results[0]).toMatchObject({
      status: 'success',
      worker: 'rescuer',
    });
    const lines = logOf().trimEnd().split('\n');
    const victimAt = lines.findIndex((line) => /^# on worker victim \(host .+\), attempt 1$/.test(line));
    const rescuerAt = lines.findIndex((line) => /^# on worker rescuer \(host .+\), attempt 2$/.test(line));
    expect(victimAt).toBeGreaterThan(0);
    expect(lines.indexOf('first attempt here')).toBeGreaterThan(victimAt);
    expect(rescuerAt).toBeGreaterThan(lines.indexOf('first attempt here'));
    expect(lines.indexOf('second attempt here')).toBeGreaterThan(rescuerAt);
    expect(lines.filter((line) => line.startsWith('# miyabi-worktree: ended'))).toHaveLength(1);
    expect(lines.at(-1)).toMatch(/^# miyabi-worktree: ended success /);
  }, 180_000);

  it("with --merge a task's log closes after the batch pushed its target: a refused push is its closing line", async () => {
    const repo = createTempRepo({ withRemote: true });
    const queueName = nextQueue();
    const logDir = join(tempDir(), 'logs');
    cli(
      [
        'worker',
        '--remote',
        repo.remote as string,
        '--queue',
        redis.url,
        '--queue-name',
        queueName,
        '--repo',
        join(tempDir(), 'clone'),
        '--name',
        'w',
      ],
      tempDir(),
    );
    // The task moves the remote's main behind the submitter's back, then commits its own work.
    const script =
      'git commit -q --allow-empty -m elsewhere && git push -q origin HEAD:refs/heads/main && git reset -q --hard HEAD~1 && ' +
      'echo 9 > nine.txt && git add nine.txt && git commit -qm nine';
    const done = await cli(
      [
        'run',
        '--queue',
        redis.url,
        '--queue-name',
        queueName,
        '--issues',
        '9',
        '--merge',
        '--log-dir',
        logDir,
        '--json',
        '--',
        'sh',
        '-c',
        script,
      ],
      repo.path,
    ).done;
    const result = json<PoolExecutionResult>(done).results[0] as TaskResult;
    expect(result).toMatchObject({ status: 'failed', stage: 'push', error: { code: 'PUSH_REJECTED' } });
    const lines = readFileSync(result.logFile as string, 'utf8')
      .trimEnd()
      .split('\n');
    expect(lines.filter((line) => line.startsWith('# miyabi-worktree: ended'))).toHaveLength(1);
    expect(lines.at(-1)).toMatch(
      /^# miyabi-worktree: ended failed at push in .*: exit code 0 · PUSH_REJECTED: /,
    );
  }, 180_000);

  it('the submitter trims what it wrote, says where chunks were dropped, and deletes the stream', async () => {
    const client = new Redis(redis.url);
    const stateDir = tempDir();
    const logDir = tempDir();
    const queueName = nextQueue();
    const batchId = 'batch-test-0001';
    const key = outputStreamKey(queueName, batchId);
    const chunk = (seq: number, text: string): OutputChunk => ({
      issueNumber: 5,
      attempt: 0,
      seq,
      worker: 'w',
      host: 'h',
      worktreeId: 'issue-5-0123abcd',
      branch: 'feature/issue-5',
      text,
    });
    try {
      const output = await readRemoteOutput({
        connection: redis.url,
        redis: client,
        queueName,
        batchId,
        stateDir,
        logDir,
      });
      try {
        await appendChunk(
          client,
          queueName,
          batchId,
          chunk(
            0,
            '# miyabi-worktree: issue 5, worktree issue-5-0123abcd, branch feature/issue-5\n# in /w\none\n',
          ),
        );
        await appendChunk(client, queueName, batchId, chunk(1, 'two\n'));
        // Chunk 2 never reached the stream (its bound dropped it): the log says so where it was.
        await appendChunk(client, queueName, batchId, chunk(3, 'four\n'));
        await output.caughtUp();
        expect(await client.xlen(key)).toBeLessThanOrEqual(1);
        const ended = await output.ended({
          issueNumber: 5,
          worktreeId: 'issue-5-0123abcd',
          durationMs: 5,
          cleanedUp: true,
          status: 'success',
        } as TaskResult);
        expect(readFileSync(ended.logFile as string, 'utf8')).toBe(
          '# miyabi-worktree: issue 5, worktree issue-5-0123abcd, branch feature/issue-5\n# in /w\n# on worker w (host h), attempt 1\none\ntwo\n' +
            "# miyabi-worktree: 1 chunk(s) of output were dropped from the queue's stream before they were read here\nfour\n" +
            '# miyabi-worktree: ended success in 5ms: worktree removed\n',
        );
      } finally {
        await output.close();
      }
      expect(await client.exists(key)).toBe(0);
    } finally {
      client.disconnect();
    }
  });
});
