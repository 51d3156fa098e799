import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PoolExecutionResult } from '../src/index.js';
import { parseQueueJob, QUEUE_PAYLOAD_VERSION } from '../src/queue/payload.js';
import { json, runCli, saidOnStderr, startCli } from './helpers/cli-process.js';
import { requireBinary } from './helpers/external-binary.js';
import { queueTestBed } from './helpers/queue-bed.js';
import { AGENT, CHECK, PROJECT_FILES, passesHere } from './helpers/semantic-conflict.js';
import { createTempRepo, git, type TempRepo, tempDir } from './helpers/temp-repo.js';

const redisServer = requireBinary('redis-server', 'the queue landing tests');

describe.skipIf(!redisServer)('run --queue --check: each task lands at the submitter, checked', () => {
  const { redis, processes } = queueTestBed(redisServer);

  function project(): TempRepo {
    return createTempRepo({
      withRemote: true,
      files: PROJECT_FILES,
    });
  }

  /** Two CLI workers on `repo`'s remote, `env` in their environment (what the agent sees there). */
  async function workers(repo: TempRepo, queueName: string, env: Record<string, string> = {}) {
    const home = tempDir();
    mkdirSync(home, { recursive: true });
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
        ],
        { cwd: tempDir(), env },
      );
      processes.push(worker);
      await saidOnStderr(worker, /waiting for jobs/);
    }
  }

  function runQueued(repo: TempRepo, queueName: string, extra: readonly string[], agent = AGENT) {
    return runCli(
      [
        'run',
        '--issues',
        '1,2',
        '--merge',
        '--check',
        'node check.js',
        '--queue',
        redis.url,
        '--queue-name',
        queueName,
        '--json',
        ...extra,
        '--',
        process.execPath,
        '-e',
        agent,
        '{checkLog}',
      ],
      { cwd: repo.path },
    );
  }

  it('two agents that break each other: one lands, the other CHECK_FAILED and kept here (land N works), main passes', async () => {
    const repo = project();
    await workers(repo, 'land-keep');
    const result = await runQueued(repo, 'land-keep', []);
    expect(result.code).toBe(1);
    const batch = json<PoolExecutionResult>(result);
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
    expect(failed?.landing?.checks).toBe(1);
    expect(failed?.landing?.lastCheck?.ok).toBe(false);
    expect(readFileSync(failed?.landing?.lastCheck?.checkLog ?? '', 'utf8')).toMatch(/is not a function/);
    // Kept here, on its branch as its worker pushed it: the worktree the check ran in.
    expect(failed?.cleanedUp).toBe(false);
    expect(existsSync(failed?.worktreePath ?? '')).toBe(true);
    expect(git(failed?.worktreePath ?? '', 'rev-parse', '--abbrev-ref', 'HEAD')).toBe(failed?.branchName);
    expect(git(failed?.worktreePath ?? '', 'rev-parse', 'HEAD')).toBe(failed?.push?.commit);
    expect(failed?.error?.message).toContain(failed?.worktreeId ?? 'no id');
    // The landed one: checked, then main moved to exactly that commit, and pushed to the remote.
    expect(landed[0]?.landing?.checkedCommit).toBe(landed[0]?.merge?.commit);
    expect(repo.git('rev-parse', 'main')).toBe(landed[0]?.merge?.commit);
    expect(git(repo.remote as string, 'rev-parse', 'main')).toBe(landed[0]?.merge?.commit);
    expect(passesHere(repo.path)).toBe(true);
    // The landed task's worktree and branch here are gone, as a plain queue merge leaves none.
    expect(repo.git('branch', '--list', landed[0]?.branchName ?? '')).toBe('');
    expect(result.stderr).toMatch(/failed \(check\)\s.*check failed/);
    expect(result.stderr).toMatch(/^- Checks failed: 1$/m);

    // Fixed there by hand, `land N` lands it through the same check.
    const path = failed?.worktreePath as string;
    git(path, 'merge', '-q', '--no-edit', 'main');
    for (const file of ['main.js', 'extra.js'].filter((f) => existsSync(join(path, f)))) {
      writeFileSync(join(path, file), readFileSync(join(path, file), 'utf8').replaceAll('greet(', 'hello('));
    }
    git(path, 'commit', '-qam', 'fix by hand');
    const land = await runCli(['land', String(failed?.issueNumber), '--check', 'node check.js'], {
      cwd: repo.path,
    });
    expect(land.code).toBe(0);
    expect(passesHere(repo.path)).toBe(true);
  }, 240_000);

  it('--on-check-fail agent: the failing one is handed back to a worker with the check log, both land, main passes', async () => {
    const repo = project();
    const seen = join(tempDir(), 'seen.txt');
    await workers(repo, 'land-agent', { SEEN_LOGS: seen });
    const result = await runQueued(repo, 'land-agent', ['--on-check-fail', 'agent']);
    expect(result.code, result.stderr).toBe(0);
    const batch = json<PoolExecutionResult>(result);
    expect(batch.results.map((r) => r.status)).toEqual(['success', 'success']);
    // The agent on its worker saw the submitter's check output, through MIYABI_CHECK_LOG and {checkLog}
    // alike: a file of the worker's, under the worktree's git dir (outside the tracked tree).
    const seenText = readFileSync(seen, 'utf8');
    expect(seenText).toMatch(/is not a function/);
    expect(seenText).toMatch(/--- \/.+\/miyabi-check\.log/);
    const fixed = batch.results.find((r) => (r.resolveAttempts?.length ?? 0) > 0);
    expect(fixed?.resolveAttempts).toEqual([expect.objectContaining({ attempt: 1, outcome: 'resolved' })]);
    expect(fixed?.landing?.checks).toBe(2);
    expect(repo.git('rev-parse', 'main')).toBe(fixed?.merge?.commit);
    expect(git(repo.remote as string, 'rev-parse', 'main')).toBe(repo.git('rev-parse', 'main'));
    expect(passesHere(repo.path)).toBe(true);
    expect(readFileSync(join(repo.path, 'extra.js'), 'utf8')).toContain('hello(');
    // Nothing kept here: both landed.
    expect(batch.results.every((r) => r.cleanedUp !== false || r.worktreePath === undefined)).toBe(true);
  }, 240_000);

  it('a red base is refused at the submitter before any job is sent; --allow-red-base runs the batch', async () => {
    const repo = project();
    repo.commit({ 'broken.js': 'require("./lib").nothing();\n' }, 'main is red');
    git(repo.path, 'push', '-q', 'origin', 'main');
    const ran = join(tempDir(), 'ran.txt');
    await workers(repo, 'land-red', { RAN: ran });
    // The task repairs main: with --allow-red-base its candidate passes and lands.
    const agent = `const fs = require('fs'), { execFileSync } = require('child_process');
      fs.appendFileSync(process.env.RAN, 'x'); fs.rmSync('broken.js');
      execFileSync('git', ['add', '-A']); execFileSync('git', ['commit', '-q', '-m', 'repair']);`;
    const refused = await runCli(
      [
        'run',
        '--issues',
        '1',
        '--merge',
        '--check',
        'node check.js',
        '--queue',
        redis.url,
        '--queue-name',
        'land-red',
        '--',
        process.execPath,
        '-e',
        agent,
      ],
      { cwd: repo.path },
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /\[CHECK_FAILS_ON_BASE\] the check fails on the base main itself \(exit 1\)/,
    );
    expect(existsSync(ran)).toBe(false);
    expect(git(repo.remote as string, 'branch', '--list', 'feature/*')).toBe('');

    const allowed = await runCli(
      [
        'run',
        '--issues',
        '1',
        '--merge',
        '--check',
        'node check.js',
        '--allow-red-base',
        '--queue',
        redis.url,
        '--queue-name',
        'land-red',
        '--json',
        '--',
        process.execPath,
        '-e',
        agent,
      ],
      { cwd: repo.path },
    );
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(readFileSync(ran, 'utf8')).toBe('x');
    const [task] = json<PoolExecutionResult>(allowed).results;
    expect(task?.landing?.checkedCommit).toBe(repo.git('rev-parse', 'main'));
    expect(passesHere(repo.path)).toBe(true);
  }, 240_000);

  it('a conflict met while landing: --on-conflict agent resolves it on a worker, then it lands here through the check', async () => {
    const repo = createTempRepo({
      withRemote: true,
      files: {
        'same.txt': 'base\n',
        'check.js': "if (!require('fs').existsSync('same.txt')) process.exit(1);\n",
      },
    });
    await workers(repo, 'land-conflict');
    const sync = tempDir();
    // One command for both: a task run writes its issue; a hand-back (MIYABI_CONFLICTS set) resolves.
    // Issue 1 finishes only once issue 2 runs: both started from the same base, so they conflict.
    const agent = [
      'if [ -n "$MIYABI_CONFLICTS" ]; then echo both > same.txt; else',
      `  if [ "$MIYABI_ISSUE_NUMBER" = 2 ]; then touch "${sync}/started-2"; else while [ ! -f "${sync}/started-2" ]; do sleep 0.05; done; fi`,
      '  echo "$MIYABI_ISSUE_NUMBER" > same.txt',
      'fi',
      'git add -A && git commit -qm "t $MIYABI_ISSUE_NUMBER"',
    ].join('\n');
    const ran = await runCli(
      [
        'run',
        '--issues',
        '1,2',
        '--merge',
        '--check',
        'node check.js',
        '--on-conflict',
        'agent',
        '--queue',
        redis.url,
        '--queue-name',
        'land-conflict',
        '--json',
        '--',
        'sh',
        '-c',
        agent,
      ],
      { cwd: repo.path },
    );
    expect(ran.code, ran.stderr).toBe(0);
    expect(repo.git('show', 'main:same.txt')).toBe('both');
    const results = json<PoolExecutionResult>(ran).results;
    const resolved = results.find((r) => (r.resolveAttempts?.length ?? 0) > 0);
    expect(resolved?.resolveAttempts).toEqual([expect.objectContaining({ outcome: 'resolved' })]);
    // Both landed through the check: main is the last checked commit, and on the remote.
    expect(resolved?.landing?.checkedCommit).toBe(repo.git('rev-parse', 'main'));
    expect(results.every((r) => r.landing?.checkedCommit !== undefined)).toBe(true);
    expect(git(repo.remote as string, 'rev-parse', 'main')).toBe(repo.git('rev-parse', 'main'));
    expect(repo.git('branch', '--list', 'feature/*')).toBe('');
  }, 240_000);

  it('--on-check-fail remove: the failing one is removed here (its branch stays on the remote); the setup runs here first', async () => {
    // The check needs what the setup makes: it passes here only if the landing worktree was set up here.
    const repo = createTempRepo({
      withRemote: true,
      files: {
        'lib.js': 'exports.greet = () => "hi";\n',
        'main.js': 'require("./lib").greet();\n',
        'check.js': `require('fs').accessSync('.setup-done');\n${CHECK}`,
        '.gitignore': '.setup-done\n',
        'miyabi-worktree.config.json': JSON.stringify({ setup: [['sh', '-c', 'echo ok > .setup-done']] }),
      },
    });
    await workers(repo, 'land-remove');
    const result = await runQueued(repo, 'land-remove', ['--on-check-fail', 'remove']);
    expect(result.code).toBe(1);
    const batch = json<PoolExecutionResult>(result);
    const [landed] = batch.results.filter((r) => r.status === 'success');
    const [failed] = batch.results.filter((r) => r.status !== 'success');
    expect(landed?.landing?.checkedCommit).toBe(repo.git('rev-parse', 'main'));
    expect(failed).toMatchObject({ stage: 'check', error: { code: 'CHECK_FAILED' } });
    expect(readFileSync(failed?.landing?.lastCheck?.checkLog ?? '', 'utf8')).toMatch(/is not a function/);
    // Removed here, as a local task's: no worktree, no branch; the worker's push of it is on the remote.
    expect(failed?.worktreePath).toBeUndefined();
    expect(repo.git('worktree', 'list', '--porcelain')).not.toContain(failed?.branchName ?? 'no branch');
    expect(repo.git('branch', '--list', 'feature/*')).toBe('');
    expect(git(repo.remote as string, 'rev-parse', failed?.branchName ?? '')).toBe(failed?.push?.commit);
    writeFileSync(join(repo.path, '.setup-done'), 'ok\n');
    expect(passesHere(repo.path)).toBe(true);
  }, 240_000);
});

describe('check hand-back job payloads', () => {
  const job = {
    batchId: 'b',
    remote: '/nowhere',
    baseSha: 'a'.repeat(40),
    baseBranch: 'main',
    issueNumber: 1,
    branchName: 'feature/issue-1',
    argv: ['fix'],
    timeoutMs: 1000,
  };
  const handBack = {
    branchCommit: 'b'.repeat(40),
    targetSha: 'c'.repeat(40),
    into: 'main',
    attempts: 1,
    checkLog: 'TypeError: greet is not a function\n',
  };

  it('a failing check travels with its output in a version 4 job', () => {
    expect(QUEUE_PAYLOAD_VERSION).toBe(4);
    expect(parseQueueJob({ ...job, v: QUEUE_PAYLOAD_VERSION, handBack }).handBack).toEqual(handBack);
    expect(() => parseQueueJob({ ...job, v: 5, handBack })).toThrow(
      expect.objectContaining({ code: 'QUEUE_PAYLOAD' }),
    );
  });
});

describe('run --queue --check: bad input', () => {
  it('a missing check program is refused with exit 2 before anything connects, --allow-red-base too (the check runs at the submitter)', async () => {
    const repo = createTempRepo({ withRemote: true });
    const before = repo.git('for-each-ref');
    const result = await runCli(
      [
        'run',
        '--issues',
        '1',
        '--merge',
        '--check',
        'no-such-check-program --x',
        // Else the base's check would find it too: the preflight must, before any job.
        '--allow-red-base',
        '--queue',
        'redis://127.0.0.1:1',
        '--',
        'true',
      ],
      { cwd: repo.path },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/COMMAND_NOT_FOUND.*no-such-check-program/);
    expect(repo.git('for-each-ref')).toBe(before);
  });
});
