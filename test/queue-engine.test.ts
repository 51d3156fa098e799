import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  commandExecutor,
  type QueueWorker,
  startWorker,
  type WorkerActivity,
  WorktreePool,
} from '../src/index.js';
import { requireBinary } from './helpers/external-binary.js';
import { startRedis, type TestRedis } from './helpers/redis-server.js';
import { createTempRepo, git, tempDir } from './helpers/temp-repo.js';

const redisServer = requireBinary('redis-server', 'the queue engine tests');

/** Each task rewrites one shared file: two tasks from the same base would conflict when merged. */
const REWRITE_SHARED = [
  'sh',
  '-c',
  'echo "issue {issue}" > shared.txt && git add -A && git commit -qm "t {issue}"',
];

describe.skipIf(!redisServer)('one batch engine on the queue (real redis-server, real workers)', () => {
  let redis: TestRedis;
  const workers: QueueWorker[] = [];
  let queueCount = 0;
  const nextQueue = () => `engine${++queueCount}`;

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
    extra: {
      remote?: string;
      allow?: string[];
      concurrency?: number;
      onJob?: (activity: WorkerActivity) => void;
    } = {},
  ) {
    const started = await startWorker({ connection: redis.url, repo, queueName, ...extra });
    workers.push(started);
    return started;
  }

  it('maxConcurrency 1 keeps one job in flight, and each job starts from the tip its predecessor merged into: no false conflict', async () => {
    const repo = createTempRepo({ withRemote: true, files: { 'shared.txt': 'base\n' } });
    const queueName = nextQueue();
    // A worker that could run three at once: only the batch's bound keeps them one at a time.
    const seen: string[] = [];
    let inFlight = 0;
    let most = 0;
    await worker(queueName, join(tempDir(), 'clone'), {
      remote: repo.remote as string,
      concurrency: 3,
      onJob: (activity) => {
        if (activity.kind === 'start') most = Math.max(most, ++inFlight);
        if (activity.kind === 'end') inFlight--;
        seen.push(`${activity.kind}`);
      },
    });
    const pool = await WorktreePool.create({
      repoPath: repo.path,
      maxConcurrency: 1,
      // Each squash is a commit the remote does not have when the next task is dispatched.
      merge: { strategy: 'squash' },
      queue: { connection: redis.url, name: queueName },
    });
    const base = repo.git('rev-parse', 'main');
    const result = await pool.executeParallel(
      [1, 2, 3].map((issueNumber) => ({ issueNumber })),
      commandExecutor(REWRITE_SHARED),
    );
    expect(result.results.map((r) => [r.issueNumber, r.status, r.error?.code])).toEqual([
      [1, 'success', undefined],
      [2, 'success', undefined],
      [3, 'success', undefined],
    ]);
    expect(most).toBe(1);
    expect(seen).toEqual(['start', 'end', 'start', 'end', 'start', 'end']);
    // Task 2 started from main with task 1's squash (a commit only this side had: pushed for the
    // workers under the batch's refs), task 3 from main with both.
    const [first, second, third] = result.results;
    expect(first?.baseCommit).toBe(base);
    expect(second?.baseCommit).toBe(first?.merge?.commit);
    expect(third?.baseCommit).toBe(second?.merge?.commit);
    const pushedBases = git(
      repo.remote as string,
      'for-each-ref',
      '--format=%(objectname)',
      `refs/miyabi/batches/${result.batchId}/`,
    ).split('\n');
    expect(pushedBases).toEqual(expect.arrayContaining([second?.baseCommit, third?.baseCommit]));
    expect(repo.git('show', 'main:shared.txt')).toBe('issue 3');
    expect(git(repo.remote as string, 'rev-parse', 'main')).toBe(repo.git('rev-parse', 'main'));
  });

  it('merge commits at the submitter name the task branch, not the transport ref', async () => {
    const repo = createTempRepo({ withRemote: true });
    const queueName = nextQueue();
    await worker(queueName, join(tempDir(), 'clone'), { remote: repo.remote as string });
    // main moves on here after the base was read: the merge is a real merge commit, not a fast-forward.
    const pool = await WorktreePool.create({
      repoPath: repo.path,
      merge: {},
      queue: { connection: redis.url, name: queueName },
    });
    const result = await pool.executeParallel(
      [{ issueNumber: 4 }, { issueNumber: 5 }],
      commandExecutor(['sh', '-c', 'echo {issue} > "f-{issue}" && git add -A && git commit -qm "t {issue}"']),
    );
    expect(result.results.map((r) => r.status)).toEqual(['success', 'success']);
    const subjects = repo.git('log', '--merges', '--format=%s', 'main').split('\n');
    expect(subjects.length).toBeGreaterThan(0);
    for (const subject of subjects) {
      expect(subject).toMatch(/^Merge branch 'feature\/issue-[45]' into main$/);
      expect(subject).not.toContain('miyabi-queue/');
    }
  });

  it('runs on a fresh worker clone of a remote whose HEAD names a missing branch', async () => {
    const repo = createTempRepo({ withRemote: true });
    git(repo.remote as string, 'symbolic-ref', 'HEAD', 'refs/heads/gone');
    const queueName = nextQueue();
    await worker(queueName, join(tempDir(), 'fresh-clone'), { remote: repo.remote as string });
    const pool = await WorktreePool.create({
      repoPath: repo.path,
      queue: { connection: redis.url, name: queueName },
    });
    const result = await pool.executeParallel(
      [{ issueNumber: 6 }],
      commandExecutor(['sh', '-c', 'echo six > six.txt && git add -A && git commit -qm six']),
    );
    expect(result.results[0]).toMatchObject({ status: 'success', baseCommit: repo.git('rev-parse', 'main') });
    expect(git(repo.remote as string, 'show', 'feature/issue-6:six.txt')).toBe('six');
  });

  it("prepares from the configuration at the job's commit, not the clone's checkout; --allow covers setup programs", async () => {
    const repo = createTempRepo({
      withRemote: true,
      files: {
        'miyabi-worktree.config.json': JSON.stringify({ setup: [['sh', '-c', 'echo old > setup.out']] }),
        '.gitignore': 'setup.out\n',
      },
    });
    // The worker's clone is checked out at the old configuration.
    const clone = join(tempDir(), 'clone');
    git(join(clone, '..'), 'clone', '-q', repo.remote as string, clone);
    // The submitter's base (not pushed to any branch) says otherwise.
    repo.commit(
      { 'miyabi-worktree.config.json': JSON.stringify({ setup: [['sh', '-c', 'echo new > setup.out']] }) },
      'new setup',
    );
    const queueName = nextQueue();
    await worker(queueName, clone, { remote: repo.remote as string });
    const pool = await WorktreePool.create({
      repoPath: repo.path,
      queue: { connection: redis.url, name: queueName },
    });
    const told = ['sh', '-c', 'cp setup.out told.txt && git add told.txt && git commit -qm told'];
    const result = await pool.executeParallel([{ issueNumber: 7 }], commandExecutor(told));
    expect(result.results[0]?.status, result.results[0]?.error?.message).toBe('success');
    expect(git(repo.remote as string, 'show', 'feature/issue-7:told.txt')).toBe('new');

    // A worker allowing only sh refuses the job whose setup runs touch, before running anything.
    repo.commit(
      { 'miyabi-worktree.config.json': JSON.stringify({ setup: [['touch', 'setup-ran']] }) },
      'setup with touch',
    );
    const allowQueue = nextQueue();
    const fresh = join(tempDir(), 'allow-clone');
    await worker(allowQueue, fresh, { remote: repo.remote as string, allow: ['sh'] });
    const allowPool = await WorktreePool.create({
      repoPath: repo.path,
      queue: { connection: redis.url, name: allowQueue },
    });
    const refused = await allowPool.executeParallel(
      [{ issueNumber: 8 }],
      commandExecutor(['sh', '-c', 'true']),
    );
    expect(refused.results[0]).toMatchObject({ status: 'failed', error: { code: 'COMMAND_NOT_ALLOWED' } });
    expect(refused.results[0]?.error?.message).toContain("setup command 'touch'");
    // No worktree was made for it in the worker's clone.
    expect(git(fresh, 'worktree', 'list').split('\n')).toHaveLength(1);
    expect(existsSync(join(fresh, 'setup-ran'))).toBe(false);
  });

  it("reuse, prepare and the command's env travel: the worker's pool applies them", async () => {
    const repo = createTempRepo({
      withRemote: true,
      files: {
        'miyabi-worktree.config.json': JSON.stringify({ setup: [['sh', '-c', 'echo from-config > s.out']] }),
      },
    });
    const queueName = nextQueue();
    const clone = join(tempDir(), 'clone');
    await worker(queueName, clone, { remote: repo.remote as string });
    const pool = await WorktreePool.create({
      repoPath: repo.path,
      maxConcurrency: 1,
      reuse: true,
      keepPaths: ['cache'],
      maxIdle: 1,
      prepare: { setup: [['sh', '-c', 'echo from-option > s.out']] },
      queue: { connection: redis.url, name: queueName },
    });
    const command = [
      'sh',
      '-c',
      'printf "%s %s|%s" "$(cat s.out)" "$GREETING" "$MIYABI_QUEUE_SECRET" > "r-{issue}" && git add "r-{issue}" && git commit -qm r',
    ];
    const result = await pool.executeParallel(
      [{ issueNumber: 9 }, { issueNumber: 10 }],
      commandExecutor(command, { env: { GREETING: 'hello', MIYABI_QUEUE_SECRET: 'stays-here' } }),
    );
    expect(result.results.map((r) => [r.status, r.error?.message])).toEqual([
      ['success', undefined],
      ['success', undefined],
    ]);
    expect(git(repo.remote as string, 'show', 'feature/issue-9:r-9')).toBe('from-option hello|');
    // The second task ran in the idle worktree the first handed back.
    expect(result.results.map((r) => r.reusedWorktree)).toEqual([false, true]);
    expect(result.results[0]?.keptIdle).toBe(true);
  });

  it("existingBranches 'continue' builds on the task branch as the remote has it (no archive, the earlier commit kept)", async () => {
    const repo = createTempRepo({ withRemote: true });
    repo.git('checkout', '-q', '-b', 'feature/issue-11');
    const earlier = repo.commit({ 'earlier.txt': 'earlier work\n' }, 'earlier run');
    repo.git('push', '-q', 'origin', 'feature/issue-11');
    repo.git('checkout', '-q', 'main');
    repo.git('branch', '-q', '-D', 'feature/issue-11');
    const queueName = nextQueue();
    await worker(queueName, join(tempDir(), 'clone'), { remote: repo.remote as string });
    const pool = await WorktreePool.create({
      repoPath: repo.path,
      existingBranches: 'continue',
      queue: { connection: redis.url, name: queueName },
    });
    const result = await pool.executeParallel(
      [{ issueNumber: 11 }],
      commandExecutor(['sh', '-c', 'echo more > more.txt && git add -A && git commit -qm more']),
    );
    expect(result.results[0]?.status, result.results[0]?.error?.message).toBe('success');
    const remote = repo.remote as string;
    expect(git(remote, 'rev-parse', 'feature/issue-11^')).toBe(earlier);
    expect(git(remote, 'ls-tree', '--name-only', 'feature/issue-11').split('\n')).toEqual(
      expect.arrayContaining(['earlier.txt', 'more.txt']),
    );
    expect(git(remote, 'for-each-ref', 'refs/miyabi/archive/')).toBe('');
  });
});
