import { execFileSync } from 'node:child_process';
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { json, runCli } from './helpers/cli-process.js';
import { type FakeGitHub, startFakeGitHub } from './helpers/fake-github.js';
import { createTempRepo, tempDir } from './helpers/temp-repo.js';

const TOKEN = 'ghp_cliTOKEN0123456789abcdefSECRET';
let server: FakeGitHub | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

// The agent: writes what it was told (argv and the issue variables) into a committed file.
const AGENT = [
  'node',
  '-e',
  `const fs = require('node:fs'), { execFileSync } = require('node:child_process');
   const n = process.env.MIYABI_ISSUE_NUMBER;
   fs.writeFileSync('told-' + n + '.json', JSON.stringify({
     argv: process.argv.slice(1),
     title: process.env.MIYABI_ISSUE_TITLE,
     fileBody: fs.readFileSync(process.env.MIYABI_ISSUE_FILE, 'utf8'),
   }));
   execFileSync('git', ['add', '-A']);
   execFileSync('git', ['commit', '-q', '-m', 'Work on ' + n]);
   console.log('finished ' + n);`,
  'Fix #{issue}: {title}',
];

function env() {
  return { GITHUB_TOKEN: TOKEN, GH_TOKEN: '' };
}

/** A PATH with git and nothing else (no gh to fall back on). */
function pathWithoutGh(): string {
  const bin = tempDir();
  symlinkSync(execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim(), join(bin, 'git'));
  return bin;
}

describe('run with GitHub', () => {
  it('takes a labelled backlog, gives each agent its issue, and opens one pull request per issue', async () => {
    const repo = createTempRepo({ withRemote: true });
    server = await startFakeGitHub({
      token: TOKEN,
      issues: [
        {
          number: 3,
          title: 'Crash when "$HOME" has `spaces`; rm -rf',
          body: 'Steps\0 to reproduce',
          labels: ['ready'],
        },
        { number: 4, title: 'Second', body: 'two', labels: ['ready'] },
        { number: 5, title: 'Not ready', labels: ['later'] },
        { number: 6, title: 'A PR', labels: ['ready'], pullRequest: true },
      ],
    });
    const args = ['--github', 'octo/hello', '--label', 'ready', '--github-api-url', server.url];

    const dry = await runCli(['run', ...args, '--dry-run', '--', 'true'], { cwd: repo.path, env: env() });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('#3  Crash when');
    expect(dry.stdout).toContain('#4  Second');
    expect(dry.stdout).toContain('skipped #6: pull-request');
    expect(repo.git('worktree', 'list').split('\n')).toHaveLength(1);

    const result = await runCli(['run', ...args, '--pr', '--json', '--', ...AGENT], {
      cwd: repo.path,
      env: env(),
    });
    expect(result.stderr).not.toContain(TOKEN);
    expect(result.stdout).not.toContain(TOKEN);
    expect(result.code).toBe(0);
    const doc = json<{
      results: {
        issueNumber: number;
        status: string;
        pr?: { url: string; number: number; created: boolean };
      }[];
      skipped: { issueNumber: number; reason: string }[];
    }>(result);
    expect(doc.skipped).toEqual([{ issueNumber: 6, reason: 'pull-request', title: 'A PR' }]);
    expect(doc.results.map((r) => [r.issueNumber, r.status, r.pr?.created])).toEqual([
      [3, 'success', true],
      [4, 'success', true],
    ]);
    // The two tasks run in parallel: their pull requests arrive in either order.
    const pulls = [...server.pulls].sort((a, b) => String(a.head).localeCompare(String(b.head)));
    expect(pulls.map((pull) => [pull.head, pull.base, pull.title])).toEqual([
      ['octo:feature/issue-3', 'main', 'Crash when "$HOME" has `spaces`; rm -rf'],
      ['octo:feature/issue-4', 'main', 'Second'],
    ]);
    expect(pulls[0]?.body).toMatch(/^Closes #3\n/);
    expect(pulls[0]?.body).toContain('told-3.json');

    // What the agent of #3 was told: the title as one argument, the body intact in the file.
    const told = JSON.parse(
      repo.git('--git-dir', repo.remote ?? '', 'show', 'feature/issue-3:told-3.json'),
    ) as {
      argv: string[];
      title: string;
      fileBody: string;
    };
    expect(told.argv).toEqual(['Fix #3: Crash when "$HOME" has `spaces`; rm -rf']);
    expect(told.title).toBe('Crash when "$HOME" has `spaces`; rm -rf');
    expect(told.fileBody).toBe('Steps\0 to reproduce');
  });

  it('refuses --pr with --merge, and a missing token, before anything starts', async () => {
    const repo = createTempRepo({ withRemote: true });
    server = await startFakeGitHub({ token: TOKEN, issues: [{ number: 1, title: 'one' }] });
    const both = await runCli(
      ['run', '--issues', '1', '--pr', '--merge', '--github-api-url', server.url, '--', 'true'],
      {
        cwd: repo.path,
        env: env(),
      },
    );
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--pr cannot be combined with --merge');

    const noToken = await runCli(
      ['run', '--github', 'octo/hello', '--issues', '1', '--github-api-url', server.url, '--', 'true'],
      {
        cwd: repo.path,
        env: { GITHUB_TOKEN: '', GH_TOKEN: '', PATH: pathWithoutGh() },
      },
    );
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/error \[GITHUB_AUTH\].*gh auth login/);
    expect(server.requests).toHaveLength(0);

    const unknown = await runCli(
      ['run', '--github', 'octo/nope', '--issues', '1', '--github-api-url', server.url, '--', 'true'],
      {
        cwd: repo.path,
        env: env(),
      },
    );
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('[GITHUB_NOT_FOUND] repository octo/nope not found on GitHub');
    expect(repo.git('worktree', 'list').split('\n')).toHaveLength(1);
  });

  it('pr pushes a kept worktree and opens its pull request once, then updates it', async () => {
    const repo = createTempRepo({ withRemote: true });
    server = await startFakeGitHub({ token: TOKEN, issues: [{ number: 7, title: 'Seven', body: 'b' }] });
    const created = await runCli(['create', '7', '--json'], { cwd: repo.path, env: env() });
    const worktree = json<{ path: string }>(created);
    writeFileSync(join(worktree.path, 'seven.txt'), '7\n');
    execFileSync('git', ['add', '-A'], { cwd: worktree.path });
    execFileSync('git', ['commit', '-q', '-m', 'Seven'], { cwd: worktree.path });

    const args = ['pr', '7', '--github', 'octo/hello', '--github-api-url', server.url, '--json'];
    const first = await runCli(args, { cwd: repo.path, env: env() });
    expect(first.stderr).toBe('');
    expect(json(first)).toEqual({
      url: 'https://github.example/octo/hello/pull/8',
      number: 8,
      created: true,
    });
    const second = await runCli(args, { cwd: repo.path, env: env() });
    expect(json(second)).toMatchObject({ number: 8, created: false });
    expect(server.pulls).toHaveLength(1);
    expect(server.pulls[0]).toMatchObject({ title: 'Seven', head: 'octo:feature/issue-7', base: 'main' });
    expect(server.pulls[0]?.body).toContain('seven.txt');
    expect(repo.git('--git-dir', repo.remote ?? '', 'log', '-1', '--format=%s', 'feature/issue-7')).toBe(
      'Seven',
    );
  });
});
