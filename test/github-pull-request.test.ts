import { afterEach, describe, expect, it } from 'vitest';
import { branchSummary } from '../src/git/branch-summary.js';
import { createGitHubClient } from '../src/github/client.js';
import { prBody } from '../src/github/pr-body.js';
import { openOrUpdatePullRequest } from '../src/github/pull-request.js';
import { type FakeGitHub, startFakeGitHub } from './helpers/fake-github.js';
import { createTempRepo } from './helpers/temp-repo.js';

const TOKEN = 'ghp_prTOKEN0123456789abcdefSECRET';
let server: FakeGitHub | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function setup() {
  server = await startFakeGitHub({ token: TOKEN });
  const client = await createGitHubClient({ token: TOKEN, baseUrl: server.url, pacing: 'off' });
  return { fake: server, client };
}

describe('openOrUpdatePullRequest', () => {
  it('creates a pull request once and updates the same one on a rerun', async () => {
    const { fake, client } = await setup();
    const options = {
      repo: 'octo/hello',
      head: 'feature/issue-12',
      base: 'main',
      title: 'Fix the crash',
      body: 'first body',
      reviewers: ['alice'],
      labels: ['automated'],
      draft: true,
      client,
    };
    const first = await openOrUpdatePullRequest(options);
    expect(first).toEqual({ url: 'https://github.example/octo/hello/pull/1', number: 1, created: true });
    expect(fake.requestsTo('GET', /\/pulls$/)[0]?.query).toMatchObject({
      head: 'octo:feature/issue-12',
      state: 'open',
    });
    expect(fake.requestsTo('POST', /\/pulls$/)[0]?.body).toMatchObject({
      head: 'octo:feature/issue-12',
      base: 'main',
      title: 'Fix the crash',
      draft: true,
    });
    expect(fake.pulls[0]).toMatchObject({
      requestedReviewers: ['alice'],
      labels: ['automated'],
      draft: true,
    });

    const second = await openOrUpdatePullRequest({
      ...options,
      title: 'Fix the crash (v2)',
      body: 'second body',
    });
    expect(second).toEqual({ url: first.url, number: 1, created: false });
    expect(fake.pulls).toHaveLength(1);
    expect(fake.pulls[0]).toMatchObject({ title: 'Fix the crash (v2)', body: 'second body' });
    expect(fake.requestsTo('POST', /\/pulls$/)).toHaveLength(1);
    expect(fake.requestsTo('PATCH', /\/pulls\/1$/)).toHaveLength(1);
    expect(fake.requestsTo('POST', /\/requested_reviewers$/)).toHaveLength(2);
  });

  it("fails with GITHUB_API and GitHub's own message when GitHub refuses the pull request", async () => {
    const { fake, client } = await setup();
    fake.answer({
      method: 'POST',
      path: /\/pulls$/,
      status: 422,
      body: {
        message: 'Validation Failed',
        errors: [
          { resource: 'PullRequest', code: 'custom', message: 'No commits between main and feature/issue-3' },
        ],
      },
    });
    const error = await openOrUpdatePullRequest({
      repo: 'octo/hello',
      head: 'feature/issue-3',
      base: 'main',
      title: 't',
      body: 'b',
      client,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'GITHUB_API' });
    expect((error as Error).message).toContain(
      'Validation Failed: No commits between main and feature/issue-3',
    );
  });

  it('names the pull request when it exists but a review request fails', async () => {
    const { fake, client } = await setup();
    fake.answer({
      method: 'POST',
      path: /\/requested_reviewers$/,
      status: 422,
      body: { message: 'Reviews may only be requested from collaborators.' },
    });
    const error = await openOrUpdatePullRequest({
      repo: 'octo/hello',
      head: 'feature/issue-4',
      base: 'main',
      title: 't',
      body: 'b',
      reviewers: ['stranger'],
      client,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'GITHUB_API',
      details: { url: 'https://github.example/octo/hello/pull/1', number: 1, created: true },
    });
    expect((error as Error).message).toContain('Reviews may only be requested from collaborators.');
  });

  it('refuses a repository that does not exist with GITHUB_NOT_FOUND', async () => {
    const { client } = await setup();
    await expect(
      openOrUpdatePullRequest({
        repo: 'octo/missing',
        head: 'b',
        base: 'main',
        title: 't',
        body: 'b',
        client,
      }),
    ).rejects.toMatchObject({ code: 'GITHUB_NOT_FOUND' });
  });
});

describe('prBody', () => {
  it('closes the issue, summarises the branch and the run, and links back to the issue', async () => {
    const repo = createTempRepo();
    repo.git('checkout', '-q', '-b', 'feature/issue-12');
    const first = repo.commit({ 'src/a.ts': 'a\n', 'README.md': 'changed\n' }, 'Fix the crash');
    repo.commit({ 'odd `name`.txt': 'x\n' }, 'Add a test');
    const summary = await branchSummary({ cwd: repo.path, base: 'main', head: 'feature/issue-12' });
    expect(summary.commits.map((commit) => commit.subject)).toEqual(['Fix the crash', 'Add a test']);
    expect(summary.commits[0]?.sha).toBe(first);
    expect(summary.filesChanged.sort()).toEqual(['README.md', 'odd `name`.txt', 'src/a.ts']);

    const body = prBody({
      issueNumber: 12,
      issueUrl: 'https://github.example/octo/hello/issues/12',
      issueTitle: 'It crashes',
      ...summary,
      durationMs: 65_000,
      lastLines: ['all good', 'output with ``` fence'],
    });
    expect(body.startsWith('Closes #12\n')).toBe(true);
    expect(body).toContain('- Commits: 2');
    expect(body).toContain('- Files changed: 3');
    expect(body).toContain('- Duration: 1m 05s');
    expect(body).toContain(`- ${first.slice(0, 7)} Fix the crash`);
    expect(body).toContain('- ``odd `name`.txt``');
    // The output's own ``` cannot close the block it is quoted in.
    expect(body).toContain('````text\nall good\noutput with ``` fence\n````');
    expect(body).toContain('Issue: [#12](https://github.example/octo/hello/issues/12) (It crashes)');
  });
});
