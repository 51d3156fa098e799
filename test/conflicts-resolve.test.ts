import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunTaskOutput } from '../src/cli/run/task-executor.js';
import type { PoolExecutionResult } from '../src/pool/types.js';
import { json, runCli } from './helpers/cli-process.js';
import { createTempRepo, type TempRepo } from './helpers/temp-repo.js';

type RunJson = PoolExecutionResult<RunTaskOutput>;

// Normal run: change the same line of same.txt and commit. As a resolver (MIYABI_CONFLICTS names a
// file of paths): keep both sides of every conflict, drop the markers, commit the merge.
const AGENT = `
  const fs = require('fs'), { execFileSync } = require('child_process');
  const list = process.env.MIYABI_CONFLICTS;
  if (list) {
    if (process.argv[1] === 'give-up') process.exit(1);
    for (const path of fs.readFileSync(list, 'utf8').split('\\n').filter(Boolean)) {
      const kept = fs.readFileSync(path, 'utf8').split('\\n').filter((l) => !/^(<{7}|={7}|>{7})/.test(l));
      fs.writeFileSync(path, kept.join('\\n'));
    }
    execFileSync('git', ['add', '-A']);
    execFileSync('git', ['commit', '-q', '--no-edit']);
  } else {
    fs.writeFileSync('same.txt', 'line from ' + process.env.MIYABI_ISSUE_NUMBER + '\\n');
    execFileSync('git', ['commit', '-q', '-am', 'fix ' + process.env.MIYABI_ISSUE_NUMBER]);
  }`;

function conflictingRepo(): TempRepo {
  const repo = createTempRepo();
  repo.commit({ 'same.txt': 'line\n' }, 'a line both agents change');
  return repo;
}

/** Every file of the main checkout (not .git, not the worktrees) with its bytes. */
function checkoutBytes(repo: TempRepo): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (name === '.git' || name === '.worktrees') continue;
      if (statSync(path).isDirectory()) walk(path);
      else files.set(relative(repo.path, path), readFileSync(path, 'latin1'));
    }
  };
  walk(repo.path);
  return files;
}

describe('conflicts are kept where they can be resolved, and handed back to the agent', () => {
  it('with --on-conflict agent, two tasks changing the same line both end merged, exit 0, no markers', async () => {
    const repo = conflictingRepo();
    const result = await runCli(
      [
        'run',
        '--issues',
        '1,2',
        '--merge',
        '--on-conflict',
        'agent',
        '--json',
        '--',
        process.execPath,
        '-e',
        AGENT,
      ],
      { cwd: repo.path },
    );
    const batch = json<RunJson>(result);
    expect(result.code).toBe(0);
    expect(batch).toMatchObject({ successCount: 2, allSuccessful: true, conflicts: { met: 1, resolved: 1 } });
    const resolved = batch.results.find((r) => r.resolveAttempts !== undefined);
    expect(resolved?.resolveAttempts).toMatchObject([
      { attempt: 1, conflicts: ['same.txt'], outcome: 'resolved' },
    ]);
    const merged = repo.git('show', 'main:same.txt');
    expect(merged).toContain('line from 1');
    expect(merged).toContain('line from 2');
    expect(merged).not.toMatch(/^(<{7}|={7}|>{7})/m);
    expect(result.stderr).toContain('Merge conflicts: 1 (resolved: 1)');
  });

  it('keeps a conflicted worktree by default; resolve without a command prints its path and files and touches no checkout', async () => {
    const repo = conflictingRepo();
    const result = await runCli(
      ['run', '--issues', '1,2', '--merge', '--json', '--', process.execPath, '-e', AGENT],
      {
        cwd: repo.path,
      },
    );
    expect(result.code).toBe(1);
    const batch = json<RunJson>(result);
    const loser = batch.results.find((r) => r.status === 'failed');
    expect(loser).toMatchObject({ stage: 'merge', cleanedUp: false, error: { code: 'MERGE_CONFLICT' } });
    expect(result.stderr).toContain(`worktree kept at ${loser?.worktreePath}; continue with:`);
    const before = checkoutBytes(repo);
    const resolve = await runCli(['resolve', String(loser?.issueNumber), '--json'], { cwd: repo.path });
    expect(resolve.code).toBe(1);
    expect(json(resolve)).toMatchObject({
      path: loser?.worktreePath,
      conflicts: ['same.txt'],
      status: 'conflicted',
    });
    expect(readFileSync(join(loser?.worktreePath as string, 'same.txt'), 'utf8')).toMatch(/^<{7}/m);
    // The user's checkout, byte for byte.
    expect(checkoutBytes(repo)).toEqual(before);
    // Then a resolver finishes the job and the branch is merged back.
    const finished = await runCli(
      ['resolve', String(loser?.issueNumber), '--', process.execPath, '-e', AGENT],
      {
        cwd: repo.path,
      },
    );
    expect(finished.code).toBe(0);
    expect(repo.git('show', 'main:same.txt')).toMatch(
      /line from 1[\s\S]*line from 2|line from 2[\s\S]*line from 1/,
    );
    // Resolving again: already merged, nothing changes.
    const again = await runCli(['resolve', String(loser?.issueNumber)], { cwd: repo.path });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('nothing to resolve');
  });

  it('a resolver that gives up leaves the task failed with its work kept', async () => {
    const repo = conflictingRepo();
    const result = await runCli(
      [
        'run',
        '--issues',
        '1,2',
        '--merge',
        '--on-conflict',
        'agent',
        '--json',
        '--',
        process.execPath,
        '-e',
        AGENT,
        'give-up',
      ],
      { cwd: repo.path },
    );
    expect(result.code).toBe(1);
    const batch = json<RunJson>(result);
    const loser = batch.results.find((r) => r.status === 'failed');
    expect(loser).toMatchObject({
      stage: 'merge',
      cleanedUp: false,
      resolveAttempts: [{ attempt: 1, outcome: 'failed', error: { code: 'COMMAND_FAILED' } }],
    });
    expect(batch.conflicts).toEqual({ met: 1, resolved: 0 });
    // Its commit is still on its branch, in its kept worktree.
    expect(repo.git('log', '--format=%s', loser?.branchName as string)).toContain(
      `fix ${loser?.issueNumber}`,
    );
    expect(repo.git('show', 'main:same.txt')).not.toMatch(/^<{7}/m);
  });

  it('merge of an issue whose worktree was removed points at its archive', async () => {
    const repo = createTempRepo();
    const write = `require('fs').writeFileSync('left.txt', 'uncommitted\\n')`;
    await runCli(['run', '--issues', '9', '--', process.execPath, '-e', write], { cwd: repo.path });
    const merge = await runCli(['merge', '9'], { cwd: repo.path });
    expect(merge.code).toBe(1);
    expect(merge.stderr).toMatch(/error \[NOT_FOUND\] no worktree for issue 9 .*restore issue-9-[0-9a-f]{8}/);
  });
});

describe('no silent stale branches', () => {
  const COMMIT = `const { execFileSync } = require('child_process');
    require('fs').writeFileSync('new-' + process.env.MIYABI_ISSUE_NUMBER + '.txt', 'new work\\n');
    execFileSync('git', ['add', '-A']);
    execFileSync('git', ['commit', '-q', '-m', 'new work']);`;

  function repoWithStaleBranch(): TempRepo {
    const repo = createTempRepo();
    repo.git('checkout', '-q', '-b', 'feature/issue-3');
    repo.commit({ 'old.txt': 'last week\n' }, 'old work');
    repo.git('checkout', '-q', 'main');
    return repo;
  }

  it('archives a branch an earlier run left and starts it fresh from the base, saying so first', async () => {
    const repo = repoWithStaleBranch();
    const oldTip = repo.git('rev-parse', 'feature/issue-3');
    const result = await runCli(
      ['run', '--issues', '3', '--merge', '--json', '--', process.execPath, '-e', COMMIT],
      {
        cwd: repo.path,
      },
    );
    expect(result.code).toBe(0);
    const [task] = json<RunJson>(result).results;
    expect(task?.staleBranch).toMatchObject({
      unmergedCommits: 1,
      archiveRef: expect.stringMatching(/^refs\/miyabi\/archive\/issue-3-/),
    });
    // Said before the task starts: both lines must be there (indexOf of a missing one is -1).
    const warned = result.stderr.indexOf('has 1 commit(s) from an earlier run');
    const creating = result.stderr.indexOf('#3 creating');
    expect(warned, result.stderr).toBeGreaterThanOrEqual(0);
    expect(creating, result.stderr).toBeGreaterThan(warned);
    // main got the new work only; the old commit lives on in the archive.
    expect(repo.git('log', '--format=%s', 'main')).not.toContain('old work');
    expect(repo.git('show', 'main:new-3.txt')).toBe('new work');
    expect(repo.git('merge-base', '--is-ancestor', oldTip, task?.staleBranch?.archiveRef as string)).toBe('');
  });

  it('builds on it with --continue-branches', async () => {
    const repo = repoWithStaleBranch();
    const result = await runCli(
      [
        'run',
        '--issues',
        '3',
        '--merge',
        '--continue-branches',
        '--json',
        '--',
        process.execPath,
        '-e',
        COMMIT,
      ],
      { cwd: repo.path },
    );
    expect(result.code).toBe(0);
    expect(json<RunJson>(result).results[0]?.staleBranch).toEqual({ unmergedCommits: 1 });
    expect(repo.git('log', '--format=%s', 'main')).toContain('old work');
  });
});
