import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { RunTaskOutput } from '../src/cli/run/task-executor.js';
import { WorktreeManager } from '../src/index.js';
import type { PoolExecutionResult } from '../src/pool/types.js';
import type { BatchRecord } from '../src/state/batch-records.js';
import { json, runCli, startCli } from './helpers/cli-process.js';
import { createTempRepo, git, type TempRepo, tempDir } from './helpers/temp-repo.js';

type RunJson = PoolExecutionResult<RunTaskOutput>;

/** Waits for observable state (a file an agent wrote, the batch record), polling it. */
async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await check())) await sleep(20);
}

const CHECK = "if (require('fs').existsSync('broken.txt')) { console.error('broken'); process.exit(1); }\n";
// The score: what the attempt wrote to score.txt; each scoring is counted in $MARKS/scored.
const SCORE = `const fs = require('fs');
fs.appendFileSync(process.env.MARKS + '/scored', process.env.MIYABI_VARIANT + '\\n');
console.log(fs.readFileSync('score.txt', 'utf8').trim());
`;
// v1 breaks the check, v2 scores 70 at once; v3 commits half its work, writes its pid to
// $MARKS/waiting-3 and waits to be killed; resumed (MIYABI_RESUMED=1) it finishes with 90.
// Every run appends "v<k> first|resumed" to $MARKS/runs.
const AGENT = `
const fs = require('fs'), { execFileSync } = require('child_process');
const variant = process.env.MIYABI_VARIANT, resumed = process.env.MIYABI_RESUMED === '1';
fs.appendFileSync(process.env.MARKS + '/runs', 'v' + variant + (resumed ? ' resumed' : ' first') + '\\n');
const commit = (file, text) => {
  fs.writeFileSync(file, text);
  execFileSync('git', ['add', '-A']);
  execFileSync('git', ['commit', '-q', '-m', 'v' + variant + ' ' + file]);
};
if (variant === '1') { fs.writeFileSync('score.txt', '99\\n'); commit('broken.txt', 'v1\\n'); process.exit(0); }
if (variant === '2') { fs.writeFileSync('score.txt', '70\\n'); commit('work-2.txt', 'v2\\n'); process.exit(0); }
if (!resumed) {
  commit('half-3.txt', 'first half\\n');
  fs.writeFileSync(process.env.MARKS + '/waiting-3', String(process.pid));
  setInterval(() => {}, 1000);
} else {
  if (!fs.existsSync('half-3.txt')) { console.log('the first run’s work is gone'); process.exit(3); }
  // The batch record as the resumed run keeps it while v3 runs again.
  fs.copyFileSync(process.env.RECORD, process.env.MARKS + '/record-while-resumed.json');
  fs.writeFileSync('score.txt', '90\\n');
  commit('rest-3.txt', 'second half\\n');
}
`;

function project(): TempRepo {
  const repo = createTempRepo();
  repo.commit({ 'check.js': CHECK, 'score.js': SCORE }, 'a project with a check and a score');
  return repo;
}

describe('run --resume of a batch that ran variants', () => {
  it('after kill -9 mid-batch: ended attempts keep their outcome and score, the unfinished one runs again in its kept worktree, the winner lands once', async () => {
    const repo = project();
    const marks = tempDir();
    const run = startCli(
      [
        'run',
        '--issues',
        '7',
        '--variants',
        '3',
        '--concurrency',
        '3',
        '--merge',
        '--check',
        'node check.js',
        '--score',
        'node score.js',
        '--radar-interval',
        '0',
        '--json',
        '--',
        process.execPath,
        '-e',
        AGENT,
      ],
      { cwd: repo.path, env: { MARKS: marks } },
    );
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    let batchId = '';
    // Killed once v1 and v2 were judged (their verdicts on disk) while v3 still runs.
    await until(async () => {
      if (!existsSync(join(marks, 'waiting-3'))) return false;
      const [batch] = await manager.listBatches();
      const record = batch ? await manager.batchRecord(batch.id) : undefined;
      batchId = record?.id ?? '';
      return record?.judgements?.['7/v1'] !== undefined && record.judgements['7/v2'] !== undefined;
    });
    const kept = (await manager.listWorktrees()).find((w) => w.branchName.endsWith('-v3'))?.id;
    expect(kept).toBeDefined();
    const before = git(repo.path, 'rev-parse', 'main');
    run.child.kill('SIGKILL');
    process.kill(-Number(readFileSync(join(marks, 'waiting-3'), 'utf8')), 'SIGKILL');
    await run.done;
    expect(git(repo.path, 'rev-parse', 'main')).toBe(before);

    const record = join(manager.stateDir, 'batches', `${batchId}.json`);
    const resumed = await runCli(['run', '--resume', '--json'], {
      cwd: repo.path,
      env: { MARKS: marks, RECORD: record },
    });
    expect(resumed.stderr).toMatch(/^#7 v3 won \(90\) · v2 70 · v1 check failed$/m);
    // While v3 ran again, the record still held v1's and v2's results (a second kill keeps them).
    const during = JSON.parse(readFileSync(join(marks, 'record-while-resumed.json'), 'utf8')) as BatchRecord;
    // In the order the attempts ended, which the two agents' race decides: compared as a set.
    expect(
      during.results.map((r) => [r.issueNumber, r.variant]).sort((a, b) => (a[1] ?? 0) - (b[1] ?? 0)),
    ).toEqual([
      [7, 1],
      [7, 2],
    ]);
    expect(resumed.code).toBe(0);
    const batch = json<RunJson>(resumed);
    expect(batch.batchId).toBe(batchId);
    expect(batch.results).toHaveLength(1);
    const issue = batch.results[0];
    expect(issue?.winner).toBe(3);
    expect(issue?.variants?.map((v) => [v.variant, v.status, v.checkPassed, v.score ?? null, v.won])).toEqual(
      [
        [1, 'success', false, null, false],
        [2, 'success', true, 70, false],
        [3, 'success', true, 90, true],
      ],
    );
    // v3 continued in the worktree the killed run left; v1 and v2 neither ran nor were scored again.
    expect(issue?.variants?.[2]?.worktreeId).toBe(kept);
    expect(readFileSync(join(marks, 'runs'), 'utf8').trim().split('\n').sort()).toEqual([
      'v1 first',
      'v2 first',
      'v3 first',
      'v3 resumed',
    ]);
    expect(readFileSync(join(marks, 'scored'), 'utf8').trim().split('\n').sort()).toEqual(['2', '3']);
    // The winner landed exactly once: both its halves on main, nothing of the losers.
    const files = git(repo.path, 'ls-tree', '--name-only', 'main').split('\n');
    expect(files).toEqual(expect.arrayContaining(['half-3.txt', 'rest-3.txt']));
    expect(files).not.toEqual(expect.arrayContaining(['work-2.txt']));
    expect(files).not.toContain('broken.txt');
    expect(git(repo.path, 'log', '--format=%s', `${before}..main`).match(/v3 half-3\.txt/g)).toHaveLength(1);

    const again = await runCli(['run', '--resume', batchId], { cwd: repo.path });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('nothing to resume');
  });
});

describe('run --resume of a batch with variants killed at its winner’s merge', () => {
  it('does not land the winner again (nor run, check or score any attempt again) when its merge moved the target before the kill', async () => {
    const repo = project();
    // A check that passes and counts its runs.
    repo.commit(
      { 'count.js': "require('fs').appendFileSync(process.env.MARKS + '/checked', 'x\\n');\n" },
      'a counted check',
    );
    const marks = tempDir();
    // main not checked out, so the merge moves it with update-ref, whose reference-transaction hook
    // kills the run (the hook's grandparent) right after main moved, before the issue's result is written.
    repo.git('checkout', '-q', '--detach');
    const hook = join(repo.path, '.git', 'hooks', 'reference-transaction');
    writeFileSync(
      hook,
      '#!/bin/sh\n[ "$1" = committed ] || exit 0\ngrep -q " refs/heads/main$" || exit 0\nkill -9 "$(cut -d" " -f4 /proc/$PPID/stat)"\n',
    );
    chmodSync(hook, 0o755);
    const agent = `const fs = require('fs'), { execFileSync } = require('child_process');
const v = process.env.MIYABI_VARIANT;
fs.appendFileSync(process.env.MARKS + '/runs', 'v' + v + '\\n');
fs.writeFileSync('score.txt', v === '2' ? '80\\n' : '40\\n');
fs.writeFileSync('work-' + v + '.txt', v + '\\n');
execFileSync('git', ['add', '-A']);
execFileSync('git', ['commit', '-q', '-m', 'v' + v]);`;
    const killed = await runCli(
      [
        'run',
        '--issues',
        '7',
        '--variants',
        '2',
        '--merge',
        '--check',
        'node count.js',
        '--score',
        'node score.js',
        '--radar-interval',
        '0',
        '--',
        process.execPath,
        '-e',
        agent,
      ],
      { cwd: repo.path, env: { MARKS: marks } },
    );
    expect(killed.signal).toBe('SIGKILL');
    expect(git(repo.path, 'ls-tree', '--name-only', 'main')).toContain('work-2.txt');
    const landedCommits = git(repo.path, 'rev-list', '--count', 'main');
    const checks = readFileSync(join(marks, 'checked'), 'utf8');
    // The base's, each attempt's gate, the winner's landing.
    expect(checks).toBe('x\n'.repeat(4));
    rmSync(hook);

    const resumed = await runCli(['run', '--resume', '--json'], { cwd: repo.path, env: { MARKS: marks } });
    expect(resumed.stderr).toMatch(/^#7 v2 won \(80\) · v1 40$/m);
    expect(resumed.code).toBe(0);
    const issue = json<RunJson>(resumed).results[0];
    expect(issue?.winner).toBe(2);
    expect(issue?.variants?.map((v) => [v.variant, v.score ?? null, v.won])).toEqual([
      [1, 40, false],
      [2, 80, true],
    ]);
    // Neither an agent, nor a score, nor the merge ran twice; the loser's work was archived.
    expect(readFileSync(join(marks, 'runs'), 'utf8').trim().split('\n').sort()).toEqual(['v1', 'v2']);
    expect(readFileSync(join(marks, 'scored'), 'utf8').trim().split('\n').sort()).toEqual(['1', '2']);
    expect(git(repo.path, 'rev-list', '--count', 'main')).toBe(landedCommits);
    // Its landing (and so its check on the moved target) did not run again either.
    expect(readFileSync(join(marks, 'checked'), 'utf8')).toBe(checks);
    expect(git(repo.path, 'ls-tree', '--name-only', 'main')).not.toContain('work-1.txt');
    expect(issue?.variants?.[0]?.archiveRef).toMatch(/^refs\//);
  });
});
