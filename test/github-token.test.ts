import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { formatError } from '../src/cli/render/error.js';
import { MiyabiError } from '../src/errors.js';
import { createGitHubClient } from '../src/github/client.js';
import { issuesFromGitHub } from '../src/github/issues.js';
import { resolveGitHubToken } from '../src/github/token.js';
import type { Logger } from '../src/log.js';
import { type FakeGitHub, startFakeGitHub } from './helpers/fake-github.js';
import { tempDir } from './helpers/temp-repo.js';

const TOKEN = 'ghp_rightTOKEN0123456789abcdefSECRET';
const WRONG = 'ghp_wrongTOKEN9876543210fedcbaSECRET';
let server: FakeGitHub | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A folder holding a `gh` that prints `output` for `gh auth token`. */
function fakeGh(output: string): string {
  const dir = tempDir();
  const gh = join(dir, 'gh');
  writeFileSync(gh, `#!/bin/sh\n[ "$1 $2" = "auth token" ] && printf '%s\\n' '${output}'\n`);
  chmodSync(gh, 0o755);
  return dir;
}

describe('GitHub token', () => {
  it('takes GITHUB_TOKEN, then GH_TOKEN, then what `gh auth token` prints', async () => {
    const gh = fakeGh('ghp_fromGH');
    await expect(
      resolveGitHubToken({ env: { GITHUB_TOKEN: 'a1234', GH_TOKEN: 'b1234', PATH: gh } }),
    ).resolves.toEqual({
      token: 'a1234',
      source: 'GITHUB_TOKEN',
    });
    await expect(resolveGitHubToken({ env: { GH_TOKEN: 'b1234', PATH: gh } })).resolves.toEqual({
      token: 'b1234',
      source: 'GH_TOKEN',
    });
    await expect(resolveGitHubToken({ env: { PATH: gh } })).resolves.toEqual({
      token: 'ghp_fromGH',
      source: 'gh',
    });
  });

  it('calls GitHub with the token gh gives', async () => {
    server = await startFakeGitHub({ token: TOKEN, issues: [{ number: 1, title: 'one' }] });
    const result = await issuesFromGitHub({
      repo: 'octo/hello',
      issues: [1],
      baseUrl: server.url,
      env: { PATH: fakeGh(TOKEN) },
    });
    expect(result.tasks.map((task) => task.issueNumber)).toEqual([1]);
    expect(server.requests.every((request) => request.authorization === `token ${TOKEN}`)).toBe(true);
  });

  it('fails with GITHUB_AUTH and the gh/GITHUB_TOKEN hint before any request when there is no token', async () => {
    server = await startFakeGitHub({ token: TOKEN });
    const error = await issuesFromGitHub({
      repo: 'octo/hello',
      issues: [1],
      baseUrl: server.url,
      // No variables, and a PATH without gh.
      env: { PATH: tempDir() },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MiyabiError);
    expect(error).toMatchObject({ code: 'GITHUB_AUTH' });
    expect((error as MiyabiError).hint).toMatch(/gh auth login/);
    expect((error as MiyabiError).hint).toMatch(/GITHUB_TOKEN/);
    expect(server.requests).toHaveLength(0);
  });

  it('never prints the token: not in the error, its JSON, the verbose CLI line, nor the logs', async () => {
    server = await startFakeGitHub({ token: TOKEN, issues: [{ number: 1, title: 'one', labels: ['bug'] }] });
    const lines: string[] = [];
    const record = (fields: Record<string, unknown>, message?: string) =>
      lines.push(`${message ?? ''} ${JSON.stringify(fields)}`);
    const logger: Logger = { debug: record, info: record, warn: record, error: record };
    // A server that echoes what it was sent, as a careless proxy might.
    server.answer({
      path: /^\/repos\/octo\/hello$/,
      status: 401,
      reply: (request) => ({ message: `Bad credentials: ${request.authorization}` }),
    });
    const client = await createGitHubClient({ token: WRONG, baseUrl: server.url, pacing: 'off', logger });
    const error = await issuesFromGitHub({ repo: 'octo/hello', labels: ['bug'], client }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'GITHUB_AUTH' });
    expect(server.requests[0]?.authorization).toBe(`token ${WRONG}`);
    expect((error as Error).message).toContain('Bad credentials: token [REDACTED]');

    // A rate-limit wait is logged, with the request it delayed.
    server.answer({
      path: /\/issues$/,
      status: 403,
      headers: { 'retry-after': '1' },
      reply: (request) => ({ message: `secondary rate limit for ${request.authorization}` }),
    });
    const tokenClient = await createGitHubClient({
      token: TOKEN,
      baseUrl: server.url,
      pacing: 'off',
      logger,
    });
    await issuesFromGitHub({ repo: 'octo/hello', labels: ['bug'], client: tokenClient });
    expect(lines.join('\n')).toMatch(/rate limit hit/);

    const shown = [
      (error as Error).message,
      JSON.stringify(error),
      JSON.stringify({ error }),
      inspect(error, { depth: Number.POSITIVE_INFINITY, showHidden: true }),
      formatError(error, { verbose: true }),
      inspect(client, { depth: 4 }),
      ...lines,
    ].join('\n');
    expect(shown).not.toContain(WRONG);
    expect(shown).not.toContain(TOKEN);
  });
});

describe('loading Octokit', () => {
  // The package entry the CLI and users import: it holds the GitHub helpers too.
  const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));

  it.skipIf(!existsSync(dist))('loads no @octokit package until a client is made', () => {
    const dir = tempDir();
    const loaded = join(dir, 'loaded.txt');
    writeFileSync(
      join(dir, 'hooks.mjs'),
      `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  if (specifier.startsWith('@octokit/')) appendFileSync(${JSON.stringify(loaded)}, specifier + '\\n');
  return next(specifier, context);
}`,
    );
    writeFileSync(
      join(dir, 'register.mjs'),
      `import { register } from 'node:module'; register('./hooks.mjs', import.meta.url);`,
    );
    const script = `
      import { appendFileSync } from 'node:fs';
      const github = await import(${JSON.stringify(dist)});
      appendFileSync(${JSON.stringify(loaded)}, 'imported\\n');
      await github.createGitHubClient({ token: 'x1234', baseUrl: 'http://127.0.0.1:9' });
      appendFileSync(${JSON.stringify(loaded)}, 'client\\n');`;
    execFileSync(
      process.execPath,
      ['--import', join(dir, 'register.mjs'), '--input-type=module', '-e', script],
      {
        cwd: dir,
        stdio: 'pipe',
      },
    );
    const events = readFileSync(loaded, 'utf8').trim().split('\n');
    expect(events[0]).toBe('imported');
    expect(events).toContain('@octokit/core');
    expect(events.at(-1)).toBe('client');
  });
});
