import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MiyabiError } from '../src/errors.js';
import {
  expandIssuePlaceholders,
  ISSUE_TEXT_LIMIT_BYTES,
  issueEnvironment,
  truncateIssueText,
  writeIssueFile,
} from '../src/github/issue-text.js';
import { repoFromOrigin } from '../src/github/origin-repo.js';
import { parseRepoSlug, repoFromRemoteUrl } from '../src/github/repo-slug.js';
import type { IssueContext } from '../src/github/types.js';
import { runCommand } from '../src/process/run-command.js';
import { createTempRepo, tempDir } from './helpers/temp-repo.js';

const ECHO_ARGV = ['node', '-e', 'process.stdout.write(JSON.stringify(process.argv.slice(1)))'];

describe('issue text for the agent', () => {
  it('delivers a 1 MB body with NUL bytes intact through the file, and cut with a note in env and placeholders', async () => {
    const body = `${'héllo wörld\0 '.repeat(80_000)}THE END`;
    expect(Buffer.byteLength(body)).toBeGreaterThan(1_000_000);
    const context: IssueContext = {
      title: 'Big one',
      body,
      url: 'https://github.example/o/r/issues/1',
      labels: ['a', 'b'],
    };
    const file = await writeIssueFile(context, join(tempDir(), 'issue-1', 'body.md'));
    expect(readFileSync(file).equals(Buffer.from(body, 'utf8'))).toBe(true);

    const env = issueEnvironment(context, { file });
    const inEnv = env.MIYABI_ISSUE_BODY ?? '';
    expect(Buffer.byteLength(inEnv)).toBeLessThanOrEqual(ISSUE_TEXT_LIMIT_BYTES);
    expect(inEnv).not.toContain('\0');
    expect(inEnv.startsWith('héllo wörld héllo')).toBe(true);
    expect(inEnv).toMatch(
      /\[miyabi-worktree: cut to \d+ of \d+ bytes; the whole text is in the file \$MIYABI_ISSUE_FILE\]$/,
    );
    expect(env).toMatchObject({
      MIYABI_ISSUE_TITLE: 'Big one',
      MIYABI_ISSUE_LABELS: 'a,b',
      MIYABI_ISSUE_FILE: file,
    });

    const [inArgv] = expandIssuePlaceholders(['{body}'], context);
    expect(inArgv).toBe(inEnv);

    // And a real process starts with all of it (a 1 MB variable would fail with E2BIG).
    const result = await runCommand(
      [
        'node',
        '-e',
        'const b = process.env.MIYABI_ISSUE_BODY; process.stdout.write(b.length + " " + process.argv[1].length)',
        inArgv ?? '',
      ],
      { cwd: tempDir(), env },
    );
    expect(result.exitCode).toBe(0);
    expect(result.tail.trim()).toBe(`${inEnv.length} ${inEnv.length}`);
  });

  it('never splits a character when it cuts, and leaves short text alone (NULs dropped)', () => {
    expect(truncateIssueText('a\0b')).toBe('ab');
    const cut = truncateIssueText('日'.repeat(10_000), 1_000);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(1_000);
    expect(cut).not.toContain('\uFFFD');
    expect(cut).toMatch(/^日+\n\n\[miyabi-worktree: cut to \d+ of 30000 bytes;/);
  });

  it('keeps a title with shell characters as one argument, expanded once', async () => {
    const title = `"; rm -rf ~ $(id) \`id\` 'q' | & > out {body} * ?`;
    const context: IssueContext = { title, body: 'BODY', url: 'u', labels: [] };
    const argv = expandIssuePlaceholders([...ECHO_ARGV, 'Fix: {title}', '{labels}'], context);
    expect(argv).toHaveLength(ECHO_ARGV.length + 2);
    const result = await runCommand(argv, { cwd: tempDir() });
    expect(JSON.parse(result.tail)).toEqual([`Fix: ${title}`, '']);
  });
});

describe('owner/repo', () => {
  it('reads owner/repo from https and ssh remote URLs', () => {
    const expected = { host: 'github.com', owner: 'octo', repo: 'hello' };
    for (const url of [
      'https://github.com/octo/hello.git',
      'https://github.com/octo/hello',
      'https://github.com/octo/hello/',
      'https://x-access-token:ghs_secret@github.com/octo/hello.git',
      'git@github.com:octo/hello.git',
      'git@github.com:octo/hello',
      'ssh://git@github.com/octo/hello.git',
      'ssh://git@github.com:22/octo/hello',
      'git://github.com/octo/hello.git',
    ]) {
      expect(repoFromRemoteUrl(url), url).toEqual(expected);
    }
    expect(repoFromRemoteUrl('git@ghe.corp.example:team/app.git')).toEqual({
      host: 'ghe.corp.example',
      owner: 'team',
      repo: 'app',
    });
    expect(repoFromRemoteUrl('/srv/git/hello.git')).toBeUndefined();
    expect(repoFromRemoteUrl('https://github.com/hello')).toBeUndefined();
    expect(repoFromRemoteUrl('file:///srv/octo/hello.git')).toBeUndefined();
  });

  it('takes the default owner/repo from the origin remote, and says so when there is none', async () => {
    const repo = createTempRepo();
    await expect(repoFromOrigin({ cwd: repo.path })).rejects.toMatchObject({ code: 'NO_REMOTE' });
    repo.git('remote', 'add', 'origin', 'git@github.com:octo/hello.git');
    await expect(repoFromOrigin({ cwd: repo.path })).resolves.toEqual({
      host: 'github.com',
      owner: 'octo',
      repo: 'hello',
    });
    repo.git('remote', 'set-url', 'origin', '/srv/git/hello.git');
    await expect(repoFromOrigin({ cwd: repo.path })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('refuses what is not owner/repo', () => {
    expect(parseRepoSlug('octo/hello.js')).toEqual({ owner: 'octo', repo: 'hello.js' });
    for (const bad of [
      'octo',
      'octo/hello/extra',
      '/hello',
      'octo/',
      'oc to/hello',
      'octo/..',
      '-octo/hello',
    ]) {
      expect(() => parseRepoSlug(bad), bad).toThrow(MiyabiError);
    }
  });
});
