import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli-process.js';
import { repoState } from './helpers/repo-state.js';
import { createTempRepo } from './helpers/temp-repo.js';

/** The one error line of a failed command, checked for its code. */
function errorLine(stderr: string, code: string): string {
  const lines = stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^miyabi-worktree: error \\[${code}\\] `));
  return lines[0] as string;
}

describe('the CLI speaks CLI', () => {
  it('refuses a duration flag without a unit (7 what?), exit 2, touching nothing', async () => {
    const repo = createTempRepo();
    const before = repoState(repo.path);
    const results = await Promise.all([
      runCli(['cleanup', '--older-than', '7'], { cwd: repo.path }),
      runCli(['archives', 'prune', '--older-than', '30'], { cwd: repo.path }),
      runCli(['run', '--issues', '1', '--timeout', '90', '--', 'true'], { cwd: repo.path }),
      runCli(['run', '--issues', '1', '--radar-interval', '2', '--', 'true'], { cwd: repo.path }),
    ]);
    for (const result of results) {
      expect(result.code).toBe(2);
      expect(errorLine(result.stderr, 'INVALID_ARGUMENT')).toMatch(
        /"\d+" has no unit: \d+ what\? e\.g\. \d+d/,
      );
    }
    expect(repoState(repo.path)).toEqual(before);
    // Zero needs no unit where it means "off".
    const off = await runCli(['run', '--issues', '1', '--radar-interval', '0', '--dry-run', '--', 'true'], {
      cwd: repo.path,
    });
    expect(off.code).toBe(0);
  });

  it('refuses a malformed issue or id (path -1, logs ../x) with exit 2, not a lookup', async () => {
    const repo = createTempRepo();
    const before = repoState(repo.path);
    const results = await Promise.all(
      [
        ['path', '-1'],
        ['path', '../x'],
        ['path', '0'],
        ['logs', '../x'],
        ['logs', '-1'],
      ].map((args) => runCli(args, { cwd: repo.path })),
    );
    for (const result of results) {
      expect(result.code).toBe(2);
      expect(errorLine(result.stderr, 'INVALID_ARGUMENT')).toContain(
        'expected an issue number or a worktree id',
      );
    }
    expect(repoState(repo.path)).toEqual(before);
    // A well-formed id that names nothing is still NOT_FOUND (exit 1).
    const unknown = await runCli(['path', 'issue-1-deadbeef'], { cwd: repo.path });
    expect(unknown.code).toBe(1);
    errorLine(unknown.stderr, 'NOT_FOUND');
  });
});
