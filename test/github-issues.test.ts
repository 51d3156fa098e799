import { afterEach, describe, expect, it } from 'vitest';
import { MiyabiError } from '../src/errors.js';
import { createGitHubClient } from '../src/github/client.js';
import { issuesFromGitHub } from '../src/github/issues.js';
import type { Logger } from '../src/log.js';
import { type FakeGitHub, type FakeIssue, startFakeGitHub } from './helpers/fake-github.js';

const TOKEN = 'ghp_testTOKEN0123456789abcdefSECRET';
let server: FakeGitHub | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(issues: FakeIssue[], milestones: { number: number; title: string }[] = []) {
  server = await startFakeGitHub({ token: TOKEN, issues, milestones });
  return server;
}

/** A client for the fake server; unpaced, since GitHub's spacing of writes is not what is tested. */
function client(fake: FakeGitHub, logger?: Logger) {
  return createGitHubClient({ token: TOKEN, baseUrl: fake.url, pacing: 'off', logger });
}

describe('issuesFromGitHub', () => {
  it('follows the Link header across three pages and gives each task its issue text', async () => {
    const issues: FakeIssue[] = Array.from({ length: 250 }, (_, i) => ({
      number: i + 1,
      title: `Issue ${i + 1}`,
      body: `Body of ${i + 1}`,
      labels: ['bug'],
    }));
    const fake = await start([...issues, { number: 251, title: 'not a bug', labels: ['docs'] }]);
    const result = await issuesFromGitHub({
      repo: 'octo/hello',
      labels: ['bug'],
      client: await client(fake),
    });

    expect(result.tasks).toHaveLength(250);
    expect(result.tasks.map((task) => task.issueNumber)).toEqual(issues.map((issue) => issue.number));
    expect(result.tasks[41]).toMatchObject({
      issueNumber: 42,
      description: 'Issue 42',
      context: {
        title: 'Issue 42',
        body: 'Body of 42',
        url: 'https://github.example/octo/hello/issues/42',
        labels: ['bug'],
      },
    });
    const pages = fake.requestsTo('GET', /\/issues$/).map((request) => request.query.page ?? '1');
    expect(pages).toEqual(['1', '2', '3']);
    expect(fake.requestsTo('GET', /\/issues$/)[0]?.query).toMatchObject({ labels: 'bug', state: 'open' });
  });

  it('skips closed issues, pull requests and missing numbers unless asked, in the order given', async () => {
    const fake = await start([
      { number: 1, title: 'open one' },
      { number: 2, title: 'closed one', state: 'closed' },
      { number: 3, title: 'a pull request', pullRequest: true },
      { number: 4, title: 'another open one' },
    ]);
    const github = await client(fake);
    const result = await issuesFromGitHub({
      repo: 'octo/hello',
      issues: [4, 2, 3, 999, 1, 4],
      client: github,
    });
    expect(result.tasks.map((task) => task.issueNumber)).toEqual([4, 1]);
    expect(result.skipped).toEqual([
      { issueNumber: 2, reason: 'closed', title: 'closed one' },
      { issueNumber: 3, reason: 'pull-request', title: 'a pull request' },
      { issueNumber: 999, reason: 'not-found' },
    ]);

    const all = await issuesFromGitHub({
      repo: 'octo/hello',
      issues: [2, 3],
      includeClosed: true,
      includePullRequests: true,
      client: github,
    });
    expect(all.tasks.map((task) => task.issueNumber)).toEqual([2, 3]);
    expect(all.skipped).toEqual([]);
  });

  it('lists pull requests among labelled issues as skipped, and takes a milestone by its title', async () => {
    const fake = await start(
      [
        { number: 1, title: 'in v1', milestone: 7 },
        { number: 2, title: 'in v2', milestone: 8 },
        { number: 3, title: 'pr in v1', milestone: 7, pullRequest: true },
      ],
      [
        { number: 7, title: 'v1.0' },
        { number: 8, title: 'v2.0' },
      ],
    );
    const result = await issuesFromGitHub({
      repo: 'octo/hello',
      milestone: 'v1.0',
      client: await client(fake),
    });
    expect(result.tasks.map((task) => task.issueNumber)).toEqual([1]);
    expect(result.skipped).toEqual([{ issueNumber: 3, reason: 'pull-request', title: 'pr in v1' }]);
    expect(fake.requestsTo('GET', /\/issues$/)[0]?.query.milestone).toBe('7');

    await expect(
      issuesFromGitHub({ repo: 'octo/hello', milestone: 'v9', client: await client(fake) }),
    ).rejects.toMatchObject({ code: 'GITHUB_NOT_FOUND' });
  });

  it('searches with --query scoped to the repository and to open issues', async () => {
    const fake = await start([
      { number: 1, title: 'crash on start', labels: ['bug'] },
      { number: 2, title: 'crash on exit', state: 'closed' },
      { number: 3, title: 'typo in docs' },
    ]);
    const result = await issuesFromGitHub({ repo: 'octo/hello', query: 'crash', client: await client(fake) });
    expect(result.tasks.map((task) => task.issueNumber)).toEqual([1]);
    const [search] = fake.requestsTo('GET', /^\/search\/issues$/);
    expect(search?.query.q).toBe('repo:octo/hello crash is:open');

    const closedToo = await issuesFromGitHub({
      repo: 'octo/hello',
      query: 'crash',
      includeClosed: true,
      client: await client(fake),
    });
    expect(closedToo.tasks.map((task) => task.issueNumber)).toEqual([1, 2]);
  });

  it('marks explicit numbers outside the filters as not matching', async () => {
    const fake = await start([
      { number: 1, title: 'bug', labels: ['bug'] },
      { number: 2, title: 'docs', labels: ['docs'] },
    ]);
    const result = await issuesFromGitHub({
      repo: 'octo/hello',
      issues: [1, 2],
      labels: ['bug'],
      client: await client(fake),
    });
    expect(result.tasks.map((task) => task.issueNumber)).toEqual([1]);
    expect(result.skipped).toEqual([{ issueNumber: 2, reason: 'not-matching', title: 'docs' }]);
  });

  it('waits as long as a 403 secondary rate limit says in retry-after, then retries', async () => {
    const fake = await start([{ number: 1, title: 'one', labels: ['bug'] }]);
    fake.answer({
      method: 'GET',
      path: /\/issues$/,
      status: 403,
      headers: { 'retry-after': '1' },
      body: {
        message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
      },
    });
    const lines: string[] = [];
    const logger = recordingLogger(lines);
    const result = await issuesFromGitHub({
      repo: 'octo/hello',
      labels: ['bug'],
      client: await client(fake, logger),
    });
    expect(result.tasks.map((task) => task.issueNumber)).toEqual([1]);
    const [refused, retried] = fake.requestsTo('GET', /\/issues$/);
    expect(refused && retried).toBeTruthy();
    expect((retried?.at ?? 0) - (refused?.at ?? 0)).toBeGreaterThanOrEqual(950);
    expect(lines.join('\n')).toMatch(/secondary rate limit hit: waiting 1 s/);
  });

  it('gives up at once with GITHUB_RATE_LIMITED when the wait is longer than allowed', async () => {
    const fake = await start([{ number: 1, title: 'one', labels: ['bug'] }]);
    const reset = Math.floor(Date.now() / 1000) + 3_600;
    fake.answer({
      method: 'GET',
      path: /\/issues$/,
      status: 403,
      headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) },
      body: { message: 'API rate limit exceeded for user ID 1.' },
    });
    const started = performance.now();
    const error = await issuesFromGitHub({
      repo: 'octo/hello',
      labels: ['bug'],
      client: await client(fake),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MiyabiError);
    expect(error).toMatchObject({ code: 'GITHUB_RATE_LIMITED' });
    expect((error as MiyabiError).message).toContain('API rate limit exceeded');
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(fake.requestsTo('GET', /\/issues$/)).toHaveLength(1);
  });

  it('refuses an unknown repository with GITHUB_NOT_FOUND', async () => {
    const fake = await start([]);
    const error = await issuesFromGitHub({
      repo: 'octo/missing',
      issues: [1],
      client: await client(fake),
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'GITHUB_NOT_FOUND',
      message: 'repository octo/missing not found on GitHub',
    });
    expect(fake.requestsTo('GET', /\/issues/)).toHaveLength(0);
  });

  it('refuses a selection that names nothing, and a bad repository name, before any request', async () => {
    const fake = await start([]);
    await expect(issuesFromGitHub({ repo: 'octo/hello', client: await client(fake) })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(
      issuesFromGitHub({ repo: 'not a repo', issues: [1], client: await client(fake) }),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    expect(fake.requests).toHaveLength(0);
  });
});

function recordingLogger(lines: string[]): Logger {
  const record = (fields: Record<string, unknown>, message?: string) =>
    lines.push(`${message ?? ''} ${JSON.stringify(fields)}`);
  return { debug: record, info: record, warn: record, error: record };
}
