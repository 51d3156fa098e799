import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunTaskOutput } from '../src/cli/run/task-executor.js';
import type { PoolExecutionResult, VariantOutcome } from '../src/index.js';
import { json, runCli, saidOnStderr, startCli } from './helpers/cli-process.js';
import { requireBinary } from './helpers/external-binary.js';
import { queueTestBed } from './helpers/queue-bed.js';
import { createTempRepo, git, type TempRepo, tempDir } from './helpers/temp-repo.js';

type RunJson = PoolExecutionResult<RunTaskOutput>;

const redisServer = requireBinary('redis-server', 'the queue variants tests');

// The project's check: fails when an attempt left broken.txt. The score: what the attempt wrote to score.txt.
const CHECK = "if (require('fs').existsSync('broken.txt')) { console.error('broken'); process.exit(1); }\n";
const SCORE =
  "console.log('scoring…'); console.log(require('fs').readFileSync('score.txt', 'utf8').trim());\n";

// One agent told its variant by `{variant}` and MIYABI_VARIANT: v1 breaks the check (and would score
// highest), v2 and v3 pass with $SCORES. v1 ends only once v2 has started: with one slot per worker,
// v2 then runs on the other worker, so the attempts spread over both (observable state, no timing).
const AGENT = `
const fs = require('fs'), { execFileSync } = require('child_process');
const variant = process.argv[1];
if (variant !== process.env.MIYABI_VARIANT) throw new Error('{variant} was not replaced: ' + variant);
const marks = process.env.MARKS;
fs.writeFileSync(marks + '/started-' + variant, '');
if (variant === '1') while (!fs.existsSync(marks + '/started-2')) execFileSync('sleep', ['0.05']);
const score = (process.env.SCORES || '').split(',')[Number(variant) - 1];
if (score === 'broken') fs.writeFileSync('broken.txt', 'v' + variant + '\\n');
fs.writeFileSync('score.txt', (score === 'broken' ? '99' : score) + '\\n');
fs.writeFileSync('work-' + variant + '.txt', process.env.MIYABI_VARIANT_NAME + '\\n');
execFileSync('git', ['add', '-A']);
execFileSync('git', ['commit', '-q', '-m', 'variant ' + variant]);
fs.writeFileSync(marks + '/' + variant, execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim());
`;

function project(): TempRepo {
  return createTempRepo({ withRemote: true, files: { 'check.js': CHECK, 'score.js': SCORE } });
}

/** What must agree between a local and a queue run of one variant (ids, times, paths and who ran it differ). */
function board(entry: VariantOutcome) {
  const { worker: _w, worktreeId: _id, durationMs: _d, logFile: _l, archiveRef: _a, ...rest } = entry;
  return {
    ...rest,
    keys: Object.keys(entry)
      .filter((key) => key !== 'worker')
      .sort(),
  };
}

function runVariants(repo: TempRepo, marks: string, extra: readonly string[]) {
  return startCli(
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
      '--json',
      ...extra,
      '--',
      process.execPath,
      '-e',
      AGENT,
      '{variant}',
    ],
    { cwd: repo.path, env: { MARKS: marks, SCORES: 'broken,70,90' } },
  );
}

describe.skipIf(!redisServer)(
  'variants on queue workers: each attempt a job, judged and landed at the submitter',
  () => {
    const { redis, processes } = queueTestBed(redisServer);

    it('v1 fails the check, v2 and v3 pass with 70 and 90 on two workers: v3 lands alone, the scoreboard as a local run gives it', async () => {
      const local = project();
      const localMarks = tempDir();
      const localRun = runVariants(local, localMarks, []);
      processes.push(localRun);
      const localDone = await localRun.done;
      expect(localDone.code, localDone.stderr).toBe(0);

      const queued = project();
      const marks = tempDir();
      const queueName = 'variants';
      const home = tempDir();
      for (const name of ['w1', 'w2']) {
        const worker = startCli(
          [
            'worker',
            '--remote',
            queued.remote as string,
            '--queue',
            redis.url,
            '--queue-name',
            queueName,
            '--repo',
            join(home, name),
            '--name',
            name,
            '--concurrency',
            '1',
          ],
          { cwd: tempDir(), env: { MARKS: marks, SCORES: 'broken,70,90' } },
        );
        processes.push(worker);
        await saidOnStderr(worker, /waiting for jobs/);
      }
      const base = queued.git('rev-parse', 'main');
      const queueRun = runVariants(queued, marks, ['--queue', redis.url, '--queue-name', queueName]);
      processes.push(queueRun);
      const done = await queueRun.done;
      expect(done.code, done.stderr).toBe(0);
      expect(done.stderr).toMatch(/^#7 v3 won \(90\) · v2 70 · v1 check failed$/m);

      const batch = json<RunJson>(done);
      const [issue] = batch.results;
      expect(batch.totalTasks).toBe(1);
      expect(issue?.status).toBe('success');
      expect(issue?.winner).toBe(3);
      expect(issue?.branchName).toBe('feature/issue-7-v3');
      // The scoreboard equals the local run's; each variant names the worker that ran it, both ran some.
      const localIssue = json<RunJson>(localDone).results[0];
      expect(issue?.variants?.map(board)).toEqual(localIssue?.variants?.map(board));
      expect(issue?.variants?.map((v) => [v.variant, v.checkPassed, v.score ?? null, v.won])).toEqual([
        [1, false, null, false],
        [2, true, 70, false],
        [3, true, 90, true],
      ]);
      expect(new Set(issue?.variants?.map((v) => v.worker))).toEqual(new Set(['w1', 'w2']));
      expect(localIssue?.variants?.every((v) => v.worker === undefined)).toBe(true);

      // v3 alone landed here, checked, and main was pushed to the queue's remote.
      const v3 = readFileSync(join(marks, '3'), 'utf8');
      queued.git('merge-base', '--is-ancestor', v3, 'main');
      expect(queued.git('ls-tree', '--name-only', 'main')).not.toMatch(/work-1|work-2|broken/);
      expect(queued.git('rev-list', '--count', `${base}..main`)).not.toBe('0');
      expect(issue?.landing?.checkedCommit).toBe(queued.git('rev-parse', 'main'));
      expect(git(queued.remote as string, 'rev-parse', 'main')).toBe(queued.git('rev-parse', 'main'));
      // The losers' work is archived here, listed by `archives`.
      const archives = json<{ ref: string }[]>(
        await runCli(['archives', '--json'], { cwd: queued.path }),
      ).map((entry) => entry.ref);
      for (const loser of [1, 2]) {
        const entry = issue?.variants?.find((v) => v.variant === loser);
        expect(archives).toContain(entry?.archiveRef);
        queued.git(
          'merge-base',
          '--is-ancestor',
          readFileSync(join(marks, String(loser)), 'utf8'),
          entry?.archiveRef ?? '',
        );
      }
      // Each attempt's output came to its own log here, named for it.
      for (const variant of [1, 2, 3]) {
        const entry = issue?.variants?.find((v) => v.variant === variant);
        expect(entry?.logFile).toMatch(new RegExp(`issue-7-v${variant}\\.log$`));
        // The worker's own output (streamed to this log), not only the line saying where it is kept.
        expect(readFileSync(entry?.logFile ?? '', 'utf8')).toContain(`# on worker ${entry?.worker} (host `);
      }
      expect(queued.git('worktree', 'list', '--porcelain').match(/^worktree /gm)).toHaveLength(1);
    }, 240_000);

    it('--variants-stop-at on the queue: a variant passing with at least that score stops its issue’s other jobs (running or waiting), not the batch', async () => {
      const repo = project();
      const marks = tempDir();
      const queueName = 'variants-stop';
      // v1 scores 95 once v2 runs (on the other worker); v2 and v3 commit, record their pid, then never end.
      const agent = `
const fs = require('fs'), { execFileSync } = require('child_process');
const variant = process.env.MIYABI_VARIANT, marks = process.env.MARKS;
fs.writeFileSync(marks + '/started-' + variant, '');
if (variant === '1') while (!fs.existsSync(marks + '/started-2')) execFileSync('sleep', ['0.05']);
fs.writeFileSync('score.txt', variant === '1' ? '95\\n' : '10\\n');
execFileSync('git', ['add', '-A']);
execFileSync('git', ['commit', '-q', '-m', 'variant ' + variant]);
if (variant !== '1') {
  fs.writeFileSync(marks + '/' + variant, String(process.pid));
  setInterval(() => {}, 1000);
}
`;
      const home = tempDir();
      for (const name of ['w1', 'w2']) {
        const worker = startCli(
          [
            'worker',
            '--remote',
            repo.remote as string,
            '--queue',
            redis.url,
            '--queue-name',
            queueName,
            '--repo',
            join(home, name),
            '--name',
            name,
            '--concurrency',
            '1',
          ],
          { cwd: tempDir(), env: { MARKS: marks } },
        );
        processes.push(worker);
        await saidOnStderr(worker, /waiting for jobs/);
      }
      const run = startCli(
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
          '--queue',
          redis.url,
          '--queue-name',
          queueName,
          '--',
          process.execPath,
          '-e',
          agent,
        ],
        { cwd: repo.path, env: { MARKS: marks } },
      );
      processes.push(run);
      const done = await run.done;
      const results = json<RunJson>(done).results;
      const issue = results.find((result) => result.issueNumber === 9);
      expect(issue?.status, done.stderr).toBe('success');
      expect(issue?.winner).toBe(1);
      expect(issue?.variants?.map((v) => [v.variant, v.status, v.score ?? null])).toEqual([
        [1, 'success', 95],
        [2, 'cancelled', null],
        [3, 'cancelled', null],
      ]);
      for (const stopped of [2, 3]) {
        expect(issue?.variants?.[stopped - 1]?.error?.message).toMatch(/scored 95 \(variantsStopAt 80\)/);
      }
      // v2 ran on a worker: its process group was killed there (its work archived there, as any cancelled job's).
      const pid = Number(readFileSync(join(marks, '2'), 'utf8'));
      expect(() => process.kill(pid, 0)).toThrow();
    }, 240_000);
  },
);
