import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createGitHubClient } from '../src/github/client.js';
import { commandExecutor, isMiyabiError, WorktreePool } from '../src/index.js';
import { type FakeGitHub, startFakeGitHub } from './helpers/fake-github.js';
import { createTempRepo, GIT_TEST_ENV, git, type TempRepo } from './helpers/temp-repo.js';

const TOKEN = 'ghp_landTOKEN0123456789abcdefSECRET';
let server: FakeGitHub | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

// Passes while no file holds the word "broken".
const CHECK = [
  process.execPath,
  '-e',
  "process.exit(require('child_process').execSync('git grep -c broken || true').toString().trim() ? 1 : 0)",
];

/** An executor that commits one file, `broken` for the issues listed. */
function agent(broken: readonly number[] = []) {
  return async (worktree: { path: string; issueNumber: number }) => {
    writeFileSync(
      join(worktree.path, `note-${worktree.issueNumber}.md`),
      broken.includes(worktree.issueNumber) ? 'broken\n' : 'fine\n',
    );
    const run = (...args: string[]) =>
      execFileSync('git', args, { cwd: worktree.path, env: { ...process.env, ...GIT_TEST_ENV } });
    run('add', '-A');
    run('commit', '-q', '-m', `note ${worktree.issueNumber}`);
    return { lastLines: 'done' };
  };
}

function remoteMain(repo: TempRepo): string {
  return git(repo.remote as string, 'rev-parse', 'refs/heads/main');
}

describe('landing with push, pull requests and the queue', () => {
  it('with merge and push, the landed target is pushed (a fast-forward); a red candidate pushes nothing', async () => {
    const repo = createTempRepo({ withRemote: true });
    const before = remoteMain(repo);
    const config = git(repo.path, 'config', '--get-regexp', '^branch\\.main\\.').valueOf();
    const pool = await WorktreePool.create({
      repoPath: repo.path,
      maxConcurrency: 2,
      merge: {},
      push: {},
      check: CHECK,
    });
    const result = await pool.executeParallel([{ issueNumber: 1 }, { issueNumber: 2 }], agent([2]));
    const [good, red] = result.results;
    expect(good).toMatchObject({ status: 'success', push: expect.anything() });
    expect(red).toMatchObject({ status: 'failed', stage: 'check', error: { code: 'CHECK_FAILED' } });
    expect(red?.push).toBeUndefined();
    const main = git(repo.path, 'rev-parse', 'main');
    expect(main).toBe(good?.landing?.checkedCommit);
    expect(remoteMain(repo)).toBe(main);
    expect(remoteMain(repo)).not.toBe(before);
    // main's configuration is the user's: the landing's push wrote nothing there.
    expect(git(repo.path, 'config', '--get-regexp', '^branch\\.main\\.')).toBe(config);
  });

  it('with a pull request, the check runs on the candidate first, moves no branch, and its verdict is in the body', async () => {
    const repo = createTempRepo({ withRemote: true });
    const main = git(repo.path, 'rev-parse', 'main');
    server = await startFakeGitHub({ token: TOKEN });
    const client = await createGitHubClient({ token: TOKEN, baseUrl: server.url, pacing: 'off' });
    const pool = await WorktreePool.create({
      repoPath: repo.path,
      maxConcurrency: 2,
      push: {},
      pullRequest: { repo: 'octo/hello', client },
      check: CHECK,
    });
    const result = await pool.executeParallel([{ issueNumber: 5 }, { issueNumber: 6 }], agent([6]));
    const [green, red] = result.results;
    expect(green).toMatchObject({ status: 'success', pr: { number: 1 } });
    expect(green?.landing?.checkedCommit).toMatch(/^[0-9a-f]{40}$/);
    expect(red).toMatchObject({ status: 'failed', stage: 'check', error: { code: 'CHECK_FAILED' } });
    expect(red?.pr).toBeUndefined();
    expect(server.requestsTo('POST', /\/pulls$/)).toHaveLength(1);
    const body = String(
      (server.requestsTo('POST', /\/pulls$/)[0]?.body as { body?: string } | undefined)?.body,
    );
    expect(body).toMatch(/- Check `.+`: passed on this branch merged onto `main` \([0-9a-f]{12}\)/);
    expect(git(repo.path, 'rev-parse', 'main')).toBe(main);
  });

  it('with queue, check is honoured; a fix that is a function (not a command) is refused before anything connects', async () => {
    const repo = createTempRepo({ withRemote: true });
    const queue = { connection: 'redis://127.0.0.1:1', name: 'never-used' };
    const pool = await WorktreePool.create({ repoPath: repo.path, merge: {}, check: CHECK, queue });
    expect(pool.config.check?.command).toEqual(CHECK);
    const refused = await WorktreePool.create({
      repoPath: repo.path,
      merge: {},
      check: CHECK,
      onCheckFail: { fix: async () => undefined },
      queue,
    }).catch((error: unknown) => error);
    expect(isMiyabiError(refused, 'INVALID_ARGUMENT')).toBe(true);
    expect((refused as Error).message).toBe(
      'onCheckFail: a pool with queue hands failing checks back to workers as commands, not functions',
    );
    const command = await WorktreePool.create({
      repoPath: repo.path,
      merge: {},
      check: CHECK,
      onCheckFail: { fix: commandExecutor(['true']), attempts: 2 },
      queue,
    });
    expect(command.config.onCheckFail).toMatchObject({ attempts: 2 });
  });
});
