import { existsSync, lstatSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type {
  CleanupReport,
  MergeResult,
  PushResult,
  RemoveResult,
  WorktreeInfo,
  WorktreeStats,
} from '../src/core/types.js';
import { WorktreeManager } from '../src/index.js';
import type { TelemetryStats } from '../src/telemetry/stats.js';
import { type CliResult, json, runCli, startCli } from './helpers/cli-process.js';
import { repoState, worktreePaths } from './helpers/repo-state.js';
import { createRepoWithDanglingIncludeFolder, createTempRepo, git, tempDir } from './helpers/temp-repo.js';

const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** Exactly one line on stderr, in the CLI's error format. */
function expectOneErrorLine(stderr: string, code: string): string {
  const lines = stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^miyabi-worktree: error \\[${code}\\] .+ \\(hint: .+\\)$`));
  expect(stderr).not.toMatch(/\n\s+at /);
  return lines[0] as string;
}

describe('miyabi-worktree commands', () => {
  it('prints the version and help, and refuses unknown commands and options with exit 2', async () => {
    const cwd = tempDir();
    const [version, help, runHelp, unknown, badOption, none] = await Promise.all([
      runCli(['--version'], { cwd }),
      runCli(['--help'], { cwd }),
      runCli(['run', '--help'], { cwd }),
      runCli(['lsit'], { cwd }),
      runCli(['list', '--colour'], { cwd }),
      runCli([], { cwd }),
    ]);
    expect(version).toMatchObject({ code: 0, stdout: `${manifest.version}\n` });
    expect(help.code).toBe(0);
    for (const command of [
      'create',
      'list',
      'status',
      'remove',
      'restore',
      'push',
      'merge',
      'cleanup',
      'run',
      'report',
      'demo',
    ]) {
      expect(help.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    }
    expect(help.stdout).toContain('Examples:');
    expect(runHelp.stdout).toContain('{issue}');
    expect(runHelp.stdout).toContain('MIYABI_WORKTREE_PATH');
    expect(unknown.code).toBe(2);
    expect(expectOneErrorLine(unknown.stderr, 'INVALID_ARGUMENT')).toContain("unknown command 'lsit'");
    expect(badOption.code).toBe(2);
    expect(expectOneErrorLine(badOption.stderr, 'INVALID_ARGUMENT')).toContain("unknown option '--colour'");
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Usage: miyabi-worktree');
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('says outside a repository, in one line with exit 2, and creates nothing', async () => {
    const cwd = tempDir();
    for (const args of [['list'], ['create', '1'], ['run', '--issues', '1', '--', 'true']]) {
      const result = await runCli(args, { cwd });
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expectOneErrorLine(result.stderr, 'NOT_A_REPOSITORY');
    }
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('refuses a config file with a wrong type or an unknown key: exit 2, one line naming the key', async () => {
    const repo = createTempRepo();
    const cases: [object, RegExp][] = [
      [{ maxConcurrency: 'three' }, /maxConcurrency: expected an integer from 1 to 64, got "three"/],
      [{ worktreDir: '../wt' }, /unknown key "worktreDir" \(did you mean "worktreeDir"\?\)/],
      [{ setup: 'npm ci' }, /setup: expected an array of commands/],
    ];
    for (const [config, message] of cases) {
      repo.write('miyabi-worktree.config.json', JSON.stringify(config));
      const before = repoState(repo.path);
      const result = await runCli(['create', '1'], { cwd: repo.path });
      expect(result.code).toBe(2);
      expect(expectOneErrorLine(result.stderr, 'INVALID_CONFIG')).toMatch(message);
      expect(repoState(repo.path)).toEqual(before);
    }
    // The package.json key is read the same way.
    rmSync(join(repo.path, 'miyabi-worktree.config.json'));
    repo.write('package.json', JSON.stringify({ name: 'x', 'miyabi-worktree': { timeout: 'forever' } }));
    const fromPackage = await runCli(['list'], { cwd: repo.path });
    expect(fromPackage.code).toBe(2);
    expect(expectOneErrorLine(fromPackage.stderr, 'INVALID_CONFIG')).toContain(
      'package.json: miyabi-worktree.timeout',
    );
  });

  it('creates, lists, merges, pushes, removes (archiving) and restores a worktree, with --json shapes', async () => {
    const repo = createTempRepo({ withRemote: true });
    repo.commit({ '.gitignore': '.env\n', '.worktreeinclude': '.env\n' });
    repo.write('.env', 'TOKEN=abc\n');
    const cli = (...args: string[]) => runCli(args, { cwd: repo.path });

    const created = await cli('create', '42', '--json');
    expect(created.code).toBe(0);
    const info = json<WorktreeInfo>(created);
    expect(info).toMatchObject({
      issueNumber: 42,
      branchName: 'feature/issue-42',
      baseBranch: 'main',
      status: 'active',
    });
    expect(info.id).toMatch(/^issue-42-[0-9a-f]{8}$/);
    expect(worktreePaths(repo.path)).toContain(info.path);
    expect(readFileSync(join(info.path, '.env'), 'utf8')).toBe('TOKEN=abc\n');
    expect(created.stderr).toContain('copied from .worktreeinclude: .env');

    const listed = await cli('list', '--json');
    expect(json<WorktreeInfo[]>(listed)).toEqual([info]);
    const human = await cli('list');
    expect(human.stdout).toMatch(new RegExp(`^${info.id}\\s+#42\\s+active\\s+feature/issue-42`, 'm'));
    const status = json<{ stats: WorktreeStats; worktrees: WorktreeInfo[]; archives: unknown[] }>(
      await cli('status', '--json'),
    );
    expect(status.stats).toMatchObject({
      total: 1,
      byStatus: { active: 1, idle: 0, completed: 0, failed: 0 },
    });
    // status adds what it measured to each WorktreeInfo (list stays the cheap call).
    expect(status.worktrees).toEqual([
      { ...info, ageMs: expect.any(Number), diskBytes: expect.any(Number), ahead: 0, behind: 0 },
    ]);
    expect(status.archives).toEqual([]);

    // Committed work merges into main by issue number; the user's checkout is brought along, never switched.
    const file = join(info.path, 'feature.txt');
    writeFileSync(file, 'feature\n');
    git(info.path, 'add', 'feature.txt');
    git(info.path, 'commit', '-q', '-m', 'add feature');
    const merged = await cli('merge', '42', '--json');
    expect(merged.code).toBe(0);
    expect(json<MergeResult>(merged)).toMatchObject({
      id: info.id,
      into: 'main',
      status: 'fast-forwarded',
      updatedCheckout: repo.path,
    });
    expect(readFileSync(join(repo.path, 'feature.txt'), 'utf8')).toBe('feature\n');
    expect(repo.git('symbolic-ref', '--short', 'HEAD')).toBe('main');
    const again = await cli('merge', info.id);
    expect(again.stdout).toContain('Nothing to merge');

    const pushed = await cli('push', '42', '--json');
    expect(pushed.code).toBe(0);
    expect(json<PushResult>(pushed)).toMatchObject({
      remote: 'origin',
      branchName: 'feature/issue-42',
      upstream: 'refs/remotes/origin/feature/issue-42',
    });
    expect(git(repo.remote as string, 'branch', '--list', 'feature/issue-42')).toContain('feature/issue-42');

    // Uncommitted work is archived on removal and comes back with restore.
    writeFileSync(join(info.path, 'notes.txt'), 'unsaved thoughts\n');
    const removed = await cli('remove', '42', '--json');
    expect(removed.code).toBe(0);
    const removal = json<RemoveResult>(removed);
    expect(removal).toMatchObject({
      id: info.id,
      worktreeRemoved: true,
      archived: { ref: `refs/miyabi/archive/${info.id}` },
    });
    expect(removal.archived?.uncommittedPaths).toContain('notes.txt');
    expect(existsSync(info.path)).toBe(false);
    const archived = json<{ archives: { id: string }[] }>(await cli('status', '--json'));
    expect(archived.archives.map((a) => a.id)).toEqual([info.id]);

    const restored = await cli('restore', info.id, '--json');
    expect(restored.code).toBe(0);
    const back = json<WorktreeInfo>(restored);
    expect(back).toMatchObject({ issueNumber: 42, branchName: 'feature/issue-42' });
    expect(readFileSync(join(back.path, 'notes.txt'), 'utf8')).toBe('unsaved thoughts\n');

    // Two worktrees of one issue: a number is ambiguous (exit 2), an id is not.
    const second = json<WorktreeInfo>(
      await cli('create', '42', '--branch', 'other-42', '--no-setup', '--json'),
    );
    const ambiguous = await cli('remove', '42');
    expect(ambiguous.code).toBe(2);
    expect(expectOneErrorLine(ambiguous.stderr, 'INVALID_ARGUMENT')).toContain(second.id);
    const missing = await cli('remove', '99');
    expect(missing.code).toBe(1);
    expectOneErrorLine(missing.stderr, 'NOT_FOUND');
    expect((await cli('remove', second.id, '--force')).code).toBe(0);
    expect((await cli('remove', back.id, '--force')).code).toBe(0);
    expect(worktreePaths(repo.path)).toEqual([repo.path]);

    // The report counts batches' tasks: worktrees made one by one are no batch.
    const stats = await cli('report', '--all', '--json');
    expect(json<TelemetryStats>(stats)).toMatchObject({ tasks: 0, creates: 0, cleanups: 0, executions: 0 });
    const ja = await cli('report', '--locale', 'ja');
    expect(ja.stdout).toContain('📊 Worktree実行レポート');
    expect(ja.stdout).toContain('- 作成: 0回');
    const badLocale = await cli('report', '--locale', 'fr');
    expect(badLocale.code).toBe(2);
  }, 180_000); // a dozen CLI processes in a row: slow on a loaded 2-core machine

  it('refuses a conflicting merge with exit 1, naming the path, and changes nothing', async () => {
    const repo = createTempRepo();
    const cli = (...args: string[]) => runCli(args, { cwd: repo.path });
    const one = json<WorktreeInfo>(await cli('create', '1', '--json'));
    const two = json<WorktreeInfo>(await cli('create', '2', '--json'));
    for (const [worktree, text] of [
      [one, 'one\n'],
      [two, 'two\n'],
    ] as const) {
      writeFileSync(join(worktree.path, 'shared.txt'), text);
      git(worktree.path, 'add', 'shared.txt');
      git(worktree.path, 'commit', '-q', '-m', `shared from ${worktree.issueNumber}`);
    }
    expect((await cli('merge', '1')).code).toBe(0);
    const before = repoState(repo.path);
    const conflict = await cli('merge', '2', '--json');
    expect(conflict.code).toBe(1);
    expect(expectOneErrorLine(conflict.stderr, 'MERGE_CONFLICT')).toContain('shared.txt');
    expect(json<{ error: { code: string; conflicts: { path: string }[] } }>(conflict).error).toMatchObject({
      code: 'MERGE_CONFLICT',
      conflicts: [{ path: 'shared.txt' }],
    });
    expect(repoState(repo.path)).toEqual(before);
    const both = await cli('merge', '2', '--squash', '--ff-only');
    expect(both.code).toBe(2);
  });

  it('keeps worktrees with --keep, and cleanup (dry run first) reclaims them after their process is gone', async () => {
    const repo = createTempRepo();
    const cli = (...args: string[]) => runCli(args, { cwd: repo.path });
    const code = "process.exit(process.env.MIYABI_ISSUE_NUMBER === '2' ? 1 : 0)";
    const run = await cli('run', '--issues', '1,2', '--keep', '--', process.execPath, '-e', code);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^#1\s+success/m);
    expect(run.stdout).toMatch(/^#2\s+failed/m);
    expect(run.stdout).toContain('📊 Worktree execution report');
    const kept = json<WorktreeInfo[]>(await cli('list', '--json'));
    expect(kept.map((w) => [w.issueNumber, w.status]).sort()).toEqual([
      [1, 'completed'],
      [2, 'failed'],
    ]);

    const dry = json<CleanupReport>(await cli('cleanup', '--dry-run', '--json'));
    expect(dry.dryRun).toBe(true);
    expect(dry.removed.map((r) => r.id).sort()).toEqual(kept.map((w) => w.id).sort());
    expect(worktreePaths(repo.path)).toHaveLength(3);

    // The dry run's text is the run's, in the conditional: the same branches deleted, nothing more.
    const dryText = await cli('cleanup', '--dry-run');
    const cleaned = await cli('cleanup');
    expect(cleaned.code).toBe(0);
    const asDone = (text: string) =>
      text
        .replaceAll('would remove', 'removed')
        .replaceAll('would be deleted', 'deleted')
        .replace('Dry run: would clean up', 'Cleaned up')
        .split('\n')
        .sort();
    expect(asDone(dryText.stdout)).toEqual(cleaned.stdout.split('\n').sort());
    expect(cleaned.stdout).toContain(`branch ${kept[0]?.branchName} deleted`);
    expect(cleaned.stdout).toContain(`removed ${kept[0]?.id}`);
    expect(cleaned.stdout).toContain('Cleaned up 2');
    expect(worktreePaths(repo.path)).toEqual([repo.path]);
    expect(json<WorktreeInfo[]>(await cli('list', '--json'))).toEqual([]);
    expect((await cli('cleanup')).stdout).toContain('Nothing to clean up.');
  });

  it('cleanup exits 1 when it could not remove a worktree, and its dry run says so first', async () => {
    const repo = createTempRepo();
    const cli = (...args: string[]) => runCli(args, { cwd: repo.path });
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const w = await manager.createWorktree(1);
    await manager.updateStatus(w.id, 'completed');
    // An agent's own repository with a commit nowhere else: no archive can hold it, so it stays.
    git(w.path, 'init', '-q', '-b', 'main', 'scratch');
    writeFileSync(join(w.path, 'scratch', 'notes.txt'), 'only here\n');
    git(join(w.path, 'scratch'), 'add', 'notes.txt');
    git(join(w.path, 'scratch'), 'commit', '-q', '-m', 'notes');
    const dry = await cli('cleanup', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`would fail to remove ${w.id}`);
    const cleaned = await cli('cleanup');
    expect(cleaned.code).toBe(1);
    expect(cleaned.stdout).toContain(`could not remove ${w.id}`);
    expect(cleaned.stdout).toContain('WORKTREE_DIRTY');
    const report = json<CleanupReport>(await cli('cleanup', '--json'));
    expect(report.failed).toMatchObject([{ id: w.id, code: 'WORKTREE_DIRTY' }]);
    expect(existsSync(join(w.path, 'scratch', 'notes.txt'))).toBe(true);
  });

  it('ends quietly, with the command’s own exit code, when the reader of stdout goes away (EPIPE)', async () => {
    const repo = createTempRepo();
    const before = repoState(repo.path);
    // Like `| (exec 0<&-; sleep 1)`: the reading end is closed before the CLI writes anything.
    const closedStdout = (args: string[]): Promise<CliResult> => {
      const cli = startCli(args, { cwd: repo.path });
      cli.child.stdout?.destroy();
      return cli.done;
    };
    const script = [process.execPath, '-e', "console.log('task output')"];
    const cases = [
      ['list', '--json'],
      ['status'],
      ['--help'],
      ['run', '--help'],
      ['run', '--issues', '1,2', '--', ...script],
      ['run', '--issues', '3', '--json', '--', ...script],
    ];
    for (const args of cases) {
      const result = await closedStdout(args);
      expect({ args, code: result.code, signal: result.signal }).toEqual({ args, code: 0, signal: null });
      expect(result.stderr).not.toMatch(/EPIPE|\n\s+at /);
    }
    // Every task of both batches ran and was cleaned up as usual.
    expect(repoState(repo.path)).toEqual(before);
    const stats = json<TelemetryStats>(await runCli(['report', '--all', '--json'], { cwd: repo.path }));
    expect(stats).toMatchObject({ creates: 3, successfulExecutions: 3, cleanups: 3 });
  });

  it('prints the { "error" } document on stdout for a parse error with --json, like other bad input', async () => {
    const repo = createTempRepo();
    const before = repoState(repo.path);
    const cli = (...args: string[]) => runCli(args, { cwd: repo.path });
    const cases: [string[], RegExp][] = [
      [['create', '1', '--bogus', '--json'], /unknown option '--bogus'/],
      [['list', '--json', 'extra'], /too many arguments for 'list'/],
      [['--json', 'lsit'], /unknown option '--json'|unknown command 'lsit'/],
      [['run', '--json', '--label'], /option '--label <name>' argument missing/],
      [['run', '--json', '--', 'true'], /run needs --issues, or GitHub input/],
    ];
    for (const [args, message] of cases) {
      const result = await cli(...args);
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      const line = expectOneErrorLine(result.stderr, 'INVALID_ARGUMENT');
      expect(line).toMatch(message);
      const { error } = json<{ error: Record<string, unknown> }>(result);
      expect(error).toEqual({
        name: 'MiyabiError',
        code: 'INVALID_ARGUMENT',
        message: expect.stringMatching(message),
        hint: expect.any(String),
      });
      expect(line).toBe(`miyabi-worktree: error [INVALID_ARGUMENT] ${error.message} (hint: ${error.hint})`);
    }
    // The same shape as bad input found by a command.
    const badIssue = await cli('create', 'abc', '--json');
    expect(badIssue.code).toBe(2);
    expect(json<{ error: object }>(badIssue).error).toMatchObject({
      name: 'MiyabiError',
      code: 'INVALID_ARGUMENT',
      message: expect.any(String),
      hint: expect.any(String),
    });
    // Without --json (or with it only among the arguments of run's command), stdout stays empty.
    for (const args of [
      ['create', '1', '--bogus'],
      ['run', '--issues', '1', '--bogus', '--', 'tool', '--json'],
    ]) {
      const result = await cli(...args);
      expect({ args, code: result.code, stdout: result.stdout }).toEqual({ args, code: 2, stdout: '' });
      expectOneErrorLine(result.stderr, 'INVALID_ARGUMENT');
    }
    expect(repoState(repo.path)).toEqual(before);
  });

  it('create succeeds when the base tracks a dangling symlink where a .worktreeinclude file’s folder is', async () => {
    const repo = createRepoWithDanglingIncludeFolder();

    const result = await runCli(['create', '7', '--base', 'with-link', '--json'], { cwd: repo.path });

    expect(result.code).toBe(0);
    const worktree = json<WorktreeInfo>(result);
    expect(worktree.status).not.toBe('failed');
    expect(lstatSync(join(worktree.path, 'cfgdir')).isSymbolicLink()).toBe(true);
    // Nothing was written through the link (it points at <repo>/victim from the worktree).
    expect(existsSync(join(worktree.path, '..', '..', 'victim'))).toBe(false);
    expect(json<WorktreeInfo[]>(await runCli(['list', '--json'], { cwd: repo.path }))).toEqual([
      expect.objectContaining({ id: worktree.id, status: worktree.status }),
    ]);
  });

  it('report --batch refuses an unknown batch id (naming the recent ones) and a path, with exit 2', async () => {
    const repo = createTempRepo();
    const cli = (...args: string[]) => runCli(args, { cwd: repo.path });
    const none = await cli('report', '--batch', 'batch-unknown');
    expect(none.code).toBe(2);
    expect(none.stdout).toBe('');
    expect(expectOneErrorLine(none.stderr, 'INVALID_ARGUMENT')).toMatch(
      /--batch: no batch 'batch-unknown' is recorded in this repository .*no batch has been recorded yet/,
    );

    const run = await cli('run', '--issues', '1', '--json', '--', process.execPath, '-e', '0');
    expect(run.code).toBe(0);
    const { batchId } = json<{ batchId: string }>(run);
    const known = await cli('report', '--batch', batchId, '--json');
    expect(known.code).toBe(0);
    expect(json<TelemetryStats>(known)).toMatchObject({ creates: 1, executions: 1 });

    const unknown = await cli('report', '--batch', 'batch-unknown', '--json');
    expect(unknown.code).toBe(2);
    expect(expectOneErrorLine(unknown.stderr, 'INVALID_ARGUMENT')).toContain(`recent batches: ${batchId}`);
    expect(json<{ error: { code: string; details: unknown } }>(unknown).error).toMatchObject({
      code: 'INVALID_ARGUMENT',
      details: { batchId: 'batch-unknown', recentBatches: [batchId] },
    });
    for (const bad of ['../../etc', 'a/b', '.hidden', '']) {
      const result = await cli('report', '--batch', bad);
      expect({ bad, code: result.code, stdout: result.stdout }).toEqual({ bad, code: 2, stdout: '' });
      expect(expectOneErrorLine(result.stderr, 'INVALID_ARGUMENT')).toContain('is not a batch id');
    }
  });
});
