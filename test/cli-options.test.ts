import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunTaskOutput } from '../src/cli/run/task-executor.js';
import type { MergeResult, PushResult, RemoveResult, WorktreeInfo } from '../src/core/types.js';
import type { PoolExecutionResult } from '../src/pool/types.js';
import type { TelemetryStats } from '../src/telemetry/stats.js';
import { type CliResult, json, runCli } from './helpers/cli-process.js';
import { worktreePaths } from './helpers/repo-state.js';
import { createTempRepo, git, tempDir } from './helpers/temp-repo.js';

type RunJson = PoolExecutionResult<RunTaskOutput>;

/** `node -e <code> <args...>`: a real command, no shell. */
function nodeScript(code: string, ...args: string[]): string[] {
  return [process.execPath, '-e', code, ...args];
}

/** Commits `files` in a worktree; returns the new commit. */
function commitIn(path: string, files: Record<string, string>, message: string): string {
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(path, name)), { recursive: true });
    writeFileSync(join(path, name), content);
  }
  git(path, 'add', '-A');
  git(path, 'commit', '-q', '-m', message);
  return git(path, 'rev-parse', 'HEAD');
}

/** True when `refs/heads/<branch>` exists. */
function branchExists(cwd: string, branch: string): boolean {
  return git(cwd, 'branch', '--list', branch) !== '';
}

/** The JSON lines (pino records) among the stderr lines. */
function jsonLines(stderr: string): Record<string, unknown>[] {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function ok(result: CliResult): CliResult {
  expect(result.code, `stderr: ${result.stderr}`).toBe(0);
  return result;
}

describe('miyabi-worktree command options', () => {
  it('create --base B starts the worktree from B (baseBranch and HEAD), and refuses an unknown base', async () => {
    const repo = createTempRepo();
    const mainTip = repo.git('rev-parse', 'HEAD');
    repo.git('checkout', '-q', '-b', 'develop');
    const developTip = repo.commit({ 'develop.txt': 'develop only\n' }, 'develop work');
    repo.git('checkout', '-q', 'main');
    expect(developTip).not.toBe(mainTip);
    const cli = (...args: string[]) => runCli(args, { cwd: repo.path });

    const created = ok(await cli('create', '7', '--base', 'develop', '--json'));
    const info = json<WorktreeInfo>(created);
    expect(info).toMatchObject({
      issueNumber: 7,
      branchName: 'feature/issue-7',
      baseBranch: 'develop',
      status: 'active',
    });
    expect(created.stderr).toContain(
      `Created ${info.id} for issue #7 on branch feature/issue-7 (from develop)`,
    );
    expect(git(info.path, 'rev-parse', 'HEAD')).toBe(developTip);
    expect(git(info.path, 'symbolic-ref', '--short', 'HEAD')).toBe('feature/issue-7');
    expect(readFileSync(join(info.path, 'develop.txt'), 'utf8')).toBe('develop only\n');
    // The main checkout is untouched, and a plain create still starts from main.
    expect(repo.git('symbolic-ref', '--short', 'HEAD')).toBe('main');
    const plain = json<WorktreeInfo>(ok(await cli('create', '8', '--json')));
    expect(plain.baseBranch).toBe('main');
    expect(git(plain.path, 'rev-parse', 'HEAD')).toBe(mainTip);

    const before = worktreePaths(repo.path);
    const unknown = await cli('create', '9', '--base', 'no-such-branch', '--json');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^miyabi-worktree: error \[INVALID_ARGUMENT\] --base: .*no-such-branch/);
    expect(worktreePaths(repo.path)).toEqual(before);
    expect(branchExists(repo.path, 'feature/issue-9')).toBe(false);
  });

  it('status without --json prints the repository, the worktree count by status, the base branch and a table', async () => {
    const repo = createTempRepo();
    const cli = (...args: string[]) => runCli(args, { cwd: repo.path });

    const empty = ok(await cli('status'));
    expect(empty.stdout.split('\n').slice(0, 4)).toEqual([
      `Repository:  ${repo.path}`,
      `Worktrees:   0 in ${repo.path}.worktrees`,
      'Base branch: main',
      'Config:      none (defaults)',
    ]);
    expect(empty.stdout).not.toContain('ISSUE');

    const one = json<WorktreeInfo>(ok(await cli('create', '1', '--json')));
    const two = json<WorktreeInfo>(ok(await cli('create', '2', '--json')));
    expect((await cli('run', '--issues', '3', '--keep', '--', ...nodeScript('process.exit(1)'))).code).toBe(
      1,
    );
    const status = ok(await cli('status'));
    const lines = status.stdout.split('\n');
    expect(lines.slice(0, 4)).toEqual([
      `Repository:  ${repo.path}`,
      `Worktrees:   3 (2 active, 1 failed) in ${repo.path}.worktrees`,
      'Base branch: main',
      'Config:      none (defaults)',
    ]);
    expect(lines[4]).toMatch(/^Disk: +worktrees \d.* · archives ~\d.* \(0\) · logs \d/);
    expect(status.stdout).toMatch(
      /^ID\s+ISSUE\s+STATUS\s+LAST TASK\s+BRANCH\s+BASE\s+\+\/-\s+AGE\s+DISK\s+PATH\s*$/m,
    );
    expect(status.stdout).toMatch(
      new RegExp(
        `^${one.id}\\s+#1\\s+active\\s+feature/issue-1\\s+main\\s+\\+0/-0\\s+\\S+\\s+[\\d.]+ K?i?B\\s+${one.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`,
        'm',
      ),
    );
    expect(status.stdout).toMatch(new RegExp(`^${two.id}\\s+#2\\s+active\\s+feature/issue-2\\s`, 'm'));
    expect(status.stdout).toMatch(
      /^issue-3-[0-9a-f]{8}\s+#3\s+failed\s+failed at execute\s+feature\/issue-3\s/m,
    );
    expect(status.stderr).toBe('');
  });

  it('remove --keep-branch keeps the branch ref; a plain remove of a merged branch deletes it', async () => {
    const repo = createTempRepo();
    const cli = (...args: string[]) => runCli(args, { cwd: repo.path });

    const kept = json<WorktreeInfo>(ok(await cli('create', '1', '--json')));
    const keptTip = commitIn(kept.path, { 'one.txt': 'one\n' }, 'one');
    ok(await cli('merge', '1'));
    expect(repo.git('rev-parse', 'main')).toBe(keptTip);
    const keptRemoval = json<RemoveResult>(ok(await cli('remove', '1', '--keep-branch', '--json')));
    expect(keptRemoval).toMatchObject({
      id: kept.id,
      worktreeRemoved: true,
      branchDeleted: false,
      archived: null,
    });
    expect(keptRemoval.branchKeptReason).toBe('deleteBranch is false');
    expect(existsSync(kept.path)).toBe(false);
    expect(repo.git('rev-parse', 'refs/heads/feature/issue-1')).toBe(keptTip);

    const gone = json<WorktreeInfo>(ok(await cli('create', '2', '--json')));
    const goneTip = commitIn(gone.path, { 'two.txt': 'two\n' }, 'two');
    ok(await cli('merge', '2'));
    expect(repo.git('rev-parse', 'main')).toBe(goneTip);
    const plain = ok(await cli('remove', '2'));
    expect(plain.stdout).toContain(`removed ${gone.id} (${gone.path}); branch feature/issue-2 deleted`);
    expect(existsSync(gone.path)).toBe(false);
    expect(branchExists(repo.path, 'feature/issue-2')).toBe(false);
    expect(repo.git('for-each-ref', '--format=%(refname)', 'refs/miyabi/archive/')).toBe('');
    // The kept branch is still there, untouched by the second removal.
    expect(repo.git('rev-parse', 'refs/heads/feature/issue-1')).toBe(keptTip);
  });

  it('push --remote second pushes the branch to that remote only and tracks it', async () => {
    const repo = createTempRepo({ withRemote: true });
    const second = join(tempDir(), 'second.git');
    git(dirname(second), 'init', '-q', '--bare', '-b', 'main', second);
    repo.git('remote', 'add', 'second', second);
    const cli = (...args: string[]) => runCli(args, { cwd: repo.path });

    const info = json<WorktreeInfo>(ok(await cli('create', '5', '--json')));
    const tip = commitIn(info.path, { 'pushed.txt': 'to the second remote\n' }, 'work for #5');
    const pushed = json<PushResult>(ok(await cli('push', '5', '--remote', 'second', '--json')));
    expect(pushed).toEqual({
      id: info.id,
      remote: 'second',
      branchName: 'feature/issue-5',
      commit: tip,
      upstream: 'refs/remotes/second/feature/issue-5',
    });
    expect(git(second, 'rev-parse', 'refs/heads/feature/issue-5')).toBe(tip);
    expect(git(repo.remote as string, 'branch', '--list', 'feature/issue-5')).toBe('');
    expect(repo.git('rev-parse', 'refs/remotes/second/feature/issue-5')).toBe(tip);
    expect(git(info.path, 'rev-parse', '--abbrev-ref', '@{upstream}')).toBe('second/feature/issue-5');

    const human = ok(await cli('push', info.id, '--remote', 'second'));
    expect(human.stdout).toBe(
      `Pushed feature/issue-5 (${tip.slice(0, 12)}) to second; upstream refs/remotes/second/feature/issue-5\n`,
    );

    // A remote that does not exist is bad input (exit 2), as it is for `run --push --remote`.
    const missing = await cli('push', '5', '--remote', 'nowhere');
    expect(missing.code).toBe(2);
    expect(missing.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^miyabi-worktree: error \[NO_REMOTE\] .*'nowhere'/),
    ]);
    expect(git(second, 'rev-parse', 'refs/heads/feature/issue-5')).toBe(tip);
  });

  it('merge --squash --into release adds one single-parent commit to release and leaves the main checkout alone', async () => {
    const repo = createTempRepo();
    repo.git('branch', 'release');
    repo.git('checkout', '-q', 'release');
    const releaseTip = repo.commit({ 'RELEASE.md': 'release notes\n' }, 'release notes');
    repo.git('checkout', '-q', 'main');
    const mainTip = repo.git('rev-parse', 'HEAD');
    // The user's checkout has work in progress: it must survive as is.
    repo.write('README.md', '# edited but not committed\n');
    repo.write('scratch.txt', 'untracked\n');
    const statusBefore = repo.git('status', '--porcelain=v1', '--untracked-files=all');
    const cli = (...args: string[]) => runCli(args, { cwd: repo.path });

    const info = json<WorktreeInfo>(ok(await cli('create', '3', '--json')));
    commitIn(info.path, { 'a.txt': 'a\n' }, 'first step');
    const branchTip = commitIn(info.path, { 'b.txt': 'b\n' }, 'second step');

    const merged = ok(await cli('merge', '3', '--squash', '--into', 'release', '--json'));
    const result = json<MergeResult>(merged);
    const newTip = repo.git('rev-parse', 'release');
    expect(result).toEqual({
      id: info.id,
      branchName: 'feature/issue-3',
      into: 'release',
      strategy: 'squash',
      status: 'merged',
      commit: newTip,
      previousCommit: releaseTip,
      updatedCheckout: null,
      changedFiles: 2,
    });
    expect(repo.git('rev-list', '--count', `${releaseTip}..release`)).toBe('1');
    expect(repo.git('rev-list', '--parents', '-n', '1', 'release')).toBe(`${newTip} ${releaseTip}`);
    expect(repo.git('ls-tree', '--name-only', 'release').split('\n').sort()).toEqual([
      'README.md',
      'RELEASE.md',
      'a.txt',
      'b.txt',
    ]);
    expect(repo.git('show', 'release:README.md')).toBe('# test repo');
    // Squash: the branch's commits are not part of release's history.
    expect(repo.git('rev-list', 'release').split('\n')).not.toContain(branchTip);
    // Nothing else moved: main, the worktree branch, the user's checkout.
    expect(repo.git('rev-parse', 'main')).toBe(mainTip);
    expect(repo.git('rev-parse', 'feature/issue-3')).toBe(branchTip);
    expect(repo.git('symbolic-ref', '--short', 'HEAD')).toBe('main');
    expect(repo.git('rev-parse', 'HEAD')).toBe(mainTip);
    expect(repo.git('status', '--porcelain=v1', '--untracked-files=all')).toBe(statusBefore);
    expect(readFileSync(join(repo.path, 'README.md'), 'utf8')).toBe('# edited but not committed\n');
    expect(existsSync(join(repo.path, 'a.txt'))).toBe(false);
    expect(existsSync(join(repo.path, '.git', 'MERGE_HEAD'))).toBe(false);
  });

  it('run --concurrency 2 never has more than 2 tasks (nor worktrees) at once, and all 4 succeed', async () => {
    const repo = createTempRepo();
    const shared = tempDir();
    mkdirSync(join(shared, 'running'));
    mkdirSync(join(shared, 'seen'));
    const worktreesDir = `${repo.path}.worktrees`;
    // Each task marks itself running, then polls how many tasks are running (and how many worktree
    // folders exist) until it has overlapped with a partner for a while, or waited long enough alone.
    const code = `
      const fs = require('fs'), path = require('path');
      const [dir, worktrees] = process.argv.slice(1);
      const issue = process.env.MIYABI_ISSUE_NUMBER;
      const me = path.join(dir, 'running', issue);
      fs.writeFileSync(me, String(process.pid));
      let max = 0, maxFolders = 0, partnerAt = 0;
      const started = Date.now();
      const tick = () => {
        const running = fs.readdirSync(path.join(dir, 'running')).length;
        max = Math.max(max, running);
        maxFolders = Math.max(maxFolders, fs.readdirSync(worktrees).length);
        const now = Date.now();
        if (running >= 2 && partnerAt === 0) partnerAt = now;
        if ((partnerAt !== 0 && now - partnerAt >= 500) || now - started >= 10000) {
          fs.writeFileSync(path.join(dir, 'seen', issue), JSON.stringify({ max, maxFolders }));
          fs.unlinkSync(me);
          return;
        }
        setTimeout(tick, 20);
      };
      tick();`;
    const result = await runCli(
      [
        'run',
        '--issues',
        '1,2,3,4',
        '--concurrency',
        '2',
        '--json',
        '--',
        ...nodeScript(code, shared, worktreesDir),
      ],
      { cwd: repo.path },
    );
    expect(result.code, result.stderr).toBe(0);
    const batch = json<RunJson>(result);
    expect(batch).toMatchObject({ totalTasks: 4, successCount: 4, failedCount: 0, allSuccessful: true });
    expect(batch.results.map((r) => [r.issueNumber, r.status])).toEqual([
      [1, 'success'],
      [2, 'success'],
      [3, 'success'],
      [4, 'success'],
    ]);
    expect(result.stderr).toContain('(2 at a time,');
    const seen = readdirSync(join(shared, 'seen'))
      .sort()
      .map(
        (issue) => JSON.parse(readFileSync(join(shared, 'seen', issue), 'utf8')) as Record<string, number>,
      );
    expect(seen).toHaveLength(4);
    expect(Math.max(...seen.map((s) => s.max as number))).toBe(2);
    expect(Math.max(...seen.map((s) => s.maxFolders as number))).toBeLessThanOrEqual(2);
    expect(readdirSync(join(shared, 'running'))).toEqual([]);
    expect(worktreePaths(repo.path)).toEqual([repo.path]);
  });

  it('run --fail-fast at concurrency 1: the first failure cancels the rest, exit 1', async () => {
    const repo = createTempRepo();
    const cli = (...args: string[]) => runCli(args, { cwd: repo.path });
    const ran = tempDir();
    const code = `
      const n = process.env.MIYABI_ISSUE_NUMBER;
      require('fs').writeFileSync(require('path').join(process.argv[1], 'ran-' + n), n);
      process.exit(n === '1' ? 1 : 0);`;

    const failFast = (dir: string, ...output: string[]) =>
      cli(
        'run',
        '--issues',
        '1,2,3',
        '--concurrency',
        '1',
        '--fail-fast',
        ...output,
        '--',
        ...nodeScript(code, dir),
      );
    const result = await failFast(ran, '--json');
    expect(result.code).toBe(1);
    const batch = json<RunJson>(result);
    expect(batch).toMatchObject({
      totalTasks: 3,
      successCount: 0,
      failedCount: 1,
      timeoutCount: 0,
      cancelledCount: 2,
      notStartedCount: 2,
      allSuccessful: false,
      successRate: 0,
    });
    expect(batch.results.map((r) => [r.issueNumber, r.status])).toEqual([
      [1, 'failed'],
      [2, 'cancelled'],
      [3, 'cancelled'],
    ]);
    expect(batch.results[0]?.error).toMatchObject({ code: 'COMMAND_FAILED' });
    expect(readdirSync(ran)).toEqual(['ran-1']);
    expect(worktreePaths(repo.path)).toEqual([repo.path]);

    // Without --json: the same outcome in the summary's total line.
    const ranAgain = tempDir();
    const human = await failFast(ranAgain);
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/^#1\s+failed/m);
    expect(human.stdout).toMatch(/^#2\s+cancelled/m);
    expect(human.stdout).toMatch(/^#3\s+cancelled/m);
    // Queued tasks that fail-fast cancelled never started: said so, as the report says it.
    expect(human.stdout).toMatch(/^3 tasks: 1 failed · 2 cancelled before starting in /m);
    expect(readdirSync(ranAgain)).toEqual(['ran-1']);
  });

  it('report --locale en prints the seven English lines with the figures of the history', async () => {
    const repo = createTempRepo();
    const cli = (...args: string[]) => runCli(args, { cwd: repo.path });
    const code = "process.exit(process.env.MIYABI_ISSUE_NUMBER === '2' ? 1 : 0)";
    expect((await cli('run', '--issues', '1,2', '--', ...nodeScript(code))).code).toBe(1);

    const report = ok(await cli('report', '--locale', 'en'));
    const lines = report.stdout.trimEnd().split('\n');
    const stats = json<TelemetryStats>(ok(await cli('report', '--json')));
    // The seven lines, then "Peak memory" only when the sampler caught a task (a loaded machine's slow ones).
    expect(lines).toHaveLength((stats.resources?.peakRssBytes ?? 0) > 0 ? 8 : 7);
    expect(lines.slice(7).every((line) => line.startsWith('- Peak memory: '))).toBe(true);
    expect(lines[0]).toBe('📊 Worktree execution report');
    expect(lines.slice(1, 5)).toEqual([
      '- Created: 2',
      '- Executed: 2 (succeeded: 1, failed: 1)',
      '- Cleaned up: 2',
      expect.stringMatching(/^- Errors: \d+$/),
    ]);
    expect(lines[5]).toMatch(/^- Average execution time: \d+\.\d\ds$/);
    expect(lines[6]).toBe('- Success rate: 50.0%');
    expect(report.stdout).not.toMatch(/[回秒]/);

    expect(lines[4]).toBe(`- Errors: ${stats.errors}`);
    expect(lines[5]).toBe(`- Average execution time: ${(stats.averageExecutionMs / 1000).toFixed(2)}s`);
    // English is the default.
    expect(ok(await cli('report')).stdout).toBe(report.stdout);
  });

  it('prints a stack trace on an error only with --verbose; without it, exactly one line', async () => {
    const repo = createTempRepo();
    const cli = (...args: string[]) => runCli(args, { cwd: repo.path });
    const plain = await cli('remove', '99');
    expect(plain.code).toBe(1);
    expect(plain.stdout).toBe('');
    const lines = plain.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^miyabi-worktree: error \[NOT_FOUND\] no worktree for issue 99 \(hint: .+\)$/);

    for (const args of [
      ['remove', '99', '--verbose'],
      ['--verbose', 'remove', '99'],
    ]) {
      const verbose = await cli(...args);
      expect(verbose.code).toBe(1);
      const verboseLines = verbose.stderr.trimEnd().split('\n');
      expect(verboseLines[0]).toBe(lines[0]);
      expect(verboseLines.length).toBeGreaterThan(2);
      expect(verbose.stderr).toMatch(/\n\s+at /);
      expect(verbose.stderr).toContain('no worktree for issue 99');
    }
  });

  it('works from a subfolder and from inside a linked worktree on the same main repository', async () => {
    const repo = createTempRepo({ files: { 'README.md': '# r\n', 'pkg/sub/file.txt': 'x\n' } });
    const from = (cwd: string, ...args: string[]) => runCli(args, { cwd });
    const worktreesDir = `${repo.path}.worktrees`;

    const first = json<WorktreeInfo>(ok(await from(repo.path, 'create', '1', '--json')));
    const subfolder = join(repo.path, 'pkg', 'sub');
    const inWorktree = join(first.path, 'pkg', 'sub');
    expect(existsSync(inWorktree)).toBe(true);

    const fromRoot = json<WorktreeInfo[]>(ok(await from(repo.path, 'list', '--json')));
    expect(fromRoot).toEqual([first]);
    expect(json<WorktreeInfo[]>(ok(await from(subfolder, 'list', '--json')))).toEqual(fromRoot);
    expect(json<WorktreeInfo[]>(ok(await from(first.path, 'list', '--json')))).toEqual(fromRoot);
    expect(json<WorktreeInfo[]>(ok(await from(inWorktree, 'list', '--json')))).toEqual(fromRoot);

    const second = json<WorktreeInfo>(ok(await from(subfolder, 'create', '2', '--json')));
    expect(dirname(second.path)).toBe(worktreesDir);
    const third = json<WorktreeInfo>(ok(await from(inWorktree, 'create', '3', '--json')));
    expect(dirname(third.path)).toBe(worktreesDir);
    expect(existsSync(join(first.path, '.worktrees'))).toBe(false);
    expect(existsSync(join(subfolder, '.worktrees'))).toBe(false);
    expect(readdirSync(worktreesDir).sort()).toEqual([first.id, second.id, third.id].sort());

    const all = json<WorktreeInfo[]>(ok(await from(repo.path, 'list', '--json')));
    expect(all.map((w) => w.issueNumber)).toEqual([1, 2, 3]);
    expect(json<WorktreeInfo[]>(ok(await from(third.path, 'list', '--json')))).toEqual(all);
    const status = ok(await from(inWorktree, 'status'));
    expect(status.stdout).toContain(`Repository:  ${repo.path}\n`);
    expect(status.stdout).toContain(`Worktrees:   3 (3 active) in ${worktreesDir}\n`);

    // Removing from inside another linked worktree works on the same registry.
    ok(await from(inWorktree, 'remove', '2'));
    expect(existsSync(second.path)).toBe(false);
    expect(json<WorktreeInfo[]>(ok(await from(subfolder, 'list', '--json'))).map((w) => w.id)).toEqual([
      first.id,
      third.id,
    ]);
    expect(repo.git('status', '--porcelain=v1', '--untracked-files=all')).toBe('');
  }, 180_000); // many CLI processes in a row: slow on a loaded 2-core machine

  it('--log-json writes pino JSON lines with worktreeId, branch and durationMs to stderr, stdout stays clean', async () => {
    const repo = createTempRepo();
    const cli = (...args: string[]) => runCli(args, { cwd: repo.path });

    const quiet = ok(await cli('create', '4', '--json'));
    expect(jsonLines(quiet.stderr)).toEqual([]);
    ok(await cli('remove', '4'));

    const created = ok(await cli('--log-json', 'create', '5', '--json'));
    const info = json<WorktreeInfo>(created);
    const createLogs = jsonLines(created.stderr);
    const complete = createLogs.find((line) => line.msg === 'worktree create-complete');
    expect(complete).toMatchObject({
      name: 'miyabi-worktree',
      worktreeId: info.id,
      branch: 'feature/issue-5',
      issueNumber: 5,
      path: info.path,
    });
    expect(complete?.durationMs).toEqual(expect.any(Number));
    expect(Number.isInteger(complete?.durationMs)).toBe(true);
    for (const line of createLogs) expect(line).toMatchObject({ level: expect.any(Number) });

    commitIn(info.path, { 'logged.txt': 'x\n' }, 'logged work');
    const merged = ok(await cli('merge', '5', '--log-json'));
    expect(merged.stdout).toMatch(/^Fast-forwarded feature\/issue-5 into main/);
    const mergeLog = jsonLines(merged.stderr).find((line) => line.msg === 'merge');
    expect(mergeLog).toMatchObject({ worktreeId: info.id, branch: 'feature/issue-5', into: 'main' });
    expect(mergeLog?.durationMs).toEqual(expect.any(Number));

    const removed = ok(await cli('remove', '5', '--log-json'));
    expect(removed.stdout).toContain(`removed ${info.id}`);
    const cleanup = jsonLines(removed.stderr).find((line) => line.msg === 'worktree cleanup-complete');
    expect(cleanup).toMatchObject({ worktreeId: info.id, branch: 'feature/issue-5', branchDeleted: true });
    expect(cleanup?.durationMs).toEqual(expect.any(Number));
    // Every stderr line is a JSON record: nothing for people was mixed in.
    expect(
      removed.stderr
        .trimEnd()
        .split('\n')
        .every((line) => line.startsWith('{')),
    ).toBe(true);
  });
});
