import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitHubClient } from '../src/github/client.js';
import {
  commandExecutor,
  type QueueWorker,
  startWorker,
  WorktreeManager,
  WorktreePool,
} from '../src/index.js';
import { parseQueueJob } from '../src/queue/payload.js';
import { readBatchRecord } from '../src/state/batch-records.js';
import { runCli } from './helpers/cli-process.js';
import { requireBinary } from './helpers/external-binary.js';
import { type FakeGitHub, startFakeGitHub } from './helpers/fake-github.js';
import { startRedis, type TestRedis } from './helpers/redis-server.js';
import { createTempRepo, git, tempDir } from './helpers/temp-repo.js';

const redisServer = requireBinary('redis-server', 'the queue keep tests');

// Each task commits a file of its own; with SAME set, both write one file differently: the second merge conflicts.
const commitFile = (same = false) => [
  'sh',
  '-c',
  same
    ? 'echo "issue $MIYABI_ISSUE_NUMBER" > same.txt && git add -A && git commit -qm "task $MIYABI_ISSUE_NUMBER"'
    : 'echo "issue $MIYABI_ISSUE_NUMBER" > "task-$MIYABI_ISSUE_NUMBER.txt" && git add -A && git commit -qm "task $MIYABI_ISSUE_NUMBER"',
];

describe.skipIf(!redisServer)('queue tasks kept and pull requests opened at the submitter', () => {
  let redis: TestRedis;
  const workers: QueueWorker[] = [];
  let queueCount = 0;
  const nextQueue = () => `keep${++queueCount}`;
  let github: FakeGitHub | undefined;

  beforeAll(async () => {
    redis = await startRedis(redisServer as string);
  });
  afterAll(async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.close({ cancelRunning: true })));
    await github?.close();
    await redis?.dispose();
  });

  async function worker(queueName: string, remote: string, repo = join(tempDir(), 'clone')) {
    const started = await startWorker({ connection: redis.url, repo, queueName, remote });
    workers.push(started);
    return started;
  }

  it('autoCleanup: false keeps each task here: a worktree of this manager on its pushed branch, found by path, list and cleanup', async () => {
    const repo = createTempRepo({ withRemote: true });
    // A local branch of issue 2 with a commit of its own: archived, never lost, before the branch moves.
    repo.git('branch', 'feature/issue-2');
    repo.git('checkout', '-q', 'feature/issue-2');
    const local = repo.commit({ 'local.txt': 'mine\n' }, 'local work');
    repo.git('checkout', '-q', 'main');
    const queueName = nextQueue();
    const only = await worker(queueName, repo.remote as string);
    const pool = await WorktreePool.create({
      repoPath: repo.path,
      merge: {},
      autoCleanup: false,
      queue: { connection: redis.url, name: queueName },
    });
    // Issue 3 commits, then fails: its branch is kept here too, as a local --keep keeps it.
    const command = ['sh', '-c', `${commitFile()[2]} && test "$MIYABI_ISSUE_NUMBER" != 3`];
    const result = await pool.executeParallel(
      [1, 2, 3].map((issueNumber) => ({ issueNumber })),
      commandExecutor(command),
    );
    expect(result.results.map((r) => [r.issueNumber, r.status, r.stage])).toEqual([
      [1, 'success', undefined],
      [2, 'success', undefined],
      [3, 'failed', 'execute'],
    ]);
    const listed = await pool.manager.listWorktrees();
    for (const r of result.results) {
      const kept = listed.find((w) => w.id === r.worktreeId);
      expect(kept, JSON.stringify(r)).toMatchObject({
        issueNumber: r.issueNumber,
        branchName: `feature/issue-${r.issueNumber}`,
        status: r.status === 'success' ? 'completed' : 'failed',
        path: r.worktreePath,
      });
      expect(r).toMatchObject({ cleanedUp: false, worker: only.name });
      // The worktree holds the commit the worker pushed, with the task's file.
      expect(git(r.worktreePath as string, 'rev-parse', 'HEAD')).toBe(r.push?.commit);
      expect(existsSync(join(r.worktreePath as string, `task-${r.issueNumber}.txt`))).toBe(true);
      expect((await pool.manager.resolveWorktree(r.issueNumber)).id).toBe(r.worktreeId);
      // Its log here says where it is kept, and `logs` finds it.
      const log = await pool.manager.logFile(r.issueNumber);
      expect(log).toMatchObject({ worktreeId: r.worktreeId, status: r.status, batchId: result.batchId });
      expect(readFileSync(log.logFile, 'utf8')).toContain(`kept here as worktree ${r.worktreeId}`);
    }
    // Issue 2's local commit is in an archive, not lost.
    const archives = repo.git('for-each-ref', '--format=%(objectname)', 'refs/miyabi/archive/');
    const archivedHeads = archives
      .split('\n')
      .filter(Boolean)
      .map((archive) => repo.git('rev-parse', `${archive}^1`));
    expect(archivedHeads).toContain(local);
    // The batch record (what report, --json and the exit code read) names the kept worktrees.
    const record = await pool.manager.batchReport({ batchId: result.batchId });
    expect(JSON.stringify(record)).toContain(result.results[0]?.worktreeId);
    // cleanup removes them as it removes a local batch's, keeping the unmerged branch of issue 3.
    const cleaned = await runCli(['cleanup', '--json'], { cwd: repo.path });
    expect(cleaned.code, cleaned.stderr).toBe(0);
    expect(await pool.manager.listWorktrees()).toEqual([]);
    expect(repo.git('rev-parse', 'feature/issue-3')).toBe(result.results[2]?.push?.commit);
  });

  it("a conflicting task is kept here (onConflict 'keep'): resolved in its worktree, `merge <issue>` lands it and settles the batch", async () => {
    const repo = createTempRepo({ withRemote: true });
    const queueName = nextQueue();
    await worker(queueName, repo.remote as string);
    const pool = await WorktreePool.create({
      repoPath: repo.path,
      merge: {},
      queue: { connection: redis.url, name: queueName },
    });
    const result = await pool.executeParallel(
      [{ issueNumber: 1 }, { issueNumber: 2 }],
      commandExecutor(commitFile(true)),
    );
    const conflicted = result.results.find((r) => r.status !== 'success');
    const merged = result.results.find((r) => r.status === 'success');
    expect(conflicted, JSON.stringify(result.results)).toMatchObject({
      status: 'failed',
      stage: 'merge',
      error: { code: 'MERGE_CONFLICT' },
      cleanedUp: false,
    });
    // The merged task was not kept: autoCleanup is on.
    const listed = await pool.manager.listWorktrees();
    expect(listed.map((w) => [w.issueNumber, w.status])).toEqual([[conflicted?.issueNumber, 'failed']]);
    expect(merged?.cleanedUp).toBe(true);
    const path = conflicted?.worktreePath as string;
    expect(listed[0]?.path).toBe(path);
    // The user resolves it there, as after a local batch, and merges it with the CLI.
    const shown = await runCli(['path', String(conflicted?.issueNumber)], { cwd: repo.path });
    expect(shown.stdout.trim()).toBe(path);
    git(path, 'merge', '-q', 'main', '-m', 'merge main', '--strategy-option', 'ours');
    writeFileSync(join(path, 'same.txt'), 'both\n');
    git(path, 'commit', '-qam', 'resolved');
    const landed = await runCli(['merge', String(conflicted?.issueNumber)], { cwd: repo.path });
    expect(landed.code, landed.stderr).toBe(0);
    expect(repo.git('show', 'main:same.txt')).toBe('both');
    // The batch record says the task succeeded later, by that merge: report, --json and HTML read it.
    const record = await readBatchRecord(pool.manager.stateDir, result.batchId);
    const settled = record?.results.find((r) => r.issueNumber === conflicted?.issueNumber);
    expect(settled).toMatchObject({ status: 'success', settledLater: { by: 'merge' } });
  });

  it('onConflict { resolve } hands a conflict back as a job: a worker resolves it on the task branch with the target merged in, and it lands here', async () => {
    const repo = createTempRepo({ withRemote: true });
    const queueName = nextQueue();
    const only = await worker(queueName, repo.remote as string);
    const pool = await WorktreePool.create({
      repoPath: repo.path,
      merge: {},
      onConflict: {
        // The resolver is told the conflicting paths, resolves them and commits (concluding the merge).
        resolve: commandExecutor([
          'sh',
          '-c',
          'test "$(cat "$MIYABI_CONFLICTS")" = same.txt && echo both > same.txt && git add -A && git commit -qm resolved',
        ]),
      },
      queue: { connection: redis.url, name: queueName },
    });
    const result = await pool.executeParallel(
      [{ issueNumber: 1 }, { issueNumber: 2 }],
      commandExecutor(commitFile(true)),
    );
    expect(
      result.results.map((r) => r.status),
      JSON.stringify(result.results.map((r) => r.error)),
    ).toEqual(['success', 'success']);
    const handedBack = result.results.find((r) => r.resolveAttempts !== undefined);
    expect(handedBack?.resolveAttempts).toMatchObject([
      { attempt: 1, conflicts: ['same.txt'], outcome: 'resolved' },
    ]);
    expect(handedBack).toMatchObject({
      worker: only.name,
      merge: { status: expect.stringMatching(/merged|fast-forwarded/) },
    });
    // The resolution landed on main and on the remote; the resolved branch is on the remote too.
    expect(repo.git('show', 'main:same.txt')).toBe('both');
    expect(git(repo.remote as string, 'rev-parse', 'main')).toBe(repo.git('rev-parse', 'main'));
    const branch = `feature/issue-${handedBack?.issueNumber}`;
    expect(git(repo.remote as string, 'rev-parse', branch)).toBe(handedBack?.push?.commit);
    expect(result.conflicts).toEqual({ met: 1, resolved: 1 });
    // Nothing kept here, nothing left on the worker.
    expect(await pool.manager.listWorktrees()).toEqual([]);
  });

  it('a hand-back the resolver cannot settle keeps the task here, at the branch as its agent left it', async () => {
    const repo = createTempRepo({ withRemote: true });
    const queueName = nextQueue();
    const clone = join(tempDir(), 'clone');
    await worker(queueName, repo.remote as string, clone);
    const pool = await WorktreePool.create({
      repoPath: repo.path,
      merge: {},
      onConflict: { resolve: commandExecutor(['sh', '-c', 'exit 4']), attempts: 2 },
      queue: { connection: redis.url, name: queueName },
    });
    const result = await pool.executeParallel(
      [{ issueNumber: 1 }, { issueNumber: 2 }],
      commandExecutor(commitFile(true)),
    );
    const failed = result.results.find((r) => r.status !== 'success');
    expect(failed, JSON.stringify(result.results)).toMatchObject({
      status: 'failed',
      stage: 'merge',
      cleanedUp: false,
    });
    expect(failed?.resolveAttempts?.map((a) => a.outcome)).toEqual(['failed', 'failed']);
    const kept = await pool.manager.listWorktrees();
    expect(kept.map((w) => [w.issueNumber, w.status, w.id])).toEqual([
      [failed?.issueNumber, 'failed', failed?.worktreeId],
    ]);
    expect(git(kept[0]?.path as string, 'rev-parse', 'HEAD')).toBe(
      git(repo.remote as string, 'rev-parse', `feature/issue-${failed?.issueNumber}`),
    );
    // The worker kept nothing of the hand-back: only its idle worktrees, ready for the next job.
    const onWorker = await (await WorktreeManager.open({ repoPath: clone })).listWorktrees();
    expect(onWorker.filter((w) => w.status !== 'idle')).toEqual([]);
    expect(git(clone, 'branch', '--list', 'miyabi-target/*')).toBe('');
  });

  it('run --queue --merge --on-conflict agent: the agent resolves its own conflict on a worker, told the paths in $MIYABI_CONFLICTS', async () => {
    const repo = createTempRepo({ withRemote: true });
    const queueName = nextQueue();
    await worker(queueName, repo.remote as string);
    // One command for both: a task run writes its issue; a hand-back (MIYABI_CONFLICTS set) resolves.
    const agent =
      'if [ -n "$MIYABI_CONFLICTS" ]; then echo both > same.txt; else echo "$MIYABI_ISSUE_NUMBER" > same.txt; fi; git add -A && git commit -qm "t $MIYABI_ISSUE_NUMBER"';
    const ran = await runCli(
      [
        'run',
        '--queue',
        redis.url,
        '--queue-name',
        queueName,
        '--issues',
        '1,2',
        '--merge',
        '--on-conflict',
        'agent',
        '--json',
        '--',
        'sh',
        '-c',
        agent,
      ],
      { cwd: repo.path },
    );
    expect(ran.code, ran.stderr).toBe(0);
    expect(repo.git('show', 'main:same.txt')).toBe('both');
    expect(git(repo.remote as string, 'rev-parse', 'main')).toBe(repo.git('rev-parse', 'main'));
  });

  it("onConflict 'remove' keeps nothing here: the conflicting branch stays on the remote only", async () => {
    const repo = createTempRepo({ withRemote: true });
    const queueName = nextQueue();
    await worker(queueName, repo.remote as string);
    const pool = await WorktreePool.create({
      repoPath: repo.path,
      merge: {},
      onConflict: 'remove',
      queue: { connection: redis.url, name: queueName },
    });
    const result = await pool.executeParallel(
      [{ issueNumber: 1 }, { issueNumber: 2 }],
      commandExecutor(commitFile(true)),
    );
    const conflicted = result.results.find((r) => r.status !== 'success');
    expect(conflicted).toMatchObject({ error: { code: 'MERGE_CONFLICT' } });
    expect(await pool.manager.listWorktrees()).toEqual([]);
    expect(repo.git('branch', '--list', 'feature/*')).toBe('');
    expect(git(repo.remote as string, 'rev-parse', `feature/issue-${conflicted?.issueNumber}`)).toBe(
      conflicted?.push?.commit,
    );
  });

  it('pullRequest opens a pull request here for each successful task, from the branch its worker pushed', async () => {
    const repo = createTempRepo({ withRemote: true });
    const queueName = nextQueue();
    await worker(queueName, repo.remote as string);
    const token = 'ghp_queueKeepTOKEN0123456789abcdef';
    github = await startFakeGitHub({ token });
    const client = await createGitHubClient({ token, baseUrl: github.url, pacing: 'off' });
    const pool = await WorktreePool.create({
      repoPath: repo.path,
      push: {},
      pullRequest: { repo: 'octo/hello', client },
      queue: { connection: redis.url, name: queueName },
    });
    const context = {
      title: 'Fix the thing',
      body: 'b',
      url: 'https://github.example/octo/hello/issues/4',
      labels: [],
    };
    const result = await pool.executeParallel(
      [{ issueNumber: 4, context }, { issueNumber: 5 }],
      commandExecutor(['sh', '-c', 'if [ "$MIYABI_ISSUE_NUMBER" = 5 ]; then exit 3; fi; ' + commitFile()[2]]),
    );
    expect(result.results.map((r) => [r.issueNumber, r.status, r.stage])).toEqual([
      [4, 'success', undefined],
      [5, 'failed', 'execute'],
    ]);
    expect(result.results[0]?.pr).toEqual({
      url: 'https://github.example/octo/hello/pull/1',
      number: 1,
      created: true,
    });
    const created = github.requestsTo('POST', /\/pulls$/);
    expect(created).toHaveLength(1);
    expect(created[0]?.body).toMatchObject({
      head: 'octo:feature/issue-4',
      base: 'main',
      title: 'Fix the thing',
    });
    // The body lists the branch's files: the pushed commit was fetched here to describe it.
    expect(String((created[0]?.body as { body?: string } | undefined)?.body)).toContain('task-4.txt');
    // Nothing kept here: autoCleanup is on.
    expect(await pool.manager.listWorktrees()).toEqual([]);
  });

  it('run --queue --keep: the CLI lists the kept task, path prints it, and cleanup removes it', async () => {
    const repo = createTempRepo({ withRemote: true });
    const queueName = nextQueue();
    await worker(queueName, repo.remote as string);
    const ran = await runCli(
      [
        'run',
        '--queue',
        redis.url,
        '--queue-name',
        queueName,
        '--issues',
        '3',
        '--keep',
        '--json',
        '--',
        ...commitFile(),
      ],
      { cwd: repo.path },
    );
    expect(ran.code, ran.stderr).toBe(0);
    const path = (await runCli(['path', '3'], { cwd: repo.path })).stdout.trim();
    expect(readFileSync(join(path, 'task-3.txt'), 'utf8')).toBe('issue 3\n');
    const listed = await runCli(['list', '--json'], { cwd: repo.path });
    expect(listed.stdout).toContain('"completed"');
    expect(listed.stdout).toContain('feature/issue-3');
    const cleaned = await runCli(['cleanup'], { cwd: repo.path });
    expect(cleaned.code, cleaned.stderr).toBe(0);
    // Its branch is not merged anywhere here, so cleanup keeps the branch: the work is never lost.
    expect(repo.git('rev-parse', 'feature/issue-3')).toBe(
      git(repo.remote as string, 'rev-parse', 'feature/issue-3'),
    );
  });
});

describe('hand-back job payloads', () => {
  const job = {
    v: 2,
    batchId: 'b',
    remote: '/nowhere',
    baseSha: 'a'.repeat(40),
    baseBranch: 'main',
    issueNumber: 1,
    branchName: 'feature/issue-1',
    argv: ['resolve'],
    timeoutMs: 1000,
  };
  const handBack = { branchCommit: 'b'.repeat(40), targetSha: 'c'.repeat(40), into: 'main', attempts: 1 };

  it('a hand-back travels in a job of the current version, and the worker reads it', () => {
    expect(parseQueueJob({ ...job, v: 3, handBack }).handBack).toEqual(handBack);
    expect(() => parseQueueJob({ ...job, v: 3, handBack: { ...handBack, attempts: 0 } })).toThrow(
      expect.objectContaining({ code: 'QUEUE_PAYLOAD' }),
    );
  });
});
