import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli-process.js';
import { tempDir } from './helpers/temp-repo.js';

describe('CLI help and usage mistakes', () => {
  it('exits 0 for help and help <command>, printing it on stdout', async () => {
    const cwd = tempDir();
    const [help, helpRun, helpAlias] = await Promise.all([
      runCli(['help'], { cwd }),
      runCli(['help', 'run'], { cwd }),
      runCli(['help', 'ls'], { cwd }),
    ]);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toContain('Usage: miyabi-worktree');
    expect(helpRun).toMatchObject({ code: 0, stderr: '' });
    expect(helpRun.stdout).toContain('{issue}');
    expect(helpAlias.code).toBe(0);
    expect(helpAlias.stdout).toContain('list');
  });

  it('says a command given to help is unknown, in one line, exit 2', async () => {
    const cwd = tempDir();
    const result = await runCli(['help', 'lsit'], { cwd });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^miyabi-worktree: error \[INVALID_ARGUMENT\] unknown command 'lsit' .*list/),
    ]);
  });

  it('tells run to take the command after -- when its options reach ours', async () => {
    const cwd = tempDir();
    const result = await runCli(['run', '--issues', '1', 'git', 'log', '--oneline'], { cwd });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown option '--oneline'");
    expect(result.stderr).toContain('put the command after --');
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});
