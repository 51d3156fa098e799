import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PoolExecutionResult, TaskResult } from '../src/index.js';
import { json, runCli, saidOnStderr, startCli } from './helpers/cli-process.js';
import { requireBinary } from './helpers/external-binary.js';
import { queueTestBed } from './helpers/queue-bed.js';
import { createTempRepo, git, type TempRepo, tempDir } from './helpers/temp-repo.js';

const redisServer = requireBinary('redis-server', 'the queue parity tests');

/** Every file below `dir`, relative to it. */
function filesBelow(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

/** What must agree between a local and a queue run of one task: its outcome, and its shape. */
function outcome(result: TaskResult) {
  // Who ran it; `push`: the worker's push of the branch to the queue's remote (the queue's transport,
  // a real push); `resources`: present only when a sample fell within the command (every 250 ms).
  const {
    worker: _w,
    host: _h,
    push: _p,
    resources: _r,
    ...rest
  } = result as TaskResult & { worker?: string; host?: string };
  return {
    issue: result.issueNumber,
    status: result.status,
    stage: result.status === 'success' ? undefined : result.stage,
    code: result.status === 'success' ? undefined : result.error.code,
    branch: result.branchName,
    merge: result.merge?.status,
    keys: Object.keys(rest).sort(),
  };
}

describe.skipIf(!redisServer)('one batch engine: the same batch locally and on two workers', () => {
  const { redis, processes } = queueTestBed(redisServer);

  /** A repository with a setup in its config, a shared file two tasks both change, and a remote. */
  function batchRepo(): TempRepo {
    return createTempRepo({
      withRemote: true,
      files: {
        'README.md': '# parity\n',
        'shared.txt': 'base\n',
        '.gitignore': '.setup-done\n',
        'miyabi-worktree.config.json': JSON.stringify({ setup: [['sh', '-c', 'echo set up > .setup-done']] }),
      },
    });
  }

  /**
   * Four tasks: 1 succeeds, 3 fails at execute, 2 and 4 change the same line — 2 waits until 1 is
   * merged at the submitter and 4 until 2 is, so 1 fast-forwards, 2 merges and 4 (started from the
   * same base) conflicts in both runs alike.
   */
  async function runBatch(repo: TempRepo, extra: readonly string[]) {
    const sync = tempDir();
    const logDir = join(tempDir(), 'logs');
    const html = join(tempDir(), 'batch.html');
    const script = [
      'echo "hello from $1"; echo "warn $1" >&2',
      'test -f .setup-done || exit 9',
      `case $1 in`,
      `  3) exit 3 ;;`,
      `  2) while [ ! -f "${sync}/started-4" ] || [ ! -f "${sync}/merged-1" ]; do sleep 0.05; done; echo two > shared.txt ;;`,
      `  4) touch "${sync}/started-4"; while [ ! -f "${sync}/merged-2" ]; do sleep 0.05; done; echo four > shared.txt ;;`,
      'esac',
      'echo "issue $1 $2" > "out-$1" && git add -A && git commit -qm "t $1"',
    ].join('\n');
    const run = startCli(
      [
        'run',
        '--issues',
        '1-4',
        '--concurrency',
        '4',
        '--merge',
        '--keep',
        '--log-dir',
        logDir,
        '--html',
        html,
        '--json',
        ...extra,
        '--',
        'sh',
        '-c',
        script,
        'sh',
        '{issue}',
        '{branch}',
      ],
      { cwd: repo.path },
    );
    processes.push(run);
    // Observable state, not time: task 2's change on the submitter's main frees task 4.
    const watch = setInterval(() => {
      try {
        if (repo.git('ls-tree', '--name-only', 'main').split('\n').includes('out-1'))
          writeFileSync(join(sync, 'merged-1'), '');
        if (repo.git('show', 'main:shared.txt') === 'two') writeFileSync(join(sync, 'merged-2'), '');
      } catch {
        // not merged yet
      }
    }, 50);
    try {
      const done = await run.done;
      return { done, result: json<PoolExecutionResult>(done), logDir, html };
    } finally {
      clearInterval(watch);
    }
  }

  it('merges the same tree, expands the same placeholders, reports the same results, and writes the same logs', async () => {
    const local = batchRepo();
    const localRun = await runBatch(local, []);

    const queued = batchRepo();
    const queueName = 'parity';
    const home = tempDir();
    mkdirSync(home, { recursive: true });
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
          '2',
        ],
        { cwd: tempDir() },
      );
      processes.push(worker);
      await saidOnStderr(worker, /waiting for jobs/);
    }
    const queueRun = await runBatch(queued, ['--queue', redis.url, '--queue-name', queueName]);

    for (const { done } of [localRun, queueRun]) expect(done.code).toBe(1);
    // The same merged tree: the setup ran, the placeholders were replaced, 3 failed, 4 conflicted.
    expect(queued.git('rev-parse', 'main^{tree}')).toBe(local.git('rev-parse', 'main^{tree}'));
    expect(queued.git('show', 'main:out-1')).toBe('issue 1 feature/issue-1');
    expect(queued.git('show', 'main:shared.txt')).toBe('two');
    expect(queued.git('log', '--format=%s', 'main')).not.toContain('{issue}');

    const byIssue = (result: PoolExecutionResult) =>
      [...result.results].sort((a, b) => a.issueNumber - b.issueNumber).map(outcome);
    expect(byIssue(queueRun.result)).toEqual(byIssue(localRun.result));
    expect(byIssue(localRun.result).map(({ status, stage }) => [status, stage])).toEqual([
      ['success', undefined],
      ['success', undefined],
      ['failed', 'execute'],
      ['failed', 'merge'],
    ]);
    expect(queueRun.result.results.map((r) => (r as { worker?: string }).worker).sort()).toEqual(
      expect.arrayContaining(['w1']),
    );

    for (const [repo, { logDir, html }] of [
      [local, localRun],
      [queued, queueRun],
    ] as const) {
      // --log-dir: one log per task, with its stdout and stderr.
      const logs = filesBelow(logDir);
      for (const issue of [1, 2, 3, 4]) {
        const file = logs.find((path) => path.endsWith(`issue-${issue}.log`));
        expect(file, `${repo.path}: issue ${issue}'s log in ${logDir}`).toBeDefined();
        const text = readFileSync(file as string, 'utf8');
        expect(text).toContain(`hello from ${issue}`);
        expect(text).toContain(`warn ${issue}`);
      }
      // `logs` and `path` at the submitter: the kept worktrees are here, whoever ran the task.
      const shown = await runCli(['logs', '3'], { cwd: repo.path });
      expect(shown.stdout).toContain('hello from 3');
      const path = await runCli(['path', '4'], { cwd: repo.path });
      expect(path.code).toBe(0);
      expect(git(path.stdout.trim(), 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('feature/issue-4');
      expect(readFileSync(join(path.stdout.trim(), 'out-4'), 'utf8')).toBe('issue 4 feature/issue-4\n');
      // --html: every task drawn.
      const page = readFileSync(html, 'utf8');
      for (const issue of [1, 2, 3, 4]) expect(page).toContain(`#${issue}`);
    }
  }, 240_000);

  it('a batch with a landing check: the same results, landings, report and exit code locally and on the queue', async () => {
    // Issue 1 renames greet() to hello(); issue 2, started from the same base, adds a call to greet()
    // and finishes once 1 has landed (observable on main): its candidate fails the check in both runs.
    const check = `for (const f of require('fs').readdirSync('.').filter((f) => f.endsWith('.js') && f !== 'check.js')) require('./' + f);`;
    const checkedRepo = () =>
      createTempRepo({
        withRemote: true,
        files: {
          'lib.js': 'exports.greet = () => "hi";\n',
          'main.js': 'require("./lib").greet();\n',
          'check.js': check,
        },
      });
    const run = async (repo: TempRepo, extra: readonly string[]) => {
      const sync = tempDir();
      const script = [
        'case $1 in',
        `  1) echo 'exports.hello = () => "hi";' > lib.js; echo 'require("./lib").hello();' > main.js ;;`,
        `  2) while [ ! -f "${sync}/landed-1" ]; do sleep 0.05; done; echo 'require("./lib").greet();' > extra.js ;;`,
        'esac',
        'git add -A && git commit -qm "t $1"',
      ].join('\n');
      const cli = startCli(
        [
          'run',
          '--issues',
          '1,2',
          '--merge',
          '--check',
          'node check.js',
          '--json',
          ...extra,
          '--',
          'sh',
          '-c',
          script,
          'sh',
          '{issue}',
        ],
        { cwd: repo.path },
      );
      processes.push(cli);
      // Observable state, not time: issue 1's landing on the submitter's main frees issue 2.
      const watch = setInterval(() => {
        try {
          if (repo.git('show', 'main:lib.js').includes('hello')) writeFileSync(join(sync, 'landed-1'), '');
        } catch {
          // not landed yet
        }
      }, 50);
      try {
        const done = await cli.done;
        const report = await runCli(['report'], { cwd: repo.path });
        return { done, result: json<PoolExecutionResult>(done), report: report.stdout };
      } finally {
        clearInterval(watch);
      }
    };
    const local = checkedRepo();
    const localRun = await run(local, []);
    const queued = checkedRepo();
    const home = tempDir();
    mkdirSync(home, { recursive: true });
    for (const name of ['w1', 'w2']) {
      const worker = startCli(
        [
          'worker',
          '--remote',
          queued.remote as string,
          '--queue',
          redis.url,
          '--queue-name',
          'parity-check',
          '--repo',
          join(home, name),
          '--name',
          name,
        ],
        { cwd: tempDir() },
      );
      processes.push(worker);
      await saidOnStderr(worker, /waiting for jobs/);
    }
    const queueRun = await run(queued, ['--queue', redis.url, '--queue-name', 'parity-check']);

    for (const { done } of [localRun, queueRun]) expect(done.code).toBe(1);
    expect(queued.git('rev-parse', 'main^{tree}')).toBe(local.git('rev-parse', 'main^{tree}'));
    const landings = (result: PoolExecutionResult) =>
      [...result.results]
        .sort((a, b) => a.issueNumber - b.issueNumber)
        .map((r) => ({
          // A queue task not kept here names no worktree path (its worker's means nothing here): as without a check.
          ...outcome({ ...r, worktreePath: undefined }),
          kept: r.cleanedUp === false && r.worktreePath !== undefined,
          landing: r.landing && {
            keys: Object.keys(r.landing).sort(),
            checks: r.landing.checks,
            ok: r.landing.lastCheck?.ok,
            landed: r.landing.checkedCommit === r.merge?.commit,
          },
        }));
    expect(landings(queueRun.result)).toEqual(landings(localRun.result));
    expect(
      landings(localRun.result).map(({ status, stage, code, kept }) => [status, stage, code, kept]),
    ).toEqual([
      ['success', undefined, undefined, false],
      ['failed', 'check', 'CHECK_FAILED', true],
    ]);
    const counts = ({
      totalTasks,
      successCount,
      failedCount,
      conflicts,
      allSuccessful,
    }: PoolExecutionResult) => ({
      totalTasks,
      successCount,
      failedCount,
      conflicts,
      allSuccessful,
    });
    expect(counts(queueRun.result)).toEqual(counts(localRun.result));
    // The report: the same lines but for times and sizes.
    // "Peak memory" is there only when the sampler caught an agent, which depends on its speed, not on where it ran.
    const plain = (text: string) =>
      text
        .replace(/^- Peak memory: .*\n?/m, '')
        .replace(/[0-9][0-9.,]*\s*(ms|s|m|h|KiB|MiB|GiB|B|%)\b/g, 'N')
        .replace(/[0-9a-f]{12,}/g, 'H');
    expect(plain(queueRun.report)).toBe(plain(localRun.report));
    expect(localRun.report).toMatch(/^- Checks failed: 1$/m);
  }, 240_000);
});
