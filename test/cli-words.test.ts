import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WorktreeManager } from '../src/index.js';
import { json, runCli } from './helpers/cli-process.js';
import { repoState } from './helpers/repo-state.js';
import { createTempRepo, tempDir } from './helpers/temp-repo.js';

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
        'is neither an issue number nor a worktree id',
      );
    }
    expect(repoState(repo.path)).toEqual(before);
    // A well-formed id that names nothing is still NOT_FOUND (exit 1).
    const unknown = await runCli(['path', 'issue-1-deadbeef'], { cwd: repo.path });
    expect(unknown.code).toBe(1);
    errorLine(unknown.stderr, 'NOT_FOUND');
  });

  it('run --no-setup skips the configured setup and .worktreeinclude, as create --no-setup does', async () => {
    const repo = createTempRepo({
      files: {
        '.gitignore': 'secret.env\n',
        '.worktreeinclude': 'secret.env\n',
        'miyabi-worktree.config.json': JSON.stringify({
          setup: [[process.execPath, '-e', 'process.exit(3)']],
        }),
      },
    });
    repo.write('secret.env', 'TOKEN=1\n');
    // The task fails unless the worktree got neither the setup's run nor the included file.
    const check = [process.execPath, '-e', "process.exit(require('fs').existsSync('secret.env') ? 4 : 0)"];
    const skipped = await runCli(['run', '--issues', '1', '--no-setup', '--json', '--', ...check], {
      cwd: repo.path,
    });
    expect(skipped.code).toBe(0);
    expect(json<{ results: { status: string }[] }>(skipped).results).toMatchObject([{ status: 'success' }]);
    const withSetup = await runCli(['run', '--issues', '2', '--json', '--', ...check], { cwd: repo.path });
    expect(withSetup.code).toBe(1);
    expect(json<{ results: { status: string; stage?: string }[] }>(withSetup).results).toMatchObject([
      { status: 'failed', stage: 'setup' },
    ]);
  });

  it('names CLI commands in the hints of library errors; the library keeps naming its calls', async () => {
    const repo = createTempRepo({ files: { '.gitignore': '' } });
    const created = json<{ id: string; path: string }>(
      await runCli(['create', '3', '--no-setup', '--json'], { cwd: repo.path }),
    );
    writeFileSync(join(created.path, 'draft.txt'), 'unsaved\n');
    expect((await runCli(['remove', '3'], { cwd: repo.path })).code).toBe(0);
    const failures = await Promise.all(
      [
        ['path', '3'],
        ['archives', 'drop', 'issue-9-00000000'],
        ['remove', 'issue-1-deadbeef'],
        ['remove', '../x'],
        ['path', '-1'],
        ['merge', 'issue-1-deadbeef', '--json'],
      ].map(async (args) => ({ args, result: await runCli(args, { cwd: repo.path }) })),
    );
    const hints = failures.map(({ args, result }) => {
      expect(result.code, args.join(' ')).not.toBe(0);
      const hint = /\(hint: (.*)\)$/.exec(result.stderr.trimEnd())?.[1] ?? '';
      expect(hint, args.join(' ')).toContain("'miyabi-worktree ");
      expect(hint, args.join(' ')).not.toMatch(/[A-Za-z]\(/);
      return hint;
    });
    expect(hints[0]).toContain(`'miyabi-worktree restore ${created.id}' brings it back`);
    expect(hints[1]).toContain("'miyabi-worktree archives' lists the archives");
    // --json prints the same hint as the error line.
    const last = failures.at(-1)?.result;
    expect(last && json<{ error: { hint: string } }>(last).error.hint).toBe(hints.at(-1));

    const manager = await WorktreeManager.open({ repoPath: repo.path });
    await expect(manager.resolveWorktree(3)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      hint: `It was removed; its work was archived: restoreWorktree('${created.id}') brings it back.`,
    });
    await expect(manager.getWorktree('issue-1-deadbeef')).rejects.toMatchObject({
      hint: 'List what exists with listWorktrees().',
    });
    await expect(manager.dropArchive('issue-9-00000000')).rejects.toMatchObject({
      hint: 'listArchives() lists the archives there are.',
    });
  });

  it("gives a task's failure in run --json the CLI's hint, while the library's result keeps its own", async () => {
    // A nested repository with a commit on none of its remotes: no archive can hold it, so the
    // task's removal is refused (WORKTREE_DIRTY) with a hint that names the force option.
    const nested = [
      'sh',
      '-c',
      'git init -q sub && echo x > sub/f && git -C sub add f && git -C sub -c user.name=a -c user.email=a@b commit -qm x',
    ];
    const repo = createTempRepo();
    const run = await runCli(['run', '--issues', '1', '--json', '--', ...nested], { cwd: repo.path });
    expect(run.code).toBe(1);
    const [task] = json<{ results: { stage: string; error: { code: string; hint: string } }[] }>(run).results;
    expect(task).toMatchObject({ stage: 'cleanup', error: { code: 'WORKTREE_DIRTY' } });
    expect(task?.error.hint).toContain('add --force to remove them anyway');
    expect(task?.error).not.toHaveProperty('hintParts');

    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const [kept] = await manager.listWorktrees();
    await expect(manager.removeWorktree(kept?.id as string)).rejects.toMatchObject({
      code: 'WORKTREE_DIRTY',
      hint: expect.stringContaining('pass force to remove them anyway'),
    });
  });

  it("shows a failure's error line, not the stack frame or runtime banner printed after it", async () => {
    const repo = createTempRepo();
    const script = "console.log('compiling'); throw new TypeError('boom: the widget is undefined')";
    const result = await runCli(['run', '--issues', '1', '--json', '--', process.execPath, '-e', script], {
      cwd: repo.path,
    });
    expect(result.code).toBe(1);
    const [failed] = json<{ results: { error?: { message: string } }[] }>(result).results;
    expect(failed?.error?.message).toBe('node exited with code 1: TypeError: boom: the widget is undefined');
    // The live view (a line per change off a terminal) says the same.
    expect(result.stderr).toMatch(
      / #1 failed \([^)]*\): node exited with code 1: TypeError: boom: the widget/,
    );
    expect(result.stderr).not.toMatch(/#1 failed.*(Node\.js v|at node:internal)/);
  });

  it('list and status show how the last task ended beside the worktree status, also in --json', async () => {
    const repo = createTempRepo({ files: { 'shared.txt': 'base\n' } });
    const barrier = tempDir();
    // #1 and #2 change the same line, both from the same base (each waits until the other started):
    // the second merge conflicts. #3's command fails.
    const script = `const n = process.env.MIYABI_ISSUE_NUMBER;
      if (n === '3') process.exit(5);
      const fs = require('fs');
      const { execFileSync } = require('child_process');
      fs.writeFileSync(${JSON.stringify(barrier)} + '/' + n, '');
      const other = ${JSON.stringify(barrier)} + '/' + (n === '1' ? '2' : '1');
      while (!fs.existsSync(other)) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
      fs.writeFileSync('shared.txt', 'from ' + n + '\\n');
      execFileSync('git', ['commit', '-qam', 'change ' + n]);`;
    const run = await runCli(
      [
        'run',
        '--issues',
        '1-3',
        '--merge',
        '--keep',
        '--concurrency',
        '3',
        '--',
        process.execPath,
        '-e',
        script,
      ],
      { cwd: repo.path },
    );
    expect(run.code).toBe(1);
    type Listed = {
      issueNumber: number;
      status: string;
      lastTask?: { status: string; stage?: string; code?: string };
    };
    const listed = json<Listed[]>(await runCli(['list', '--json'], { cwd: repo.path }));
    const conflicted = listed.find((w) => w.lastTask?.code === 'MERGE_CONFLICT');
    const merged = listed.find((w) => w.lastTask?.status === 'success');
    const failed = listed.find((w) => w.issueNumber === 3);
    expect(merged).toMatchObject({ status: 'completed', lastTask: { status: 'success' } });
    expect(conflicted).toMatchObject({ status: 'failed', lastTask: { status: 'failed', stage: 'merge' } });
    expect(failed).toMatchObject({ status: 'failed', lastTask: { status: 'failed', stage: 'execute' } });
    const table = (await runCli(['list'], { cwd: repo.path })).stdout;
    expect(table).toMatch(/LAST TASK/);
    expect(table).toMatch(new RegExp(`#${merged?.issueNumber}\\s+completed\\s+success\\s`));
    expect(table).toMatch(new RegExp(`#${conflicted?.issueNumber}\\s+failed\\s+conflict\\s`));
    expect(table).toMatch(/#3\s+failed\s+failed at execute\s/);
    const status = await runCli(['status'], { cwd: repo.path });
    expect(status.stdout).toMatch(new RegExp(`#${conflicted?.issueNumber}\\s+failed\\s+conflict\\s`));
    const detailed = json<{ worktrees: Listed[] }>(await runCli(['status', '--json'], { cwd: repo.path }));
    expect(detailed.worktrees.map((w) => w.lastTask?.status).sort()).toEqual(['failed', 'failed', 'success']);
  });
});
