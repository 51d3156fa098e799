import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { commandExecutor, type PoolExecutionResult, WorktreePool } from '../src/index.js';
import { json, saidOnStderr, startCli } from './helpers/cli-process.js';
import { requireBinary } from './helpers/external-binary.js';
import { type FakeGitHub, startFakeGitHub } from './helpers/fake-github.js';
import { queueTestBed } from './helpers/queue-bed.js';
import { createTempRepo, git, tempDir } from './helpers/temp-repo.js';

const redisServer = requireBinary('redis-server', 'the queue tests');

/** Resolves once `path` exists, watching its folder's changes through the task's own writes. */
async function fileAppears(path: string, within = 30_000): Promise<void> {
  const { watch } = await import('node:fs');
  if (existsSync(path)) return;
  await new Promise<void>((resolve, reject) => {
    const watcher = watch(join(path, '..'), () => {
      if (existsSync(path)) {
        watcher.close();
        clearTimeout(timer);
        resolve();
      }
    });
    const timer = setTimeout(() => {
      watcher.close();
      reject(new Error(`${path} did not appear`));
    }, within);
    if (existsSync(path)) {
      watcher.close();
      clearTimeout(timer);
      resolve();
    }
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!redisServer)('queue workers as processes (worker and run --queue)', () => {
  const { redis, processes } = queueTestBed(redisServer);
  const strayPids: number[] = [];
  let queueCount = 0;
  const nextQueue = () => `w${++queueCount}`;

  afterEach(async () => {
    for (const pid of strayPids.splice(0)) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });

  async function startWorkerProcess(
    queueName: string,
    name: string,
    repo: string,
    remote: string | undefined,
    extra: string[] = [],
  ) {
    const proc = startCli(
      [
        'worker',
        '--queue',
        redis.url,
        '--queue-name',
        queueName,
        '--repo',
        repo,
        '--name',
        name,
        ...(remote !== undefined ? ['--remote', remote] : []),
        ...extra,
      ],
      { cwd: tempDir() },
    );
    processes.push(proc);
    await saidOnStderr(proc, /waiting for jobs/);
    return proc;
  }

  it('says it waits for workers while none is connected, and --queue-timeout ends the wait', async () => {
    const repo = createTempRepo({ withRemote: true });
    const done = await startCli(
      [
        'run',
        '--queue',
        redis.url,
        '--queue-name',
        nextQueue(),
        '--queue-timeout',
        '1s',
        '--issues',
        '4',
        '--json',
        '--',
        'true',
      ],
      { cwd: repo.path },
    ).done;
    expect(done.stderr).toMatch(/waiting for workers \(0 connected\)/);
    expect(json<PoolExecutionResult>(done).results[0]).toMatchObject({
      status: 'timeout',
      error: { code: 'TIMEOUT' },
    });
    expect(done.code).toBe(1);
  });

  it('spreads 12 tasks over 3 worker processes, and the merged tree equals a local batch', async () => {
    const repo = createTempRepo({ withRemote: true });
    const queueName = nextQueue();
    const home = tempDir();
    const barrier = tempDir();
    await Promise.all(
      ['w1', 'w2', 'w3'].map((name) => startWorkerProcess(queueName, name, join(home, name), repo.remote)),
    );
    // The first three tasks wait until three have arrived: each worker (one task at a time) holds one.
    const command = [
      'sh',
      '-c',
      `touch "${barrier}/$MIYABI_ISSUE_NUMBER"; while [ "$(ls "${barrier}" | wc -l)" -lt 3 ]; do sleep 0.05; done; ` +
        'echo "issue $MIYABI_ISSUE_NUMBER" > "task-$MIYABI_ISSUE_NUMBER.txt" && git add -A && git commit -qm "task $MIYABI_ISSUE_NUMBER"',
    ];
    const submitter = startCli(
      [
        'run',
        '--queue',
        redis.url,
        '--queue-name',
        queueName,
        '--issues',
        '1-12',
        '--merge',
        '--json',
        '--',
        ...command,
      ],
      { cwd: repo.path },
    );
    processes.push(submitter);
    const done = await submitter.done;
    expect(done.stderr).toMatch(/3 workers connected/);
    expect(done.stderr).not.toMatch(/waiting for workers/);
    // Twelve jobs in flight at once are a batch, not a listener leak for Node to warn about.
    expect(done.stderr).not.toMatch(/MaxListenersExceededWarning/);
    const result = json<PoolExecutionResult>(done);
    expect(result.results.map((r) => r.status)).toEqual(Array(12).fill('success'));
    expect(new Set(result.results.map((r) => r.worker))).toEqual(new Set(['w1', 'w2', 'w3']));
    expect(done.code).toBe(0);
    expect(git(repo.remote as string, 'rev-parse', 'main')).toBe(repo.git('rev-parse', 'main'));

    const local = createTempRepo();
    const pool = await WorktreePool.create({ repoPath: local.path, merge: {}, maxConcurrency: 3 });
    const tasks = Array.from({ length: 12 }, (_, i) => ({ issueNumber: i + 1 }));
    expect((await pool.executeParallel(tasks, commandExecutor(command))).allSuccessful).toBe(true);
    expect(repo.git('rev-parse', 'main^{tree}')).toBe(local.git('rev-parse', 'main^{tree}'));
  }, 180_000);

  it('the worker expands the placeholders against its worktree: issue 1 lands "issue 1 feature/issue-1", not the literal text', async () => {
    const repo = createTempRepo({ withRemote: true });
    const queueName = nextQueue();
    await startWorkerProcess(queueName, 'only', join(tempDir(), 'clone'), repo.remote);
    const submitter = startCli(
      [
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
        'sh',
        '-c',
        'echo "issue {issue} {branch}" > out; git add -A; git commit -qm "t {issue}"',
      ],
      { cwd: repo.path },
    );
    processes.push(submitter);
    const done = await submitter.done;
    const result = json<PoolExecutionResult>(done);
    // Each task's branch on the remote holds its own expansion (the worker pushed them).
    for (const issue of [1, 2]) {
      const branch = `feature/issue-${issue}`;
      expect(git(repo.remote as string, 'log', '-1', '--format=%s', branch)).toBe(`t ${issue}`);
      expect(git(repo.remote as string, 'show', `${branch}:out`)).toBe(`issue ${issue} ${branch}`);
    }
    expect(result.results[0]).toMatchObject({ issueNumber: 1, status: 'success', worker: 'only' });
    // Both wrote `out`, each its own text now: the second merge conflicts (the literal text never did).
    expect(result.results[1]).toMatchObject({ issueNumber: 2, status: 'failed', stage: 'merge' });
    expect(repo.git('show', 'main:out')).toBe('issue 1 feature/issue-1');
    expect(repo.git('log', '--format=%s', 'main')).toMatch(/^t 1$/m);
    expect(repo.git('log', '--format=%s', 'main')).not.toContain('{issue}');
  });

  it('a --github batch gives the remote agent {title}, MIYABI_ISSUE_TITLE and MIYABI_ISSUE_FILE', async () => {
    const repo = createTempRepo({ withRemote: true });
    const queueName = nextQueue();
    const token = 'ghp_queueTOKEN0123456789abcdef';
    let server: FakeGitHub | undefined;
    try {
      server = await startFakeGitHub({
        token,
        issues: [
          {
            number: 3,
            title: 'Crash when "$HOME" has `spaces`',
            body: 'Steps\0 to reproduce',
            labels: ['ready'],
          },
          { number: 4, title: 'Second', body: 'two', labels: ['ready', 'ui'] },
        ],
      });
      await startWorkerProcess(queueName, 'only', join(tempDir(), 'clone'), repo.remote);
      // The agent writes what it was told into a file of its own name, then commits it.
      const agent = [
        'node',
        '-e',
        `const fs = require('node:fs'), { execFileSync } = require('node:child_process');
         const n = process.env.MIYABI_ISSUE_NUMBER;
         fs.writeFileSync('told-' + n + '.json', JSON.stringify({
           argv: process.argv.slice(1),
           title: process.env.MIYABI_ISSUE_TITLE,
           labels: process.env.MIYABI_ISSUE_LABELS,
           fileBody: fs.readFileSync(process.env.MIYABI_ISSUE_FILE, 'utf8'),
         }));
         execFileSync('git', ['add', '-A']);
         execFileSync('git', ['commit', '-q', '-m', 'Work on ' + n]);`,
        'Fix #{issue}: {title}',
        '{labels} {url}',
      ];
      const submitter = startCli(
        [
          'run',
          '--queue',
          redis.url,
          '--queue-name',
          queueName,
          '--github',
          'octo/hello',
          '--label',
          'ready',
          '--github-api-url',
          server.url,
          '--merge',
          '--json',
          '--',
          ...agent,
        ],
        { cwd: repo.path, env: { GITHUB_TOKEN: token, GH_TOKEN: '' } },
      );
      processes.push(submitter);
      const done = await submitter.done;
      expect(json<PoolExecutionResult>(done).results.map((r) => [r.issueNumber, r.status, r.worker])).toEqual(
        [
          [3, 'success', 'only'],
          [4, 'success', 'only'],
        ],
      );
      const told = (issue: number) =>
        JSON.parse(repo.git('show', `main:told-${issue}.json`)) as {
          argv: string[];
          title: string;
          labels: string;
          fileBody: string;
        };
      expect(told(3)).toEqual({
        argv: ['Fix #3: Crash when "$HOME" has `spaces`', 'ready https://github.example/octo/hello/issues/3'],
        title: 'Crash when "$HOME" has `spaces`',
        labels: 'ready',
        fileBody: 'Steps\0 to reproduce',
      });
      expect(told(4)).toMatchObject({
        argv: ['Fix #4: Second', expect.stringMatching(/^ready,ui /)],
        title: 'Second',
      });
    } finally {
      await server?.close();
    }
  });

  it('hands the task of a worker killed with SIGKILL mid-task to another worker, which finishes it', async () => {
    const repo = createTempRepo({ withRemote: true });
    const queueName = nextQueue();
    const home = tempDir();
    const marks = tempDir();
    const timings = ['--lock-duration', '2s', '--stalled-interval', '1s'];
    const victim = await startWorkerProcess(queueName, 'victim', join(home, 'victim'), repo.remote, timings);
    // First attempt: records its pid and hangs; the next attempt (a fresh worktree from the base) commits.
    const command = [
      'sh',
      '-c',
      `if [ ! -e "${marks}/first" ]; then echo $$ > "${marks}/first.tmp"; mv "${marks}/first.tmp" "${marks}/first"; exec sleep 120; fi; ` +
        'echo done > result.txt && git add -A && git commit -qm "second attempt"',
    ];
    const submitter = startCli(
      [
        'run',
        '--queue',
        redis.url,
        '--queue-name',
        queueName,
        '--issues',
        '7',
        '--merge',
        '--json',
        '--',
        ...command,
      ],
      { cwd: repo.path },
    );
    processes.push(submitter);
    await fileAppears(join(marks, 'first'));
    const firstPid = Number(readFileSync(join(marks, 'first'), 'utf8'));
    strayPids.push(firstPid);
    victim.child.kill('SIGKILL');
    await victim.done;
    await startWorkerProcess(queueName, 'rescuer', join(home, 'rescuer'), repo.remote, timings);
    const done = await submitter.done;
    const result = json<PoolExecutionResult>(done);
    expect(result.results[0]).toMatchObject({ status: 'success', worker: 'rescuer' });
    expect(repo.git('show', 'main:result.txt')).toBe('done');
    // The first attempt's worktree is still in the dead worker's clone: nothing it did is gone.
    expect(git(join(home, 'victim'), 'worktree', 'list')).toMatch(/issue-7/);
  });

  it('Ctrl-C at the submitter stops the task running on a worker: its process is killed', async () => {
    const repo = createTempRepo({ withRemote: true });
    const queueName = nextQueue();
    const marks = tempDir();
    await startWorkerProcess(queueName, 'only', join(tempDir(), 'clone'), repo.remote);
    const command = [
      'sh',
      '-c',
      `echo $$ > "${marks}/pid.tmp"; mv "${marks}/pid.tmp" "${marks}/pid"; exec sleep 120`,
    ];
    const submitter = startCli(
      ['run', '--queue', redis.url, '--queue-name', queueName, '--issues', '1,2', '--json', '--', ...command],
      { cwd: repo.path },
    );
    processes.push(submitter);
    await fileAppears(join(marks, 'pid'));
    const pid = Number(readFileSync(join(marks, 'pid'), 'utf8'));
    strayPids.push(pid);
    submitter.child.kill('SIGINT');
    const done = await submitter.done;
    expect(done.code).toBe(130);
    const result = json<PoolExecutionResult>(done);
    expect(result.results.map((r) => r.status)).toEqual(['cancelled', 'cancelled']);
    expect(alive(pid)).toBe(false);
  });
});
