import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunTaskOutput } from '../src/cli/run/task-executor.js';
import type { PoolExecutionResult } from '../src/pool/types.js';
import { eventually, json, processAlive, runCli, startCli } from './helpers/cli-process.js';
import { repoState } from './helpers/repo-state.js';
import { createTempRepo, git, type TempRepo, tempDir } from './helpers/temp-repo.js';

type RunJson = PoolExecutionResult<RunTaskOutput>;

/** The main worktree only: no worktree of ours is left. */
function worktreeCount(repo: TempRepo): number {
  return repo
    .git('worktree', 'list', '--porcelain')
    .split('\n')
    .filter((line) => line.startsWith('worktree ')).length;
}

function registry(repo: TempRepo): unknown[] {
  const file = join(repo.path, '.git', 'miyabi', 'registry.json');
  return existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as { worktrees: unknown[] }).worktrees
    : [];
}

/** `node -e <code> <args...>`: a real command, no shell. */
function nodeScript(code: string, ...args: string[]): string[] {
  return [process.execPath, '-e', code, ...args];
}

describe('miyabi-worktree run', () => {
  it('replaces placeholders, sets MIYABI_* variables, copies .worktreeinclude files, runs setup and logs each task', async () => {
    const repo = createTempRepo();
    repo.commit(
      {
        '.gitignore': '.env\nsetup-marker.txt\n',
        '.worktreeinclude': '.env\n',
        'miyabi-worktree.config.json': JSON.stringify({
          branchPattern: 'task/{issue}',
          setup: [
            nodeScript(
              "require('fs').writeFileSync('setup-marker.txt', 'setup ran for ' + process.env.MIYABI_ISSUE_NUMBER)",
            ),
          ],
        }),
      },
      'configure',
    );
    repo.write('.env', 'SECRET=42\n');
    const out = tempDir();
    const record = `
      const fs = require('fs');
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('MIYABI_')));
      fs.writeFileSync(require('path').join(process.argv[1], 'issue-' + env.MIYABI_ISSUE_NUMBER + '.json'), JSON.stringify({
        args: process.argv.slice(2), cwd: process.cwd(), env,
        dotenv: fs.readFileSync('.env', 'utf8'), marker: fs.readFileSync('setup-marker.txt', 'utf8'),
      }));
      console.log('task output for issue ' + env.MIYABI_ISSUE_NUMBER);`;
    const result = await runCli(
      [
        'run',
        '--issues',
        '2,1',
        '--json',
        '--',
        ...nodeScript(record, out, '{issue}', '{branch}', '{path}', '{id}', 'x{issue}y'),
      ],
      { cwd: repo.path },
    );
    expect(result.stderr).not.toContain('error [');
    expect(result.code, result.stderr).toBe(0);
    const batch = json<RunJson>(result);
    expect(batch).toMatchObject({
      totalTasks: 2,
      successCount: 2,
      failedCount: 0,
      allSuccessful: true,
      successRate: 100,
    });
    expect(batch.results.map((r) => r.issueNumber)).toEqual([2, 1]);
    for (const task of batch.results) {
      const seen = JSON.parse(readFileSync(join(out, `issue-${task.issueNumber}.json`), 'utf8'));
      const path = task.worktreePath as string;
      expect(task).toMatchObject({
        status: 'success',
        branchName: `task/${task.issueNumber}`,
        cleanedUp: true,
      });
      expect(seen.args).toEqual([
        String(task.issueNumber),
        `task/${task.issueNumber}`,
        path,
        task.worktreeId,
        `x${task.issueNumber}y`,
      ]);
      expect(seen.cwd).toBe(path);
      expect(seen.env).toMatchObject({
        MIYABI_ISSUE_NUMBER: String(task.issueNumber),
        MIYABI_BRANCH: `task/${task.issueNumber}`,
        MIYABI_WORKTREE_PATH: path,
        MIYABI_WORKTREE_ID: task.worktreeId,
        MIYABI_BATCH_ID: batch.batchId,
      });
      expect(seen.dotenv).toBe('SECRET=42\n');
      expect(seen.marker).toBe(`setup ran for ${task.issueNumber}`);
      expect(task.output).toMatchObject({ exitCode: 0 });
      expect(task.prepare?.copied).toEqual(['.env']);
      expect(task.prepare?.setup).toHaveLength(1);
      expect(readFileSync(task.logFile as string, 'utf8')).toContain(
        `task output for issue ${task.issueNumber}`,
      );
    }
    // Progress off a terminal: plain timestamped lines on stderr, never on stdout.
    expect(result.stderr).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ #1 success/m);
    expect(result.stderr).toContain('ISSUE');
    expect(result.stderr).toContain('📊');
    expect(worktreeCount(repo)).toBe(1);
    expect(registry(repo)).toEqual([]);
  });

  it("keeps the queue's shared secret out of a local batch's tasks (an agent could sign jobs with it)", async () => {
    const repo = createTempRepo();
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion
    const seen = 'printf %s "${MIYABI_QUEUE_SECRET:-none}" > seen.txt && git add -A && git commit -qm seen';
    const result = await runCli(['run', '--issues', '1', '--merge', '--', 'sh', '-c', seen], {
      cwd: repo.path,
      env: { MIYABI_QUEUE_SECRET: 'do-not-share' },
    });
    expect(result.code, result.stderr).toBe(0);
    expect(repo.git('show', 'main:seen.txt')).toBe('none');
  });

  it('fails a task on a non-zero exit with its exit code and last output, times out another, and exits 1', async () => {
    const repo = createTempRepo();
    const code = `
      const n = process.env.MIYABI_ISSUE_NUMBER;
      if (n === '1') { console.log('compiling'); console.error('boom: 3 tests failed'); process.exit(3); }
      if (n === '2') { console.log('thinking forever'); setInterval(() => {}, 1000); }
      else console.log('fine');`;
    const result = await runCli(
      ['run', '--issues', '1-3', '--timeout', '5s', '--json', '--', ...nodeScript(code)],
      {
        cwd: repo.path,
      },
    );
    expect(result.code).toBe(1);
    const batch = json<RunJson>(result);
    expect(batch).toMatchObject({
      totalTasks: 3,
      successCount: 1,
      failedCount: 1,
      timeoutCount: 1,
      allSuccessful: false,
    });
    const [failed, timedOut, ok] = batch.results;
    expect(failed).toMatchObject({ issueNumber: 1, status: 'failed', error: { code: 'COMMAND_FAILED' } });
    expect(failed?.error?.message).toContain('exited with code 3');
    expect(failed?.error?.message).toContain('boom: 3 tests failed');
    expect(failed?.output).toMatchObject({ exitCode: 3 });
    expect(readFileSync(failed?.logFile as string, 'utf8')).toContain('boom: 3 tests failed');
    expect(timedOut).toMatchObject({ issueNumber: 2, status: 'timeout', error: { code: 'TIMEOUT' } });
    expect(timedOut?.durationMs).toBeLessThan(20_000);
    expect(ok).toMatchObject({ issueNumber: 3, status: 'success' });
    expect(worktreeCount(repo)).toBe(1);
    expect(registry(repo)).toEqual([]);
  });

  it('fails a task whose setup command fails, with the setup output, without running the command', async () => {
    const repo = createTempRepo();
    repo.commit({
      'miyabi-worktree.config.json': JSON.stringify({
        setup: [nodeScript("console.error('npm ERR! missing script: prepare'); process.exit(4)")],
      }),
    });
    const marker = join(tempDir(), 'ran');
    const result = await runCli(
      [
        'run',
        '--issues',
        '7',
        '--json',
        '--',
        ...nodeScript("require('fs').writeFileSync(process.argv[1], 'x')", marker),
      ],
      { cwd: repo.path },
    );
    expect(result.code).toBe(1);
    const [task] = json<RunJson>(result).results;
    expect(task).toMatchObject({
      issueNumber: 7,
      status: 'failed',
      stage: 'setup',
      error: { code: 'COMMAND_FAILED' },
    });
    expect(task?.error?.message).toMatch(
      /setup command failed: .* \(exit 4\): npm ERR! missing script: prepare/,
    );
    expect(readFileSync(task?.logFile as string, 'utf8')).toContain('npm ERR! missing script');
    expect(existsSync(marker)).toBe(false);
    expect(worktreeCount(repo)).toBe(1);
  });

  it('refuses bad input with exit 2, one line on stderr, and nothing changed', async () => {
    const repo = createTempRepo();
    const before = repoState(repo.path);
    const cases: [string[], RegExp][] = [
      [['run', '--issues', '', '--', 'true'], /--issues is empty/],
      [['run', '--issues', '8-5', '--', 'true'], /reversed/],
      [['run', '--issues', '1,two', '--', 'true'], /"two" is not an issue number/],
      [['run', '--issues', '1-100000', '--', 'true'], /more than 1000/],
      [['run', '--issues', '1', '--timeout', 'soon', '--', 'true'], /--timeout: "soon" is not a duration/],
      [['run', '--issues', '1', '--concurrency', '0', '--', 'true'], /--concurrency/],
      [['run', '--issues', '1'], /run needs a command after --/],
      [['run', '--issues', '1', '--frobnicate', '--', 'true'], /unknown option '--frobnicate'/],
      [['run', '--issues', '1', '--push', '--', 'true'], /no remote named 'origin'/],
      [['run', '--issues', '1', '--base', 'no-such-branch', '--', 'true'], /no-such-branch/],
      [
        ['run', '--issues', '1', '--merge', '--into', 'x y', '--', 'true'],
        /--into "x y" \(string\) is not a branch name/,
      ],
      [
        ['run', '--issues', '1', '--merge', '--into', 'nope', '--', 'true'],
        /--into: there is no local branch 'nope'/,
      ],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(args, { cwd: repo.path })));
    results.forEach((result, index) => {
      const [args, message] = cases[index] as [string[], RegExp];
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stdout).toBe('');
      const lines = result.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^miyabi-worktree: error \[[A-Z_]+\] /);
      expect(lines[0]).toMatch(message);
      expect(lines[0]).toContain('(hint: ');
    });
    expect(repoState(repo.path)).toEqual(before);
  });

  it('refuses a --log-dir that is a file or inside one before anything starts: exit 2, nothing created', async () => {
    const repo = createTempRepo();
    const outside = tempDir();
    const file = join(outside, 'not-a-folder.log');
    writeFileSync(file, 'keep me\n');
    const before = repoState(repo.path);
    for (const [logDir, problem] of [
      [file, 'is not a folder'],
      [join(file, 'sub', 'logs'), 'is inside a file'],
    ] as const) {
      const result = await runCli(['run', '--issues', '1,2', '--log-dir', logDir, '--', 'true'], {
        cwd: repo.path,
      });
      expect({ logDir, code: result.code, stdout: result.stdout }).toEqual({ logDir, code: 2, stdout: '' });
      const lines = result.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^miyabi-worktree: error \[INVALID_ARGUMENT\] --log-dir: .+ \(hint: .+\)$/);
      expect(lines[0]).toContain(`${logDir} ${problem}`);
    }
    expect(repoState(repo.path)).toEqual(before);
    expect(readFileSync(file, 'utf8')).toBe('keep me\n');
    expect(readdirSync(outside)).toEqual(['not-a-folder.log']);
    // No task started: nothing was recorded, and no default log folder was made either.
    expect(existsSync(join(repo.path, '.git', 'miyabi', 'telemetry.jsonl'))).toBe(false);
    expect(existsSync(join(repo.path, '.git', 'miyabi', 'logs'))).toBe(false);
    // A folder that does not exist yet is fine: it is created.
    const fresh = join(outside, 'new', 'logs');
    const ok = await runCli(['run', '--issues', '1', '--log-dir', fresh, '--', 'true'], { cwd: repo.path });
    expect(ok.code).toBe(0);
    expect(readdirSync(fresh)).toHaveLength(1);
  });

  it('merges successful branches back without touching the checkout, reports a conflict per task, and pushes', async () => {
    const repo = createTempRepo({ withRemote: true });
    const code = `
      const fs = require('fs'), { execFileSync } = require('child_process');
      const n = process.env.MIYABI_ISSUE_NUMBER;
      if (n !== '3') {
        // Issues 1 and 4 both create same.txt: whichever merges second conflicts.
        fs.writeFileSync(n === '1' || n === '4' ? 'same.txt' : 'file-' + n + '.txt', 'written for ' + n + '\\n');
        execFileSync('git', ['add', '-A']);
        execFileSync('git', ['commit', '-q', '-m', 'fix ' + n]);
      }`;
    // Every worktree starts from `start`, which never moves, so 1 and 4 conflict whatever the timing.
    repo.git('branch', 'start');
    const result = await runCli(
      [
        'run',
        '--issues',
        '1-4',
        '--base',
        'start',
        '--merge',
        '--into',
        'main',
        '--push',
        '--json',
        '--',
        ...nodeScript(code),
      ],
      { cwd: repo.path },
    );
    expect(result.code).toBe(1); // the conflict
    const batch = json<RunJson>(result);
    // The conflict fails its task: every count and flag says so, not only the exit code.
    expect(batch).toMatchObject({ successCount: 3, failedCount: 1, allSuccessful: false, successRate: 75 });
    const byIssue = new Map(batch.results.map((r) => [r.issueNumber, r]));
    expect(byIssue.get(2)?.merge).toMatchObject({
      status: expect.stringMatching(/^(merged|fast-forwarded)$/),
      into: 'main',
    });
    expect(byIssue.get(3)?.merge).toMatchObject({ status: 'up-to-date' });
    const conflicted = [1, 4].filter((n) => byIssue.get(n)?.status === 'failed');
    expect(conflicted).toHaveLength(1);
    const loser = byIssue.get(conflicted[0] as number);
    expect(loser).toMatchObject({
      status: 'failed',
      stage: 'merge',
      error: { code: 'MERGE_CONFLICT', conflicts: ['same.txt'] },
    });
    expect(loser?.merge).toBeUndefined();
    // A task that failed its merge is not pushed; its commits stay on its kept branch, nothing lost.
    expect(loser?.push).toBeUndefined();
    expect(repo.git('log', '--format=%s', loser?.branchName as string)).toContain(
      `fix ${loser?.issueNumber}`,
    );
    for (const task of batch.results.filter((r) => r.status === 'success')) {
      expect(task.push).toMatchObject({ remote: 'origin', branchName: task.branchName });
    }
    expect(git(repo.remote as string, 'branch', '--list', 'feature/issue-2')).toContain('feature/issue-2');
    // The user's checkout stayed on main, clean, and was brought along to the merged commit.
    expect(repo.git('symbolic-ref', '--short', 'HEAD')).toBe('main');
    expect(repo.git('status', '--porcelain')).toBe('');
    expect(readFileSync(join(repo.path, 'file-2.txt'), 'utf8')).toBe('written for 2\n');
    expect(existsSync(join(repo.path, 'same.txt'))).toBe(true);
    expect(result.stderr).toMatch(/not merged: \[MERGE_CONFLICT\].*same\.txt/);
    // The conflicted task's worktree is kept where its conflict can be resolved; the others are gone.
    expect(worktreeCount(repo)).toBe(2);
    expect(existsSync(loser?.worktreePath as string)).toBe(true);
  });

  it('stops every task on SIGINT: exit 130, no process and no worktree left', async () => {
    const repo = createTempRepo();
    const pids = tempDir();
    const code = `
      const fs = require('fs'), { spawn } = require('child_process');
      const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
      fs.writeFileSync(require('path').join(process.argv[1], 'issue-' + process.env.MIYABI_ISSUE_NUMBER), process.pid + ' ' + child.pid);
      setInterval(() => {}, 1000);`;
    const cli = startCli(
      ['run', '--issues', '1,2,3', '--concurrency', '2', '--json', '--', ...nodeScript(code, pids)],
      {
        cwd: repo.path,
      },
    );
    expect(await eventually(() => readdirSync(pids).length === 2, 30_000)).toBe(true);
    cli.child.kill('SIGINT');
    const result = await cli.done;
    expect(result.code).toBe(130);
    expect(result.stderr).toContain('SIGINT received');
    const batch = json<RunJson>(result);
    expect(batch.cancelledCount).toBe(3);
    const recorded = readdirSync(pids).flatMap((file) =>
      readFileSync(join(pids, file), 'utf8').split(' ').map(Number),
    );
    expect(recorded).toHaveLength(4);
    for (const pid of recorded) expect(await eventually(() => !processAlive(pid), 5_000)).toBe(true);
    expect(worktreeCount(repo)).toBe(1);
    expect(registry(repo)).toEqual([]);
  });

  it('after a run killed with SIGKILL, cleanup stops its still-running agents before archiving their work', async () => {
    const repo = createTempRepo();
    const pids = tempDir();
    // A silent agent (no output to die on) with a child; both keep writing into the worktree.
    const code = `
      const fs = require('fs'), { spawn } = require('child_process');
      const child = spawn(process.execPath, ['-e', "setInterval(() => require('fs').writeFileSync('child.txt', String(Date.now())), 50)"], { stdio: 'ignore' });
      let n = 0;
      setInterval(() => fs.writeFileSync('agent.txt', String(n++)), 50);
      fs.writeFileSync(require('path').join(process.argv[1], 'pids'), process.pid + ' ' + child.pid);`;
    const cli = startCli(['run', '--issues', '7', '--', ...nodeScript(code, pids)], { cwd: repo.path });
    expect(await eventually(() => existsSync(join(pids, 'pids')), 30_000)).toBe(true);
    cli.child.kill('SIGKILL');
    await cli.done;
    const agents = readFileSync(join(pids, 'pids'), 'utf8').split(' ').map(Number);
    // The runner is gone but its agents are not: they live in their own process group.
    for (const pid of agents) expect(processAlive(pid)).toBe(true);

    const cleanup = await runCli(['cleanup', '--json'], { cwd: repo.path });
    expect(cleanup.code).toBe(0);
    const report = json<{ removed: { id: string; path: string; stoppedProcesses?: number[] }[] }>(cleanup);
    expect(report.removed).toHaveLength(1);
    const [removed] = report.removed;
    expect(removed?.stoppedProcesses).toEqual(expect.arrayContaining(agents));
    for (const pid of agents) expect(processAlive(pid)).toBe(false);
    // Their work was archived, and nothing writes the folder back afterwards.
    const ref = `refs/miyabi/archive/${removed?.id}`;
    expect(repo.git('ls-tree', '--name-only', ref)).toContain('agent.txt');
    expect(repo.git('ls-tree', '--name-only', ref)).toContain('child.txt');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(existsSync(removed?.path as string)).toBe(false);
    expect(worktreeCount(repo)).toBe(1);
    expect(registry(repo)).toEqual([]);
  });

  it('forces exit on a second signal, and cleanup reclaims what was left', async () => {
    const repo = createTempRepo();
    const pids = tempDir();
    const code = `
      require('fs').writeFileSync(require('path').join(process.argv[1], 'issue-' + process.env.MIYABI_ISSUE_NUMBER), String(process.pid));
      process.on('SIGTERM', () => {}); // ignores the polite stop: only SIGKILL ends it
      setInterval(() => {}, 1000);`;
    const cli = startCli(['run', '--issues', '1,2', '--', ...nodeScript(code, pids)], { cwd: repo.path });
    expect(await eventually(() => readdirSync(pids).length === 2, 30_000)).toBe(true);
    cli.child.kill('SIGINT');
    await eventually(() => cli.stderr().includes('SIGINT received'), 5_000);
    cli.child.kill('SIGTERM');
    const result = await cli.done;
    expect(result.code).toBe(130);
    expect(result.stderr).toMatch(/forced exit .*miyabi-worktree cleanup/);
    for (const file of readdirSync(pids)) {
      const pid = Number(readFileSync(join(pids, file), 'utf8'));
      expect(await eventually(() => !processAlive(pid), 5_000)).toBe(true);
    }
    const cleanup = await runCli(['cleanup', '--json'], { cwd: repo.path });
    expect(cleanup.code).toBe(0);
    const report = json<{ removed: unknown[]; reconciled: unknown[] }>(cleanup);
    expect(report.removed.length + report.reconciled.length).toBeGreaterThan(0);
    expect(worktreeCount(repo)).toBe(1);
    expect(registry(repo)).toEqual([]);
  });
});
