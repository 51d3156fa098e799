import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type PoolExecutionResult, WorktreeManager } from '../src/index.js';
import { type CliProcess, eventually, json, saidOnStderr, startCli } from './helpers/cli-process.js';
import { requireBinary } from './helpers/external-binary.js';
import { type FakeGitHub, startFakeGitHub } from './helpers/fake-github.js';
import { queueTestBed } from './helpers/queue-bed.js';
import { createTempRepo, git, tempDir } from './helpers/temp-repo.js';

const redisServer = requireBinary('redis-server', 'the queue --pr resume test');
const TOKEN = 'ghp_queuePrTOKEN0123456789abcdefSECRET';

describe.skipIf(!redisServer)('run --resume of a --pr queue batch', () => {
  const { redis, processes } = queueTestBed(redisServer);
  let server: FakeGitHub | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  function cli(cwd: string, args: string[], env: Record<string, string> = {}): CliProcess {
    const proc = startCli(args, { cwd, env });
    processes.push(proc);
    return proc;
  }

  it('kill -9 of the submitter after one pull request was opened: the resume opens each exactly once', async () => {
    const repo = createTempRepo({ withRemote: true });
    const remote = repo.remote as string;
    const marks = tempDir();
    server = await startFakeGitHub({
      token: TOKEN,
      issues: [
        { number: 1, title: 'First', labels: ['ready'] },
        { number: 2, title: 'Second', labels: ['ready'] },
      ],
    });
    const env = { GITHUB_TOKEN: TOKEN, GH_TOKEN: '' };
    const worker = cli(tempDir(), [
      'worker',
      '--queue',
      redis.url,
      '--queue-name',
      'pr1',
      '--repo',
      join(tempDir(), 'clone'),
      '--remote',
      remote,
      '--concurrency',
      '2',
    ]);
    await saidOnStderr(worker, /waiting for jobs/);
    // Issue 1 commits at once; issue 2 waits for the test's go, given once the submitter is dead.
    const command = [
      'sh',
      '-c',
      `if [ "$MIYABI_ISSUE_NUMBER" = 2 ]; then while [ ! -e "${marks}/go" ]; do sleep 0.05; done; fi; ` +
        'echo "issue $MIYABI_ISSUE_NUMBER" > "task-$MIYABI_ISSUE_NUMBER.txt" && git add -A && git commit -qm "task $MIYABI_ISSUE_NUMBER"',
    ];
    const submitter = cli(
      repo.path,
      [
        'run',
        '--queue',
        redis.url,
        '--queue-name',
        'pr1',
        '--github',
        'octo/hello',
        '--label',
        'ready',
        '--github-api-url',
        server.url,
        '--pr',
        '--concurrency',
        '2',
        '--json',
        '--',
        ...command,
      ],
      env,
    );
    const opened = () => server?.requestsTo('POST', /\/pulls$/) ?? [];
    // Issue 1's pull request is opened but its answer never comes: the batch record cannot hold it.
    const answerAgain = server.withhold('POST', /\/pulls$/);
    // Synchronised on the server: issue 1's pull request was opened, then the submitter dies.
    expect(await eventually(() => opened().length === 1, 60_000)).toBe(true);
    submitter.child.kill('SIGKILL');
    await submitter.done;
    answerAgain();
    // Within the dead submitter's lease, a new batch of its issue is told to resume that one.
    const batchId = (await WorktreeManager.open({ repoPath: repo.path }).then((m) => m.listBatches()))[0]?.id;
    const rerun = await cli(repo.path, [
      'run',
      '--queue',
      redis.url,
      '--queue-name',
      'pr1',
      '--issues',
      '1',
      '--',
      'true',
    ]).done;
    expect(rerun.code, rerun.stderr).toBe(2);
    expect(rerun.stderr).toContain('[ISSUE_BUSY]');
    expect(rerun.stderr).toContain(`'miyabi-worktree run --resume ${batchId}'`);
    await writeFile(join(marks, 'go'), '');
    await saidOnStderr(worker, /#2 success/);

    const resumed = await cli(repo.path, ['run', '--resume', '--json'], env).done;
    expect(resumed.code, resumed.stderr).toBe(0);
    // Both jobs finished meanwhile: collected, said apart; the start line counts nothing sent.
    expect(resumed.stderr).toContain('Collecting #1, #2 (finished on the workers): not sent again');
    expect(resumed.stderr).toMatch(/Sending .* for 0 issues to the workers of queue pr1/);
    const result = json<PoolExecutionResult>(resumed);
    const first = server.pulls[0]?.number;
    // Issue 1's result never reached the record: collected again, its pull request updated, not opened.
    expect(
      result.results.map((task) => [task.issueNumber, task.status, task.pr?.number, task.pr?.created]),
    ).toEqual([
      [1, 'success', first, false],
      [2, 'success', server.pulls[1]?.number, true],
    ]);
    // Each pull request opened exactly once (issue 1's is updated at most, never opened again).
    expect(opened().map((request) => (request.body as { head: string }).head)).toEqual([
      'octo:feature/issue-1',
      'octo:feature/issue-2',
    ]);
    expect(server.pulls.map((pull) => pull.head)).toEqual(['octo:feature/issue-1', 'octo:feature/issue-2']);
    for (const issue of [1, 2])
      expect(git(remote, 'show', `feature/issue-${issue}:task-${issue}.txt`)).toBe(`issue ${issue}`);
  }, 180_000);
});
