import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunTaskOutput } from '../src/cli/run/task-executor.js';
import type { PoolExecutionResult } from '../src/pool/types.js';
import { json, runCli } from './helpers/cli-process.js';
import { createTempRepo, git, type TempRepo, tempDir } from './helpers/temp-repo.js';

type RunJson = PoolExecutionResult<RunTaskOutput>;

// The project's check: fails when an attempt left a file named broken.txt.
const CHECK = "if (require('fs').existsSync('broken.txt')) { console.error('broken'); process.exit(1); }\n";
// The score: the number an attempt wrote to score.txt (printed last, after some chatter).
const SCORE =
  "console.log('scoring…'); console.log(require('fs').readFileSync('score.txt', 'utf8').trim());\n";

// One agent, told its variant by `{variant}` (argv) and MIYABI_VARIANT (env): v1 breaks the check,
// v2 and v3 pass with the scores of $SCORES (comma-separated, by variant). Each records its commit.
const AGENT = `
const fs = require('fs'), { execFileSync } = require('child_process');
const variant = process.argv[1];
if (variant !== process.env.MIYABI_VARIANT) throw new Error('{variant} was not replaced: ' + variant);
const score = (process.env.SCORES || '').split(',')[Number(variant) - 1];
// A broken attempt would score highest: only the gate keeps it from winning.
if (score === 'broken') fs.writeFileSync('broken.txt', 'v' + variant + '\\n');
fs.writeFileSync('score.txt', (score === 'broken' ? '99' : score) + '\\n');
fs.writeFileSync('work-' + variant + '.txt', process.env.MIYABI_VARIANT_NAME + '\\n');
execFileSync('git', ['add', '-A']);
execFileSync('git', ['commit', '-q', '-m', 'variant ' + variant]);
fs.writeFileSync(process.env.MARKS + '/' + variant, execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim());
`;

function project(): TempRepo {
  const repo = createTempRepo();
  repo.commit({ 'check.js': CHECK, 'score.js': SCORE }, 'a project with a check and a score');
  return repo;
}

describe('variants: several attempts per issue, the check gates, the score ranks, the best one lands', () => {
  it('v1 fails the check, v2 and v3 pass with 70 and 90: v3 lands alone, the scoreboard is in --json and the summary, the losers are archived', async () => {
    const repo = project();
    const marks = tempDir();
    const base = git(repo.path, 'rev-parse', 'main');
    const page = join(tempDir(), 'batch.html');
    const result = await runCli(
      [
        'run',
        '--issues',
        '7',
        '--variants',
        '3',
        '--merge',
        '--check',
        'node check.js',
        '--score',
        'node score.js',
        '--html',
        page,
        '--json',
        '--',
        process.execPath,
        '-e',
        AGENT,
        '{variant}',
      ],
      { cwd: repo.path, env: { MARKS: marks, SCORES: 'broken,70,90' } },
    );
    expect(result.stderr).toMatch(/^#7 v3 won \(90\) · v2 70 · v1 check failed$/m);
    expect(result.code).toBe(0);
    const batch = json<RunJson>(result);
    expect(batch.totalTasks).toBe(1);
    expect(batch.successCount).toBe(1);
    const [issue] = batch.results;
    expect(issue?.status).toBe('success');
    expect(issue?.winner).toBe(3);
    expect(issue?.decidedBy).toBe('score');
    expect(issue?.branchName).toBe('feature/issue-7-v3');
    expect(
      issue?.variants?.map((v) => [v.variant, v.name, v.branch, v.checkPassed, v.score ?? null, v.won]),
    ).toEqual([
      [1, 'v1', 'feature/issue-7-v1', false, null, false],
      [2, 'v2', 'feature/issue-7-v2', true, 70, false],
      [3, 'v3', 'feature/issue-7-v3', true, 90, true],
    ]);
    expect(issue?.variants?.[0]?.stage).toBe('check');
    // v3 alone landed: main is its commit (or a merge of it) and holds none of the others' work.
    const v3 = readFileSync(join(marks, '3'), 'utf8');
    git(repo.path, 'merge-base', '--is-ancestor', v3, 'main');
    expect(git(repo.path, 'ls-tree', '--name-only', 'main')).not.toMatch(/work-1|work-2|broken/);
    expect(issue?.landing?.checkedCommit).toBe(git(repo.path, 'rev-parse', 'main'));
    expect(git(repo.path, 'rev-list', '--count', `${base}..main`)).not.toBe('0');
    // The losers' commits are reachable from their archives, which `archives` lists.
    const archives = json<{ ref: string }[]>(await runCli(['archives', '--json'], { cwd: repo.path })).map(
      (entry) => entry.ref,
    );
    for (const loser of [1, 2]) {
      const entry = issue?.variants?.find((v) => v.variant === loser);
      expect(entry?.archiveRef).toMatch(/^refs\/miyabi\/archive\//);
      expect(archives).toContain(entry?.archiveRef);
      const commit = readFileSync(join(marks, String(loser)), 'utf8');
      git(repo.path, 'merge-base', '--is-ancestor', commit, entry?.archiveRef ?? '');
    }
    // The report counts the attempts; the page groups the variants and marks the winner.
    expect(result.stderr).toMatch(/^- Variants: 3 attempts for 1 issue$/m);
    expect(result.stderr).toMatch(/^- Created: 3$/m);
    const html = readFileSync(page, 'utf8');
    expect(html).toContain('#7 v3 won (90) · v2 70 · v1 check failed');
    expect(html).toMatch(/<tr class="winner"><td>★ v3 v3<\/td><td class="branch">feature\/issue-7-v3<\/td>/);
    expect(html.match(/<tr class="loser">/g)).toHaveLength(2);
    // No worktree is left behind.
    expect(git(repo.path, 'worktree', 'list', '--porcelain').match(/^worktree /gm)).toHaveLength(1);
  });

  it('variants with different commands and environments from the config; no check and no score: the first success wins, and the summary says so', async () => {
    const repo = project();
    const marks = tempDir();
    const write = (text: string) =>
      `require('fs').writeFileSync(process.env.MARKS + '/' + process.env.MIYABI_VARIANT_NAME, ${text});`;
    writeFileSync(
      join(repo.path, 'miyabi-worktree.config.json'),
      JSON.stringify({
        variants: [
          { name: 'quick', command: [process.execPath, '-e', `${write("'quick'")} process.exit(3)`] },
          {
            name: 'careful',
            command: [
              process.execPath,
              '-e',
              write("process.env.MODEL + ' ' + process.argv[1]"),
              '{variant}',
            ],
            env: { MODEL: 'model-b' },
          },
        ],
      }),
    );
    const result = await runCli(['run', '--issues', '5', '--json', '--', 'false'], {
      cwd: repo.path,
      env: { MARKS: marks },
    });
    expect(result.code).toBe(0);
    expect(readFileSync(join(marks, 'quick'), 'utf8')).toBe('quick');
    expect(readFileSync(join(marks, 'careful'), 'utf8')).toBe('model-b 2');
    const [issue] = json<RunJson>(result).results;
    expect(issue?.winner).toBe(2);
    expect(issue?.decidedBy).toBe('first-success');
    expect(issue?.variants?.map((v) => [v.name, v.status, v.stage ?? null])).toEqual([
      ['quick', 'failed', 'execute'],
      ['careful', 'success', null],
    ]);
    expect(result.stderr).toMatch(
      /^#5 v2 won · v1 failed at execute \(no check and no score: the first to succeed won, that is all it knew\)$/m,
    );
  });

  it('--variants-stop-at: a variant passing with at least that score cancels the rest of its issue (process groups killed, work archived)', async () => {
    const repo = project();
    const marks = tempDir();
    // v1 scores 95 at once; v2 and v3 commit, record their pid, then never end on their own.
    const agent = `
const fs = require('fs'), { execFileSync } = require('child_process');
const variant = process.env.MIYABI_VARIANT;
fs.writeFileSync('score.txt', variant === '1' ? '95\\n' : '10\\n');
execFileSync('git', ['add', '-A']);
execFileSync('git', ['commit', '-q', '-m', 'variant ' + variant]);
if (variant !== '1') {
  fs.writeFileSync(process.env.MARKS + '/' + variant, String(process.pid));
  setInterval(() => {}, 1000);
}
`;
    const result = await runCli(
      [
        'run',
        '--issues',
        '9',
        '--variants',
        '3',
        '--score',
        'node score.js',
        '--variants-stop-at',
        '80',
        // Bounds the test should the stop fail: the others would time out instead.
        '--timeout',
        '60s',
        '--json',
        '--',
        process.execPath,
        '-e',
        agent,
      ],
      { cwd: repo.path, env: { MARKS: marks } },
    );
    expect(result.code).toBe(0);
    const [issue] = json<RunJson>(result).results;
    expect(issue?.status).toBe('success');
    expect(issue?.winner).toBe(1);
    expect(issue?.variants?.map((v) => [v.variant, v.status, v.score ?? null])).toEqual([
      [1, 'success', 95],
      [2, 'cancelled', null],
      [3, 'cancelled', null],
    ]);
    expect(issue?.variants?.[1]?.error?.message).toMatch(/scored 95 \(variantsStopAt 80\)/);
    for (const stopped of [2, 3]) {
      const entry = issue?.variants?.[stopped - 1];
      // Its process group was killed, its commit is in its archive.
      const pid = Number(readFileSync(join(marks, String(stopped)), 'utf8'));
      expect(() => process.kill(pid, 0)).toThrow();
      expect(entry?.archiveRef).toMatch(/^refs\/miyabi\/archive\//);
      expect(git(repo.path, 'log', '--format=%s', entry?.archiveRef ?? '')).toContain(`variant ${stopped}`);
    }
  });

  it("the winner's landing check fails on the moved target: the runner-up lands", async () => {
    const repo = project();
    // The check fails when main's marker and v3's file meet: v3 passes its gate on its own branch.
    writeFileSync(
      join(repo.path, 'check.js'),
      "const fs = require('fs'); if (fs.existsSync('marker.txt') && fs.existsSync('work-3.txt')) process.exit(1);\n",
    );
    git(repo.path, 'commit', '-qam', 'the check');
    const marks = tempDir();
    // v3 (the best score) also commits a marker to main, as a person would mid-batch.
    const agent = `${AGENT}
if (process.argv[1] === '3') {
  fs.writeFileSync(process.env.REPO + '/marker.txt', 'moved\\n');
  execFileSync('git', ['-C', process.env.REPO, 'add', 'marker.txt']);
  execFileSync('git', ['-C', process.env.REPO, 'commit', '-q', '-m', 'main moves']);
}
`;
    const result = await runCli(
      [
        'run',
        '--issues',
        '4',
        '--variants',
        '3',
        '--merge',
        '--check',
        'node check.js',
        '--score',
        'node score.js',
        '--json',
        '--',
        process.execPath,
        '-e',
        agent,
        '{variant}',
      ],
      { cwd: repo.path, env: { MARKS: marks, SCORES: '50,70,90', REPO: repo.path } },
    );
    expect(result.code).toBe(0);
    const [issue] = json<RunJson>(result).results;
    expect(issue?.status).toBe('success');
    expect(issue?.winner).toBe(2);
    const v3 = issue?.variants?.[2];
    expect([v3?.checkPassed, v3?.score, v3?.stage, v3?.error?.code, v3?.won]).toEqual([
      true,
      90,
      'check',
      'CHECK_FAILED',
      false,
    ]);
    git(repo.path, 'merge-base', '--is-ancestor', readFileSync(join(marks, '2'), 'utf8'), 'main');
    expect(git(repo.path, 'ls-tree', '--name-only', 'main')).not.toMatch(/work-3/);
    expect(result.stderr).toMatch(/^#4 v2 won \(70\) · v3 landing failed at check · v1 50$/m);
  });

  it('with --keep every variant stays: path and logs take 42/v2, a bare issue number is ambiguous', async () => {
    const repo = project();
    const agent = "console.log('hello from ' + process.env.MIYABI_VARIANT_NAME)";
    const run = await runCli(
      ['run', '--issues', '8', '--variants', '2', '--keep', '--json', '--', process.execPath, '-e', agent],
      { cwd: repo.path },
    );
    expect(run.code).toBe(0);
    const [issue] = json<RunJson>(run).results;
    expect(issue?.variants?.every((v) => v.archiveRef === undefined)).toBe(true);
    const path = await runCli(['path', '8/v2'], { cwd: repo.path });
    expect(path.code).toBe(0);
    expect(git(path.stdout.trim(), 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('feature/issue-8-v2');
    const logs = await runCli(['logs', '8/v2'], { cwd: repo.path });
    expect(logs.stdout).toContain('hello from v2');
    expect(logs.stdout).not.toContain('hello from v1');
    const ambiguous = await runCli(['path', '8'], { cwd: repo.path });
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toMatch(/issue 8 has 2 worktrees/);
  });

  it('refuses --variants 0, 11 or a non-number, and --variants-stop-at without --score (exit 2, nothing made)', async () => {
    const repo = project();
    const before = git(repo.path, 'for-each-ref');
    for (const args of [
      ['--variants', '0'],
      ['--variants', '11'],
      ['--variants', 'three'],
      ['--variants', '3', '--variants-stop-at', '80'],
    ]) {
      const result = await runCli(['run', '--issues', '1', ...args, '--', 'true'], { cwd: repo.path });
      expect(result.code).toBe(2);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(git(repo.path, 'for-each-ref')).toBe(before);
    expect(git(repo.path, 'worktree', 'list', '--porcelain').match(/^worktree /gm)).toHaveLength(1);
  });
});
