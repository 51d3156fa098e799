import { existsSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli-process.js';
import { tempDir } from './helpers/temp-repo.js';

describe('miyabi-worktree demo', () => {
  it('runs a real batch with a timeout and a failure in a throwaway repository, merges, reports and cleans up', async () => {
    // Outside any repository and with no git identity: the demo needs nothing but the package.
    const cwd = tempDir();
    const result = await runCli(['demo'], {
      cwd,
      env: {
        GIT_AUTHOR_NAME: undefined,
        GIT_AUTHOR_EMAIL: undefined,
        GIT_COMMITTER_NAME: undefined,
        GIT_COMMITTER_EMAIL: undefined,
        GIT_CONFIG_GLOBAL: '/dev/null',
        GIT_CONFIG_NOSYSTEM: '1',
      },
    });
    const output = `${result.stdout}\n${result.stderr}`;
    expect(result.stderr, output).not.toContain('error [');
    expect(result.code, output).toBe(0);
    expect(result.stdout, output).toMatch(/^#1\s+success\s.*(fast-forwarded|merged)/m);
    expect(result.stdout).toMatch(/^#2\s+timeout\s/m);
    expect(result.stdout).toMatch(/^#4\s+failed\s.*exited with code 1/m);
    expect(result.stdout).toContain('📊 Worktree execution report');
    expect(result.stdout).toContain('- Created: 5');
    expect(result.stdout).toMatch(/Fix issue #5/);
    expect(result.stdout).toContain('Worktrees left: 0');
    // Live progress off a terminal: plain lines on stderr.
    expect(result.stderr).toMatch(/Z #2 timeout/);
    const root = /Removing (\S+)\.$/m.exec(result.stdout)?.[1];
    expect(root).toBeDefined();
    expect(existsSync(root as string)).toBe(false);
    expect(readdirSync(cwd)).toEqual([]);
  });
});
