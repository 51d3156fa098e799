import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TaskProgress } from '../src/cli/render/progress.js';
import { createProgressTracker } from '../src/cli/run/progress-tracker.js';
import type { RunTaskOutput } from '../src/cli/run/task-executor.js';
import { WorktreeManager } from '../src/index.js';
import type { PoolExecutionResult } from '../src/pool/types.js';
import { json, runCli } from './helpers/cli-process.js';
import { repoState } from './helpers/repo-state.js';
import { createTempRepo, git, type TempRepo, tempDir } from './helpers/temp-repo.js';

type RunJson = PoolExecutionResult<RunTaskOutput>;

// The project's check loads every module; each run takes the next number (an atomic mkdir of
// $GATE_DIR/run-N) and appends a line to $CHECK_RUNS, a passing one its tree to $PASSED_TREES. Run 2
// is issue 1's landing alone: it says so ($GATE_DIR/pilot-checking) and waits until the other four
// landings have joined the queue (five merge-start events in the journal), so they are all ready when
// its turn ends. The runs whose numbers $OVERLAP lists each wait until all of them have started, then
// write their number to $OVERLAPPED: they only pass if they run at the same time.
const CHECK = `
const fs = require('fs'), { execFileSync } = require('child_process');
const tree = execFileSync('git', ['rev-parse', 'HEAD^{tree}'], { encoding: 'utf8' }).trim();
const dir = process.env.GATE_DIR, overlap = (process.env.OVERLAP || '').split(',').filter(Boolean);
let n = 1;
for (;;) { try { fs.mkdirSync(dir + '/run-' + n); break; } catch { n++; } }
fs.appendFileSync(process.env.CHECK_RUNS, tree + '\\n');
const run = () => {
  for (const f of fs.readdirSync('.').filter((f) => f.endsWith('.js') && f !== 'check.js').sort()) require('./' + f);
  fs.appendFileSync(process.env.PASSED_TREES, tree + '\\n');
};
const wait = (ready, then) => {
  const until = Date.now() + 30000;
  const look = () => ready() ? then() : Date.now() > until ? process.exit(3) : setTimeout(look, 20);
  look();
};
const queued = () => { try { return fs.readFileSync(process.env.GATE_JOURNAL, 'utf8').split('"type":"merge-start"').length - 1; } catch { return 0; } };
// Run $PERSON_AT: a person commits to main in the repository meanwhile.
if (String(n) === process.env.PERSON_AT) {
  fs.writeFileSync(process.env.PERSON_REPO + '/person.js', 'require("./lib").greet();\\n');
  execFileSync('git', ['add', 'person.js'], { cwd: process.env.PERSON_REPO });
  execFileSync('git', ['commit', '-q', '-m', 'a person'], { cwd: process.env.PERSON_REPO });
}
if (n === 2) {
  fs.writeFileSync(dir + '/pilot-checking', '');
  wait(() => queued() >= 5, run);
} else if (overlap.includes(String(n))) {
  wait(() => overlap.every((k) => fs.existsSync(dir + '/run-' + k)), () => { fs.appendFileSync(process.env.OVERLAPPED, n + '\\n'); run(); });
} else run();
`;

// Issue 1 commits at once (it lands alone first); issue k > 1 waits for that landing's check, then
// for issue k-1's landing to join the queue, so the four join in order 2, 3, 4, 5. $BAD breaks it.
const AGENT = `
const fs = require('fs'), { execFileSync } = require('child_process');
const n = Number(process.env.MIYABI_ISSUE_NUMBER), dir = process.env.GATE_DIR;
const joined = (k) => { try { return new RegExp('"type":"merge-start"[^\\\\n]*"issueNumber":' + k + '[,}]').test(fs.readFileSync(process.env.GATE_JOURNAL, 'utf8')); } catch { return false; } };
const ready = () => n === 1 || (fs.existsSync(dir + '/pilot-checking') && (n === 2 || joined(n - 1)));
const work = () => {
  if ((process.env.CLASH || '').split(',').includes(String(n))) fs.writeFileSync('shared.txt', 'from task ' + n + '\\n');
  fs.writeFileSync('task' + n + '.js', String(n) === process.env.BAD ? 'throw new Error("broken by task ' + n + '");\\n' : 'require("./lib").greet();\\n');
  execFileSync('git', ['add', '-A']); execFileSync('git', ['commit', '-q', '-m', 'task ' + n]);
};
const until = Date.now() + 60000;
const look = () => ready() ? work() : Date.now() > until ? process.exit(3) : setTimeout(look, 20);
look();
`;

function project(): TempRepo {
  const repo = createTempRepo();
  repo.commit({ 'lib.js': 'exports.greet = () => "hi";\n', 'check.js': CHECK }, 'a project with a check');
  return repo;
}

async function landFive(
  repo: TempRepo,
  bad?: number,
  clash?: readonly number[],
  overlap: readonly number[] = [],
  batchSize = 4,
  env: Readonly<Record<string, string>> = {},
) {
  const dir = tempDir();
  const files = {
    runs: join(dir, 'runs.txt'),
    passed: join(dir, 'passed.txt'),
    overlapped: join(dir, 'overlapped.txt'),
  };
  const result = await runCli(
    [
      'run',
      '--issues',
      '1,2,3,4,5',
      '--concurrency',
      '5',
      '--merge',
      '--check',
      'node check.js',
      '--check-batch',
      String(batchSize),
      '--json',
      '--',
      process.execPath,
      '-e',
      AGENT,
    ],
    {
      cwd: repo.path,
      env: {
        CHECK_RUNS: files.runs,
        PASSED_TREES: files.passed,
        GATE_DIR: dir,
        GATE_JOURNAL: join(repo.path, '.git', 'miyabi', 'telemetry.jsonl'),
        BAD: String(bad ?? ''),
        CLASH: (clash ?? []).join(','),
        OVERLAP: overlap.join(','),
        OVERLAPPED: files.overlapped,
        ...env,
      },
    },
  );
  const lines = (file: string) =>
    existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
  return {
    overlapped: lines(files.overlapped).sort(),
    result,
    batch: json<RunJson>(result),
    runs: lines(files.runs),
    passed: new Set(lines(files.passed)),
  };
}

/** Every value `main` took since the base, oldest first. */
function mainValues(repo: TempRepo, base: string): string[] {
  const values = git(repo.path, 'reflog', 'show', '--format=%H', 'refs/heads/main').split('\n').reverse();
  return values.slice(values.indexOf(base));
}

const tree = (repo: TempRepo, commit: string) => git(repo.path, 'rev-parse', `${commit}^{tree}`);

describe('--check-batch: ready landings checked together', () => {
  it('four ready landings, all good: one run of the check lands them together; main only took checked trees', async () => {
    const repo = project();
    const base = git(repo.path, 'rev-parse', 'main');
    const { result, batch, runs, passed } = await landFive(repo);
    expect(result.code).toBe(0);
    expect(batch.results.map((r) => r.status)).toEqual(Array(5).fill('success'));
    // The base's run, issue 1's alone, and one for the other four.
    expect(runs).toHaveLength(3);
    const [pilot, ...four] = batch.results;
    expect(pilot?.landing?.landedTogether).toBeUndefined();
    const tip = git(repo.path, 'rev-parse', 'main');
    for (const task of four) {
      expect(task.landing?.landedTogether).toBe(4);
      expect(task.landing?.checkedCommit).toBe(tip);
      expect(task.landing?.checks).toBe(1);
    }
    // Each merge as --merge makes it, one on top of the other in order of readiness.
    const commits = four.map((task) => task.merge?.commit ?? '');
    expect(new Set(commits).size).toBe(4);
    expect(commits[3]).toBe(tip);
    for (const [i, task] of four.entries()) {
      expect(git(repo.path, 'log', '-1', '--format=%s', `${task.merge?.commit}^2`)).toBe(`task ${i + 2}`);
      if (i > 0) expect(task.merge?.previousCommit).toBe(commits[i - 1]);
    }
    // main: the base, issue 1's landing, then straight to the four's combined tip.
    const values = mainValues(repo, base);
    expect(values[0]).toBe(base);
    expect(values).toEqual([base, pilot?.merge?.commit, tip]);
    for (const commit of values.slice(1)) expect(passed.has(tree(repo, commit))).toBe(true);
    for (const n of [1, 2, 3, 4, 5])
      expect(readFileSync(join(repo.path, `task${n}.js`), 'utf8')).toContain('greet');
  });

  it('one of four breaks the check: its prefixes, checked at the same time, leave it alone; it fails at check, kept; the other three land; main passes', async () => {
    const repo = project();
    const base = git(repo.path, 'rev-parse', 'main');
    const { result, batch, runs, passed, overlapped } = await landFive(repo, 4, [], [4, 5, 6]);
    expect(result.code).toBe(1);
    expect(batch.results.map((r) => [r.issueNumber, r.status, r.stage, r.error?.code])).toEqual([
      [1, 'success', undefined, undefined],
      [2, 'success', undefined, undefined],
      [3, 'success', undefined, undefined],
      [4, 'failed', 'check', 'CHECK_FAILED'],
      [5, 'success', undefined, undefined],
    ]);
    const bad = batch.results[3];
    expect(bad?.cleanedUp).toBe(false);
    expect(git(bad?.worktreePath ?? '', 'rev-parse', '--abbrev-ref', 'HEAD')).toBe(bad?.branchName);
    expect(bad?.error?.message).toMatch(/^the check failed on top of main \(exit 1\): .*; log: \/.+\.log$/);
    expect(readFileSync(bad?.landing?.lastCheck?.checkLog ?? '', 'utf8')).toMatch(/broken by task 4/);
    // Base, issue 1, the four (fail); at once 2, 2+3 (pass) and 2+3+4 (fail): 2+3 lands on its run,
    // 4 fails on its (it is 4 alone on top of main then); 5 alone.
    expect(runs).toHaveLength(7);
    expect(overlapped).toEqual(['4', '5', '6']);
    expect(bad?.landing?.checks).toBe(2);
    expect(batch.results[1]?.landing?.landedTogether).toBe(2);
    expect(batch.results[1]?.landing?.checks).toBe(4);
    expect(batch.results[2]?.landing?.landedTogether).toBe(2);
    expect(batch.results[4]?.landing?.landedTogether).toBeUndefined();
    expect(batch.results[4]?.landing?.checks).toBe(2);
    const values = mainValues(repo, base);
    expect(values[0]).toBe(base);
    expect(values).toHaveLength(4);
    for (const commit of values.slice(1)) expect(passed.has(tree(repo, commit))).toBe(true);
    expect(git(repo.path, 'ls-tree', '--name-only', 'main').split('\n')).not.toContain('task4.js');
  });

  it("the culprit last in its batch: the batch's failing run, on the very same tree in its worktree, is its verdict (no run of its own)", async () => {
    const repo = project();
    const base = git(repo.path, 'rev-parse', 'main');
    const { batch, runs, passed, overlapped } = await landFive(repo, 5, [], [4, 5, 6]);
    expect(batch.results.map((r) => [r.issueNumber, r.status, r.error?.code])).toEqual([
      [1, 'success', undefined],
      [2, 'success', undefined],
      [3, 'success', undefined],
      [4, 'success', undefined],
      [5, 'failed', 'CHECK_FAILED'],
    ]);
    // Base, issue 1; 2+3+4+5 (fail); at once 2, 2+3, 2+3+4 (all pass): 2+3+4 lands on its run; 5
    // on top of it is that failing batch.
    expect(runs).toHaveLength(6);
    expect(overlapped).toEqual(['4', '5', '6']);
    expect(batch.results[3]?.landing?.landedTogether).toBe(3);
    const bad = batch.results[4];
    expect(bad?.stage).toBe('check');
    expect(bad?.landing?.checks).toBe(1);
    expect(bad?.error?.message).toMatch(/^the check failed on top of main \(exit 1\): .*; log: \/.+\.log$/);
    expect(readFileSync(bad?.landing?.lastCheck?.checkLog ?? '', 'utf8')).toMatch(/broken by task 5/);
    const values = mainValues(repo, base);
    expect(values).toHaveLength(3);
    for (const commit of values.slice(1)) expect(passed.has(tree(repo, commit))).toBe(true);
  });

  it('a branch that conflicts inside the batch is taken out and lands alone afterwards: no false failure', async () => {
    const repo = project();
    const base = git(repo.path, 'rev-parse', 'main');
    // Issue 3 conflicts with issue 2 (the same new file), and issue 2 breaks the check: once 2 has
    // failed, 3 lands cleanly alone.
    const { result, batch, runs, passed, overlapped } = await landFive(repo, 2, [2, 3], [4, 5]);
    expect(result.code).toBe(1);
    expect(batch.results.map((r) => [r.issueNumber, r.status, r.stage, r.error?.code])).toEqual([
      [1, 'success', undefined, undefined],
      [2, 'failed', 'check', 'CHECK_FAILED'],
      [3, 'success', undefined, undefined],
      [4, 'success', undefined, undefined],
      [5, 'success', undefined, undefined],
    ]);
    // Base, issue 1; 2+4+5 (fail); at once 2 and 2+4 (both fail): 2 fails on its run; then 3 alone
    // (ready before 4), then 4+5 together.
    expect(runs).toHaveLength(7);
    expect(overlapped).toEqual(['4', '5']);
    expect(batch.results[4]?.landing?.landedTogether).toBe(2);
    expect(readFileSync(join(repo.path, 'shared.txt'), 'utf8')).toBe('from task 3\n');
    const values = mainValues(repo, base);
    for (const commit of values.slice(1)) expect(passed.has(tree(repo, commit))).toBe(true);
    expect(values).toHaveLength(4);
  });

  it('a person commits to main while the prefixes run: no run is reused on the moved main; main only took checked trees or theirs', async () => {
    const repo = project();
    const base = git(repo.path, 'rev-parse', 'main');
    const { result, batch, runs, passed, overlapped } = await landFive(repo, 4, [], [4, 5, 6], 4, {
      PERSON_AT: '6',
      PERSON_REPO: repo.path,
    });
    expect(result.code).toBe(1);
    expect(batch.results.map((r) => [r.issueNumber, r.status, r.error?.code])).toEqual([
      [1, 'success', undefined],
      [2, 'success', undefined],
      [3, 'success', undefined],
      [4, 'failed', 'CHECK_FAILED'],
      [5, 'success', undefined],
    ]);
    expect(overlapped).toEqual(['4', '5', '6']);
    // Base, issue 1, the four, the three prefixes; then 2+3 again on the person's commit (its
    // prefix run was on the old main), 4 again (fails), 5 alone.
    expect(runs).toHaveLength(9);
    const person = git(repo.path, 'log', '--format=%H', '--grep=^a person$', 'main');
    const values = mainValues(repo, base);
    expect(values).toContain(person);
    for (const commit of values.slice(1))
      if (commit !== person) expect(passed.has(tree(repo, commit))).toBe(true);
    expect(git(repo.path, 'ls-tree', '--name-only', 'main').split('\n')).toEqual(
      expect.arrayContaining(['person.js', 'task2.js', 'task3.js', 'task5.js']),
    );
  });

  it('--check-batch 2, four ready: the second two are checked on top of the first two at the same time and land on that run', async () => {
    const repo = project();
    const base = git(repo.path, 'rev-parse', 'main');
    const { result, batch, runs, passed, overlapped } = await landFive(repo, undefined, [], [3, 4], 2);
    expect(result.code).toBe(0);
    expect(batch.results.map((r) => r.status)).toEqual(Array(5).fill('success'));
    // Base, issue 1; at once 2+3 and 2+3+4+5 (both pass): 2+3 lands, then 4+5 on the second run.
    expect(runs).toHaveLength(4);
    expect(overlapped).toEqual(['3', '4']);
    const [, two, three, four, five] = batch.results;
    const tip = git(repo.path, 'rev-parse', 'main');
    for (const task of [four, five]) {
      expect(task?.landing?.landedTogether).toBe(2);
      expect(task?.landing?.checkedCommit).toBe(tip);
    }
    // Each counts the one run it landed on (the speculative run is the second two's).
    for (const task of [two, three, four, five]) expect(task?.landing?.checks).toBe(1);
    expect(two?.landing?.checkedCommit).toBe(three?.merge?.commit);
    expect(four?.merge?.previousCommit).toBe(three?.merge?.commit);
    const values = mainValues(repo, base);
    expect(values).toEqual([base, batch.results[0]?.merge?.commit, three?.merge?.commit, tip]);
    for (const commit of values.slice(1)) expect(passed.has(tree(repo, commit))).toBe(true);
  });

  it('--check-batch 2, the first two fail: the run on top of them is discarded; 2 lands, 3 fails, 4+5 are checked again on top', async () => {
    const repo = project();
    const base = git(repo.path, 'rev-parse', 'main');
    const { result, batch, runs, passed, overlapped } = await landFive(repo, 3, [], [3, 4], 2);
    expect(result.code).toBe(1);
    expect(batch.results.map((r) => [r.issueNumber, r.status, r.error?.code])).toEqual([
      [1, 'success', undefined],
      [2, 'success', undefined],
      [3, 'failed', 'CHECK_FAILED'],
      [4, 'success', undefined],
      [5, 'success', undefined],
    ]);
    // Base, issue 1; at once 2+3 and 2+3+4+5 (both fail); 2 alone (passes: lands on it, and 3 fails
    // on 2+3's run); 4+5 on top of 2.
    expect(runs).toHaveLength(6);
    expect(overlapped).toEqual(['3', '4']);
    // 3: the run of 2+3 only; 4 and 5: the discarded speculative run and their own.
    expect(batch.results[2]?.landing?.checks).toBe(1);
    expect(batch.results[4]?.landing?.landedTogether).toBe(2);
    expect(batch.results[4]?.landing?.checks).toBe(2);
    const values = mainValues(repo, base);
    expect(values).toEqual([
      base,
      batch.results[0]?.merge?.commit,
      batch.results[1]?.merge?.commit,
      batch.results[4]?.merge?.commit,
    ]);
    for (const commit of values.slice(1)) expect(passed.has(tree(repo, commit))).toBe(true);
    expect(git(repo.path, 'ls-tree', '--name-only', 'main').split('\n')).not.toContain('task3.js');
  });

  it('refuses a bad batch size with exit 2 before anything, from the flag and from the configuration file', async () => {
    const repo = project();
    const before = repoState(repo.path);
    const flags = await Promise.all(
      [
        ['--merge', '--check', 'node check.js', '--check-batch', '0'],
        ['--merge', '--check', 'node check.js', '--check-batch', '33'],
        ['--check-batch', '4'],
      ].map((args) => runCli(['run', '--issues', '1', ...args, '--', 'true'], { cwd: repo.path })),
    );
    expect(flags.map((r) => r.code)).toEqual([2, 2, 2]);
    expect(flags[0]?.stderr).toMatch(
      /^miyabi-worktree: error \[INVALID_ARGUMENT\] --check-batch: "0" is not an integer from 1 to 32/,
    );
    expect(flags[2]?.stderr).toMatch(/--check-batch only applies with --merge, --push or --pr/);
    for (const r of flags) expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    writeFileSync(
      join(repo.path, 'miyabi-worktree.config.json'),
      JSON.stringify({ check: { command: ['node', 'check.js'], batch: 64 } }),
    );
    const config = await runCli(['run', '--issues', '1', '--merge', '--', 'true'], { cwd: repo.path });
    expect(config.code).toBe(2);
    expect(config.stderr).toMatch(/INVALID_CONFIG.*check/);
    rmSync(join(repo.path, 'miyabi-worktree.config.json'));
    expect(repoState(repo.path)).toEqual(before);
  });
});

describe('the live view of a batched check', () => {
  it('says "checking on top of main (N ahead, K together)" on every row the run checks', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path, config: false });
    let last: readonly TaskProgress[] = [];
    const tracker = createProgressTracker(manager, [2, 3], {
      update: (states) => {
        last = states;
      },
      done: () => {},
      notice: () => {},
    });
    for (const issueNumber of [2, 3]) {
      manager.recordEvent({
        type: 'check-start',
        worktreeId: `issue-${issueNumber}-0000000${issueNumber}`,
        issueNumber,
        branch: `feature/issue-${issueNumber}`,
        into: 'main',
        candidate: 'c'.repeat(40),
        target: 't'.repeat(40),
        ahead: 4,
        together: 2,
      });
    }
    tracker.dispose();
    await manager.flush();
    expect(last.map((task) => [task.issueNumber, task.state, task.lastLine])).toEqual([
      [2, 'checking', 'checking on top of main (4 ahead, 2 together)'],
      [3, 'checking', 'checking on top of main (4 ahead, 2 together)'],
    ]);
  });
});
