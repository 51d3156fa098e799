import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunTaskOutput } from '../src/cli/run/task-executor.js';
import type { PoolExecutionResult } from '../src/pool/types.js';
import { json, runCli } from './helpers/cli-process.js';
import { AGENT, PROJECT_FILES, passesHere } from './helpers/semantic-conflict.js';
import { createTempRepo, git, type TempRepo, tempDir } from './helpers/temp-repo.js';

type RunJson = PoolExecutionResult<RunTaskOutput>;

function project(): TempRepo {
  const repo = createTempRepo();
  repo.commit(PROJECT_FILES, 'a project with a check');
  return repo;
}

describe('landing: the target only takes commits whose tree passed the check', () => {
  it('two agents whose branches merge cleanly but break each other: one lands, the other fails at check, kept; main passes', async () => {
    const repo = project();
    const page = join(tempDir(), 'batch.html');
    const result = await runCli(
      [
        'run',
        '--issues',
        '1,2',
        '--merge',
        '--check',
        'node check.js',
        '--html',
        page,
        '--json',
        '--',
        process.execPath,
        '-e',
        AGENT,
      ],
      { cwd: repo.path },
    );
    expect(result.code).toBe(1);
    const batch = json<RunJson>(result);
    const landed = batch.results.filter((r) => r.status === 'success');
    const refused = batch.results.filter((r) => r.status !== 'success');
    expect(landed).toHaveLength(1);
    expect(refused).toHaveLength(1);
    const [failed] = refused;
    expect(failed?.stage).toBe('check');
    expect(failed?.error?.code).toBe('CHECK_FAILED');
    expect(failed?.error?.message).toMatch(
      /^the check failed on top of main \(exit 1\): .*; log: \/.+\.log$/,
    );
    expect(failed?.cleanedUp).toBe(false);
    expect(existsSync(failed?.worktreePath ?? '')).toBe(true);
    // Kept on its own branch, as the agent left it (not on the candidate).
    expect(git(failed?.worktreePath ?? '', 'rev-parse', '--abbrev-ref', 'HEAD')).toBe(failed?.branchName);
    expect(failed?.landing?.checks).toBe(1);
    expect(failed?.landing?.lastCheck?.ok).toBe(false);
    expect(readFileSync(failed?.landing?.lastCheck?.checkLog ?? '', 'utf8')).toMatch(
      /greet is not a function/,
    );
    expect(landed[0]?.landing?.checkedCommit).toBe(landed[0]?.merge?.commit);
    expect(git(repo.path, 'rev-parse', 'main')).toBe(landed[0]?.merge?.commit);
    expect(passesHere(repo.path)).toBe(true);
    // Every view says the same: the table's stage and MERGE cell, the report's extra line, the page.
    expect(result.stderr).toMatch(/failed \(check\)\s.*check failed/);
    expect(result.stderr).toMatch(/merged, checked|fast-forwarded, checked/);
    expect(result.stderr).toMatch(
      new RegExp(
        `#${failed?.issueNumber}: worktree kept at .*; once fixed there: miyabi-worktree land ${failed?.issueNumber}`,
      ),
    );
    expect(result.stderr).toMatch(/^- Checks failed: 1$/m);
    const html = readFileSync(page, 'utf8');
    expect(html).toContain('landing check');
    expect(html).toMatch(/class="[^"]*phase-check/);
  });

  it('with --on-check-fail agent the agent fixes it on top of the current main with the check log, both land, main passes', async () => {
    const repo = project();
    const seen = join(tempDir(), 'seen.txt');
    const result = await runCli(
      [
        'run',
        '--issues',
        '1,2',
        '--merge',
        '--check',
        'node check.js',
        '--on-check-fail',
        'agent',
        '--json',
        '--',
        process.execPath,
        '-e',
        AGENT,
        '{checkLog}',
      ],
      { cwd: repo.path, env: { SEEN_LOGS: seen } },
    );
    expect(result.code).toBe(0);
    const batch = json<RunJson>(result);
    expect(batch.results.map((r) => r.status)).toEqual(['success', 'success']);
    // The agent saw the check's output, through MIYABI_CHECK_LOG and {checkLog} alike.
    const seenText = readFileSync(seen, 'utf8');
    expect(seenText).toMatch(/greet is not a function/);
    expect(seenText).toMatch(/--- \/.+checks\/.+\.log/);
    const fixed = batch.results.find((r) => (r.resolveAttempts?.length ?? 0) > 0);
    expect(fixed?.landing?.checks).toBe(2);
    expect(passesHere(repo.path)).toBe(true);
    expect(readFileSync(join(repo.path, 'extra.js'), 'utf8')).toContain('hello(');
  });

  it('a person commits to main mid-batch: every value main took is theirs or a commit whose tree passed the check', async () => {
    const repo = project();
    const base = git(repo.path, 'rev-parse', 'main');
    const dir = tempDir();
    const passed = join(dir, 'passed.txt');
    // Two tasks that do not break each other: issue 2 only adds a call to greet(), issue 3 a file.
    const agent = `
      const fs = require('fs'), { execFileSync } = require('child_process');
      fs.writeFileSync('task' + process.env.MIYABI_ISSUE_NUMBER + '.js', 'require("./lib").greet();\\n');
      execFileSync('git', ['add', '-A']); execFileSync('git', ['commit', '-q', '-m', 'task']);`;
    const result = await runCli(
      [
        'run',
        '--issues',
        '2,3',
        '--merge',
        '--check',
        'node check.js',
        '--json',
        '--',
        process.execPath,
        '-e',
        agent,
      ],
      {
        cwd: repo.path,
        env: { PASSED_TREES: passed, PERSON_REPO: repo.path, PERSON_MARK: join(dir, 'person') },
      },
    );
    expect(result.code).toBe(0);
    const batch = json<RunJson>(result);
    const person = git(repo.path, 'log', '-1', '--format=%H', '--grep', 'a person commits', 'main');
    expect(person).toMatch(/^[0-9a-f]{40}$/);
    // One landing had to build and check again on top of the person's commit.
    expect(batch.results.some((r) => (r.landing?.checks ?? 0) >= 2)).toBe(true);
    const passedTrees = new Set(readFileSync(passed, 'utf8').split('\n').filter(Boolean));
    const values = git(repo.path, 'reflog', 'show', '--format=%H', 'refs/heads/main').split('\n').reverse();
    const since = values.slice(values.indexOf(base) + 1);
    expect(since.length).toBeGreaterThanOrEqual(3);
    for (const commit of since) {
      if (commit === person) continue;
      expect(passedTrees.has(git(repo.path, 'rev-parse', `${commit}^{tree}`))).toBe(true);
    }
    expect(passesHere(repo.path)).toBe(true);
  });

  it('a red base is refused before any agent runs: exit 1, CHECK_FAILS_ON_BASE, no worktree; --allow-red-base runs it', async () => {
    const repo = project();
    repo.commit({ 'broken.js': 'require("./lib").nothing();\n' }, 'main is red');
    const ran = join(tempDir(), 'ran.txt');
    const agent = `const fs = require('fs'), { execFileSync } = require('child_process');
      fs.appendFileSync(${JSON.stringify(ran)}, 'x'); fs.writeFileSync('note.txt', 'x');
      execFileSync('git', ['add', '-A']); execFileSync('git', ['commit', '-q', '-m', 'note']);`;
    const result = await runCli(
      ['run', '--issues', '1', '--merge', '--check', 'node check.js', '--', process.execPath, '-e', agent],
      { cwd: repo.path },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /\[CHECK_FAILS_ON_BASE\] the check fails on the base main itself \(exit 1\)/,
    );
    expect(readFileSync(join(repo.path, '.git/miyabi/checks/base.log'), 'utf8')).toMatch(
      /nothing is not a function/,
    );
    expect(result.stderr).toMatch(/--allow-red-base/);
    expect(existsSync(ran)).toBe(false);
    expect(git(repo.path, 'worktree', 'list').split('\n')).toHaveLength(1);
    const red = git(repo.path, 'rev-parse', 'main');
    const allowed = await runCli(
      [
        'run',
        '--issues',
        '1',
        '--merge',
        '--check',
        'node check.js',
        '--allow-red-base',
        '--json',
        '--',
        process.execPath,
        '-e',
        agent,
      ],
      { cwd: repo.path },
    );
    expect(existsSync(ran)).toBe(true);
    // The agent fixed nothing: its candidate is still red, and main did not move.
    expect(allowed.code).toBe(1);
    expect(json<RunJson>(allowed).results[0]?.error?.code).toBe('CHECK_FAILED');
    expect(git(repo.path, 'rev-parse', 'main')).toBe(red);
  });

  it('refuses bad input with exit 2 before anything: --check without a landing, a check that needs a shell, a missing check program', async () => {
    const repo = project();
    const results = await Promise.all([
      runCli(['run', '--issues', '1', '--check', 'npm test', '--', 'true'], { cwd: repo.path }),
      runCli(['run', '--issues', '1', '--merge', '--check', 'npm test && npm run lint', '--', 'true'], {
        cwd: repo.path,
      }),
      runCli(['run', '--issues', '1', '--merge', '--check', 'no-such-check-program --x', '--', 'true'], {
        cwd: repo.path,
      }),
      runCli(['run', '--issues', '1', '--merge', '--on-check-fail', 'maybe', '--', 'true'], {
        cwd: repo.path,
      }),
    ]);
    expect(results.map((r) => r.code)).toEqual([2, 2, 2, 2]);
    expect(results[0]?.stderr).toMatch(/--check only applies with --merge, --push or --pr/);
    expect(results[1]?.stderr).toMatch(/'&&' needs a shell/);
    expect(results[2]?.stderr).toMatch(/COMMAND_NOT_FOUND.*no-such-check-program/);
    expect(git(repo.path, 'worktree', 'list').split('\n')).toHaveLength(1);
  });
});

describe('land: one kept worktree, checked', () => {
  it('land refuses a red candidate (exit 1, main untouched, worktree on its branch), lands a fixed one; merge says it skips the check', async () => {
    const repo = project();
    // Issue 2's branch calls greet(); main renames it meanwhile: the candidate is red.
    const kept = await runCli(
      ['run', '--issues', '2', '--keep', '--json', '--', process.execPath, '-e', AGENT],
      {
        cwd: repo.path,
      },
    );
    expect(kept.code).toBe(0);
    const worktree = json<RunJson>(kept).results[0];
    repo.commit(
      { 'lib.js': 'exports.hello = () => "hi";\n', 'main.js': 'require("./lib").hello();\n' },
      'rename',
    );
    const before = git(repo.path, 'rev-parse', 'main');
    const red = await runCli(['land', '2', '--check', 'node check.js'], { cwd: repo.path });
    expect(red.code).toBe(1);
    expect(red.stderr).toMatch(/\[CHECK_FAILED\] the check failed on top of main \(exit 1\)/);
    expect(red.stderr).toMatch(/'miyabi-worktree land issue-2-/);
    expect(git(repo.path, 'rev-parse', 'main')).toBe(before);
    expect(git(worktree?.worktreePath ?? '', 'rev-parse', '--abbrev-ref', 'HEAD')).toBe(worktree?.branchName);
    // merge stays the unchecked escape hatch, and says so when the configuration has a check.
    repo.commit(
      { 'miyabi-worktree.config.json': JSON.stringify({ check: ['node', 'check.js'] }) },
      'config check',
    );
    git(worktree?.worktreePath ?? '', 'merge', '-q', 'main');
    require('node:fs').writeFileSync(
      join(worktree?.worktreePath ?? '', 'extra.js'),
      'require("./lib").hello();\n',
    );
    git(worktree?.worktreePath ?? '', 'commit', '-qam', 'fix');
    const green = await runCli(['land', '2', '--json'], { cwd: repo.path });
    expect(green.code).toBe(0);
    const landed = json<{ merge: { commit: string }; landing: { checkedCommit: string; checks: number } }>(
      green,
    );
    expect(landed.landing.checkedCommit).toBe(landed.merge.commit);
    expect(git(repo.path, 'rev-parse', 'main')).toBe(landed.merge.commit);
    expect(passesHere(repo.path)).toBe(true);
    const merged = await runCli(['merge', '2'], { cwd: repo.path });
    expect(merged.stderr).toMatch(/Merged without the configured check \(land 2 runs it first\)/);
  });
});

describe('a landing gives its slot back', () => {
  it('with concurrency 1 the next agent starts while the first is checking', async () => {
    const repo = createTempRepo();
    const dir = tempDir();
    // Issue 1's check passes only once issue 2's agent has started (bounded by --check-timeout).
    repo.commit(
      {
        'wait.js': `const fs = require('fs');
if (process.env.MIYABI_ISSUE_NUMBER === '1') {
  const until = Date.now() + 20000;
  const look = () => fs.existsSync(${JSON.stringify(join(dir, 'started-2'))}) ? process.exit(0) : Date.now() > until ? process.exit(3) : setTimeout(look, 20);
  look();
}
`,
      },
      'a check that waits for the second agent',
    );
    const agent = `const fs = require('fs'), { execFileSync } = require('child_process');
      fs.writeFileSync(${JSON.stringify(dir)} + '/started-' + process.env.MIYABI_ISSUE_NUMBER, '');
      fs.writeFileSync('task' + process.env.MIYABI_ISSUE_NUMBER + '.txt', 'x');
      execFileSync('git', ['add', '-A']); execFileSync('git', ['commit', '-q', '-m', 'task']);`;
    const result = await runCli(
      [
        'run',
        '--issues',
        '1,2',
        '--concurrency',
        '1',
        '--merge',
        '--check',
        'node wait.js',
        '--check-timeout',
        '30s',
        '--json',
        '--',
        process.execPath,
        '-e',
        agent,
      ],
      { cwd: repo.path },
    );
    const batch = json<RunJson>(result);
    expect(batch.results.map((r) => [r.status, r.error?.code])).toEqual([
      ['success', undefined],
      ['success', undefined],
    ]);
    expect(result.code).toBe(0);
    expect(existsSync(join(repo.path, 'task1.txt')) && existsSync(join(repo.path, 'task2.txt'))).toBe(true);
  });
});

describe('a check that changes the tree', () => {
  it('what the check changed or committed is discarded and said in the log: the checked commit lands', async () => {
    const repo = createTempRepo();
    // A "formatter" check: rewrites a tracked file and commits it, then passes.
    repo.commit(
      {
        'fmt.js': `const fs = require('fs'), { execFileSync } = require('child_process');
fs.writeFileSync('README.md', 'reformatted by the check\\n');
execFileSync('git', ['commit', '-qam', 'the check commits']);
fs.writeFileSync('README.md', 'changed again, uncommitted\\n');
`,
      },
      'a check that writes',
    );
    const agent = `const fs = require('fs'), { execFileSync } = require('child_process');
      fs.writeFileSync('work.txt', 'work\\n'); execFileSync('git', ['add', '-A']); execFileSync('git', ['commit', '-q', '-m', 'work']);`;
    const result = await runCli(
      [
        'run',
        '--issues',
        '1',
        '--merge',
        '--check',
        'node fmt.js',
        '--allow-red-base',
        '--json',
        '--',
        process.execPath,
        '-e',
        agent,
      ],
      { cwd: repo.path },
    );
    expect(result.code).toBe(0);
    const [task] = json<RunJson>(result).results;
    expect(task?.landing?.discarded).toEqual(['README.md']);
    expect(git(repo.path, 'rev-parse', 'main')).toBe(task?.landing?.checkedCommit);
    expect(git(repo.path, 'log', '--format=%s', 'main')).not.toContain('the check commits');
    expect(readFileSync(join(repo.path, 'README.md'), 'utf8')).toBe('# test repo\n');
    expect(readFileSync(task?.logFile ?? '', 'utf8')).toMatch(
      /the check changed 1 file\(s\) and moved HEAD; discarded/,
    );
  });
});

describe('setup inputs', () => {
  it('the setup runs again on a candidate that changes a lockfile, before the check', async () => {
    const repo = createTempRepo();
    const dir = tempDir();
    const runs = join(dir, 'setup-runs.txt');
    repo.commit(
      {
        'miyabi-worktree.config.json': JSON.stringify({
          setup: [
            [
              process.execPath,
              '-e',
              `require('fs').appendFileSync(${JSON.stringify(runs)}, require('fs').readFileSync('package-lock.json', 'utf8'))`,
            ],
          ],
        }),
        'package-lock.json': 'v1\n',
      },
      'a setup that reads the lockfile',
    );
    const agent = `const fs = require('fs'), { execFileSync } = require('child_process');
      fs.writeFileSync(process.env.MIYABI_ISSUE_NUMBER === '1' ? 'package-lock.json' : 'other.txt', 'v2\\n');
      execFileSync('git', ['add', '-A']); execFileSync('git', ['commit', '-q', '-m', 'change']);`;
    const result = await runCli(
      ['run', '--issues', '1', '--merge', '--check', 'true', '--json', '--', process.execPath, '-e', agent],
      { cwd: repo.path },
    );
    expect(result.code).toBe(0);
    const [task] = json<RunJson>(result).results;
    // Once for the base check, once as the worktree was made, once more on the candidate (v2).
    expect(readFileSync(runs, 'utf8')).toBe('v1\nv1\nv2\n');
    expect(readFileSync(task?.logFile ?? '', 'utf8')).toMatch(
      /the candidate changes a setup input; running the setup again/,
    );
  });
});
