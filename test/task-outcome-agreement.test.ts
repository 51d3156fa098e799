import { describe, expect, it } from 'vitest';
import type { RunTaskOutput } from '../src/cli/run/task-executor.js';
import type { PoolExecutionResult } from '../src/pool/types.js';
import { json, runCli } from './helpers/cli-process.js';
import { createTempRepo, git, tempDir } from './helpers/temp-repo.js';

type RunJson = PoolExecutionResult<RunTaskOutput>;

// One batch, five agents, each meeting a different fate after its command exited 0:
// #1 its merge conflicts, #2 its push is rejected, #3 its worktree cannot be removed (a nested
// repository with uncommitted work), #4 succeeds, #5 its merge is refused (the user's checkout has
// uncommitted changes to the file it touches).
const AGENT = `
  const fs = require('fs'), { execFileSync } = require('child_process');
  const n = process.env.MIYABI_ISSUE_NUMBER;
  const file = { 1: 'same.txt', 5: 'dirty.txt' }[n] ?? 'file-' + n + '.txt';
  fs.writeFileSync(file, 'written for ' + n + '\\n');
  execFileSync('git', ['add', file]);
  execFileSync('git', ['commit', '-q', '-m', 'fix ' + n]);
  if (n === '3') {
    fs.mkdirSync('nested');
    execFileSync('git', ['init', '-q'], { cwd: 'nested' });
    execFileSync('git', ['commit', '-q', '--allow-empty', '-m', 'nested'], { cwd: 'nested' });
    fs.writeFileSync('nested/notes.txt', 'work of its own\\n');
  }`;

describe('one task outcome, told the same everywhere', () => {
  it('a conflict, a rejected push, a refused merge and a failed cleanup fail their tasks in the JSON, table, live view, report and exit code', async () => {
    const repo = createTempRepo({ withRemote: true });
    repo.commit({ 'same.txt': 'base\n', 'dirty.txt': 'base\n' }, 'files the agents touch');
    repo.git('branch', 'start');
    // main moves on after `start`: #1's same.txt conflicts with this whatever the timing.
    repo.commit({ 'same.txt': 'main changed it\n' }, 'main changes same.txt');
    // The remote already has a different feature/issue-2: #2's push is not a fast-forward.
    const other = tempDir();
    git(other, 'clone', '-q', repo.remote as string, '.');
    git(other, 'checkout', '-q', '-b', 'feature/issue-2');
    git(other, 'commit', '-q', '--allow-empty', '-m', 'someone else');
    git(other, 'push', '-q', 'origin', 'feature/issue-2');
    // The user's own uncommitted change to dirty.txt: #5's merge would overwrite it.
    repo.write('dirty.txt', 'the user is editing this\n');

    const result = await runCli(
      [
        'run',
        '--issues',
        '1-5',
        '--base',
        'start',
        '--merge',
        '--into',
        'main',
        '--push',
        '--json',
        '--',
        process.execPath,
        '-e',
        AGENT,
      ],
      { cwd: repo.path },
    );

    // JSON: the one value every other view derives from.
    const batch = json<RunJson>(result);
    const byIssue = new Map(batch.results.map((r) => [r.issueNumber, r]));
    expect(byIssue.get(1)).toMatchObject({
      status: 'failed',
      stage: 'merge',
      error: { code: 'MERGE_CONFLICT', conflicts: ['same.txt'] },
    });
    expect(byIssue.get(1)?.error?.hint).toBeTypeOf('string');
    expect(byIssue.get(2)).toMatchObject({
      status: 'failed',
      stage: 'push',
      error: { code: 'PUSH_REJECTED' },
    });
    expect(byIssue.get(2)?.merge?.status).toMatch(/^(merged|fast-forwarded)$/);
    expect(byIssue.get(3)).toMatchObject({
      status: 'failed',
      stage: 'cleanup',
      error: { code: 'WORKTREE_DIRTY' },
    });
    expect(byIssue.get(3)?.push).toMatchObject({ remote: 'origin' });
    expect(byIssue.get(4)).toMatchObject({ status: 'success', cleanedUp: true });
    expect(byIssue.get(4)?.stage).toBeUndefined();
    expect(byIssue.get(5)).toMatchObject({
      status: 'failed',
      stage: 'merge',
      error: { code: 'CHECKOUT_DIRTY' },
    });
    expect(batch).toMatchObject({
      totalTasks: 5,
      successCount: 1,
      failedCount: 4,
      allSuccessful: false,
      successRate: 20,
    });
    // Exit code.
    expect(result.code).toBe(1);
    // The live view (plain lines off a terminal) ends each task in the same state.
    for (const [issue, task] of byIssue) {
      expect(result.stderr).toMatch(new RegExp(`Z #${issue} ${task.status}\\b`));
    }
    // The table says where each failed task stopped.
    const table = result.stderr.slice(result.stderr.indexOf('ISSUE'));
    expect(table).toMatch(/#1\s+failed \(merge\)\s.*conflict/);
    expect(table).toMatch(/#2\s+failed \(push\)/);
    expect(table).toMatch(/#3\s+failed \(cleanup\)/);
    expect(table).toMatch(/#4\s+success\s/);
    expect(table).toMatch(/#5\s+failed \(merge\)/);
    expect(table).toContain(`5 tasks: 1 succeeded · 4 failed`);
    // The report counts the same outcome: one success of five, and each follow-up failure as an error.
    expect(result.stderr).toContain('- Executed: 5 (succeeded: 1, failed: 4)');
    expect(result.stderr).toContain('- Errors: 4');
    expect(result.stderr).toContain('- Success rate: 20.0%');
    expect(result.stderr).toContain('- Merge conflicts: 1');
    const report = await runCli(['report', '--batch', batch.batchId, '--json'], { cwd: repo.path });
    expect(json(report)).toMatchObject({ executions: 5, successfulExecutions: 1, failedExecutions: 4 });
    // Nothing of the user's was touched.
    expect(repo.git('symbolic-ref', '--short', 'HEAD')).toBe('main');
    expect(repo.git('diff', '--name-only')).toBe('dirty.txt');
  });

  it('fails a task that left changes but committed nothing when merge was asked, and reports the work as unmerged', async () => {
    const repo = createTempRepo();
    const write = `require('fs').writeFileSync('notes-' + process.env.MIYABI_ISSUE_NUMBER + '.md', 'forgot to commit\\n')`;
    const merged = await runCli(
      ['run', '--issues', '7', '--merge', '--json', '--', process.execPath, '-e', write],
      {
        cwd: repo.path,
      },
    );
    const [task] = json<RunJson>(merged).results;
    expect(merged.code).toBe(1);
    expect(task).toMatchObject({
      status: 'failed',
      stage: 'merge',
      error: { code: 'NOTHING_COMMITTED' },
      unmergedWork: { paths: ['notes-7.md'], archiveRef: expect.stringMatching(/^refs\/miyabi\/archive\//) },
    });
    expect(task?.archiveRef).toBe(task?.unmergedWork?.archiveRef);
    // Without merge, the same task succeeded, and still says its work was not merged.
    const plain = await runCli(['run', '--issues', '8', '--json', '--', process.execPath, '-e', write], {
      cwd: repo.path,
    });
    const [kept] = json<RunJson>(plain).results;
    expect(plain.code).toBe(0);
    expect(kept).toMatchObject({ status: 'success', unmergedWork: { paths: ['notes-8.md'] } });
  });
});
