import { execFileSync } from 'node:child_process';
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createGitHubClient } from '../src/github/client.js';
import type { WorktreeTask } from '../src/pool/types.js';
import { WorktreePool } from '../src/pool/worktree-pool.js';
import { type FakeGitHub, startFakeGitHub } from './helpers/fake-github.js';
import { createTempRepo, GIT_TEST_ENV, tempDir } from './helpers/temp-repo.js';

const TOKEN = 'ghp_poolTOKEN0123456789abcdefSECRET';
let server: FakeGitHub | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** An executor that commits one file named after the issue, as an agent would. */
async function commitNote(worktree: { path: string; issueNumber: number }) {
  writeFileSync(join(worktree.path, `note-${worktree.issueNumber}.md`), 'done\n');
  const git = (...args: string[]) =>
    execFileSync('git', args, {
      cwd: worktree.path,
      env: { ...process.env, ...GIT_TEST_ENV },
      stdio: 'pipe',
    });
  git('add', '-A');
  git('commit', '-q', '-m', `Note for ${worktree.issueNumber}`);
  return { lastLines: 'all done' };
}

function task(issueNumber: number, title: string): WorktreeTask {
  return {
    issueNumber,
    description: title,
    context: { title, body: 'b', url: `https://github.example/octo/hello/issues/${issueNumber}`, labels: [] },
  };
}

describe('pool pull requests', () => {
  it('opens a pull request per pushed task, and a refused one fails only its task at stage pr', async () => {
    const repo = createTempRepo({ withRemote: true });
    server = await startFakeGitHub({ token: TOKEN });
    server.answer({
      method: 'POST',
      path: /\/pulls$/,
      status: 422,
      body: {
        message: 'Validation Failed',
        errors: [{ message: 'A pull request already exists for octo:x.' }],
      },
    });
    const client = await createGitHubClient({ token: TOKEN, baseUrl: server.url, pacing: 'off' });
    const pool = await WorktreePool.create({
      repoPath: repo.path,
      maxConcurrency: 1,
      push: {},
      pullRequest: { repo: 'octo/hello', client, reviewers: ['alice'] },
    });
    const result = await pool.executeParallel([task(5, 'First'), task(6, 'Second')], commitNote);

    const [first, second] = result.results;
    expect(first).toMatchObject({ status: 'failed', stage: 'pr', error: { code: 'GITHUB_API' } });
    expect(first?.error?.message).toContain('A pull request already exists');
    expect(second).toMatchObject({
      status: 'success',
      pr: { url: 'https://github.example/octo/hello/pull/1', number: 1, created: true },
      push: expect.anything(),
    });
    // The report counts the one pull request opened, after its seven lines.
    const report = await pool.manager.telemetryReport({ batchId: result.batchId });
    expect(report.split('\n').slice(7)).toContain('- Pull requests: 1');
    const [, created] = server.requestsTo('POST', /\/pulls$/);
    expect(created?.body).toMatchObject({ head: 'octo:feature/issue-6', base: 'main', title: 'Second' });
    const body = String((created?.body as { body?: string } | undefined)?.body);
    expect(body).toMatch(/^Closes #6\n/);
    expect(body).toContain('note-6.md');
    expect(body).toContain('all done');
    expect(body).toContain('https://github.example/octo/hello/issues/6');
    expect(server.pulls[0]?.requestedReviewers).toEqual(['alice']);
    expect(result).toMatchObject({ successCount: 1, failedCount: 1, allSuccessful: false });
  });

  it('needs push, refuses merge, and finds no token before any worktree is made', async () => {
    const repo = createTempRepo({ withRemote: true });
    const pullRequest = { repo: 'octo/hello', baseUrl: 'http://127.0.0.1:9' };
    await expect(WorktreePool.create({ repoPath: repo.path, pullRequest })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('needs push'),
    });
    await expect(
      WorktreePool.create({ repoPath: repo.path, pullRequest, push: {}, merge: {} }),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('cannot go with merge'),
    });
    const saved = {
      GITHUB_TOKEN: process.env.GITHUB_TOKEN,
      GH_TOKEN: process.env.GH_TOKEN,
      PATH: process.env.PATH,
    };
    try {
      delete process.env.GITHUB_TOKEN;
      delete process.env.GH_TOKEN;
      // A PATH with git and no gh.
      const bin = tempDir();
      symlinkSync(
        execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim(),
        join(bin, 'git'),
      );
      process.env.PATH = bin;
      const pool = await WorktreePool.create({ repoPath: repo.path, pullRequest, push: {} });
      let ran = false;
      await expect(
        pool.executeParallel([task(1, 'one')], async () => {
          ran = true;
        }),
      ).rejects.toMatchObject({ code: 'GITHUB_AUTH' });
      expect(ran).toBe(false);
      expect(repo.git('worktree', 'list').split('\n')).toHaveLength(1);
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });
});
