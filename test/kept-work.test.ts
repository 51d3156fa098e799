import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { RunTaskOutput } from '../src/cli/run/task-executor.js';
import { isMiyabiError, WorktreePool } from '../src/index.js';
import type { PoolExecutionResult } from '../src/pool/types.js';
import { json, runCli } from './helpers/cli-process.js';
import { repoState } from './helpers/repo-state.js';
import { createTempRepo, type TempRepo } from './helpers/temp-repo.js';

type RunJson = PoolExecutionResult<RunTaskOutput>;

// Each task writes its issue number into a.txt and commits it: two tasks of one base conflict.
const COMMIT_ISSUE = [
  'sh',
  '-c',
  'echo "issue $MIYABI_ISSUE_NUMBER" > a.txt && git add a.txt && git commit -q -m "task $MIYABI_ISSUE_NUMBER"',
];

function cli(repo: TempRepo, ...args: string[]) {
  return runCli(args, { cwd: repo.path });
}

function archiveRefs(repo: TempRepo): string {
  return repo.git('for-each-ref', '--format=%(refname)', 'refs/miyabi/archive');
}

/** Paths of the linked worktrees git knows (the main checkout left out). */
function linkedWorktrees(repo: TempRepo): string[] {
  return repo
    .git('worktree', 'list', '--porcelain')
    .split('\n')
    .filter((line) => line.startsWith('worktree '))
    .slice(1);
}

/** Issue 5's worktree kept after a merge conflict: its branch and main both changed a.txt. */
async function keptConflict(repo: TempRepo): Promise<RunJson> {
  expect((await cli(repo, 'run', '--issues', '5', '--keep', '--', ...COMMIT_ISSUE)).code).toBe(0);
  repo.commit({ 'a.txt': 'changed on main\n' }, 'main moves on');
  const merged = await cli(
    repo,
    'run',
    '--issues',
    '5',
    '--continue-branches',
    '--merge',
    '--json',
    '--',
    'true',
  );
  expect(merged.code).toBe(1);
  const result = json<RunJson>(merged);
  expect(result.results[0]).toMatchObject({ stage: 'merge', error: { code: 'MERGE_CONFLICT' } });
  return result;
}

describe('kept work', () => {
  it('refuses to rerun an issue whose worktree is kept (ISSUE_BUSY, exit 2, nothing changed)', async () => {
    const repo = createTempRepo({ files: { 'a.txt': 'base\n' } });
    const kept = await keptConflict(repo);
    const before = repoState(repo.path);
    const rerun = await cli(repo, 'run', '--issues', '4,5', '--merge', '--', ...COMMIT_ISSUE);
    expect(rerun.code).toBe(2);
    expect(rerun.stderr.trim().split('\n')).toHaveLength(1);
    expect(rerun.stderr).toContain('[ISSUE_BUSY]');
    expect(rerun.stderr).toContain(kept.results[0]?.worktreeId);
    for (const command of ['resolve 5', 'merge 5', 'remove 5', '--continue-branches']) {
      expect(rerun.stderr).toContain(command);
    }
    // Never the old message: nothing was archived, no branch started fresh.
    expect(rerun.stderr).not.toContain('archived');
    expect(repoState(repo.path)).toEqual(before);
  });

  it('continues in the kept worktree with --continue-branches', async () => {
    const repo = createTempRepo({ files: { 'a.txt': 'base\n' } });
    const kept = await keptConflict(repo);
    const id = kept.results[0]?.worktreeId as string;
    // The agent merges main in and settles the conflict in favour of its own line.
    const resolve = [
      'sh',
      '-c',
      'git merge -q main >/dev/null 2>&1; echo "issue 5" > a.txt && git add a.txt && git commit -q -m resolved',
    ];
    const rerun = await cli(
      repo,
      'run',
      '--issues',
      '5',
      '--continue-branches',
      '--merge',
      '--json',
      '--',
      ...resolve,
    );
    expect(rerun.stderr).toContain(`#5: continuing in its kept worktree ${id}`);
    expect(rerun.code).toBe(0);
    const result = json<RunJson>(rerun);
    expect(result.results[0]).toMatchObject({ status: 'success', worktreeId: id, cleanedUp: true });
    expect(repo.git('show', 'main:a.txt')).toBe('issue 5');
    expect(linkedWorktrees(repo)).toEqual([]);
    expect(archiveRefs(repo)).toBe('');
  });

  it('refuses a kept issue in the library too, with a hint naming library calls', async () => {
    const repo = createTempRepo({ files: { 'a.txt': 'base\n' } });
    expect((await cli(repo, 'run', '--issues', '5', '--keep', '--', ...COMMIT_ISSUE)).code).toBe(0);
    const before = repoState(repo.path);
    const pool = await WorktreePool.create({ repoPath: repo.path });
    const error = await pool.executeParallel([{ issueNumber: 5 }], async () => {}).catch((e: unknown) => e);
    expect(isMiyabiError(error, 'ISSUE_BUSY')).toBe(true);
    expect((error as Error & { hint: string }).hint).toContain('removeWorktree(');
    expect((error as Error & { hint: string }).hint).not.toContain('miyabi-worktree');
    expect(repoState(repo.path)).toEqual(before);
  });

  it('keeps the worktree when the target checkout is dirty, names the files, and merge <issue> finishes it', async () => {
    const repo = createTempRepo({ files: { 'a.txt': 'base\n' } });
    repo.write('a.txt', 'my own edit\n');
    const run = await cli(repo, 'run', '--issues', '7', '--merge', '--', ...COMMIT_ISSUE);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('[CHECKOUT_DIRTY]');
    expect(run.stdout).toMatch(/would overwrite \(a\.txt\)/);
    expect(run.stdout).toContain('once that checkout is clean: miyabi-worktree merge 7');
    const [kept] = linkedWorktrees(repo);
    expect(kept).toBeDefined();
    expect(archiveRefs(repo)).toBe('');

    repo.git('checkout', '--', 'a.txt');
    const merged = await cli(repo, 'merge', '7');
    expect(merged.stderr).toBe('');
    expect(merged.code).toBe(0);
    expect(repo.git('show', 'main:a.txt')).toBe('issue 7');
    const removed = await cli(repo, 'remove', '7');
    expect(removed.code).toBe(0);
    expect(removed.stdout).toContain('branch feature/issue-7 deleted');
    expect(linkedWorktrees(repo)).toEqual([]);
  });

  it('writes no archive for a run without --merge: the kept branch holds the work', async () => {
    const repo = createTempRepo({ files: { 'a.txt': 'base\n' } });
    const run = await cli(repo, 'run', '--issues', '1,2', '--', ...COMMIT_ISSUE);
    expect(run.code).toBe(0);
    expect(run.stdout).not.toContain('work saved under');
    for (const issue of [1, 2]) {
      expect(run.stdout).toContain(`#${issue}: its work stays on branch feature/issue-${issue}`);
      expect(repo.git('show', `feature/issue-${issue}:a.txt`)).toBe(`issue ${issue}`);
    }
    expect(archiveRefs(repo)).toBe('');
    expect((await cli(repo, 'archives')).stdout).not.toContain('issue-');
  });

  it('archives only the uncommitted files of a task, never the commits its branch keeps', async () => {
    const repo = createTempRepo({ files: { 'a.txt': 'base\n' } });
    const leaveFile = ['sh', '-c', `${COMMIT_ISSUE[2]} && echo draft > notes.txt`];
    const run = await cli(repo, 'run', '--issues', '3', '--json', '--', ...leaveFile);
    expect(run.code).toBe(0);
    const [task] = json<RunJson>(run).results;
    expect(task?.unmergedWork?.paths).toEqual(['notes.txt']);
    expect(archiveRefs(repo).split('\n')).toHaveLength(1);
    expect(task?.keptBranch?.name).toBe('feature/issue-3');
  });
});

describe('cleanup --merged', () => {
  it('deletes the task branches it kept once they are merged, never a user branch nor unmerged work', async () => {
    const repo = createTempRepo({ files: { 'a.txt': 'base\n' } });
    repo.git('branch', 'mine');
    const ownFile = [
      'sh',
      '-c',
      'echo x > "f-$MIYABI_ISSUE_NUMBER.txt" && git add -A && git commit -q -m task',
    ];
    expect((await cli(repo, 'run', '--issues', '1,2', '--', ...ownFile)).code).toBe(0);
    repo.git('merge', '-q', '--no-edit', 'feature/issue-1');
    const before = repoState(repo.path);

    const dry = await cli(repo, 'cleanup', '--merged', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('would delete branch feature/issue-1 (merged into main)');
    expect(dry.stdout).not.toContain('feature/issue-2');
    expect(repoState(repo.path)).toEqual(before);

    const done = await cli(repo, 'cleanup', '--merged', '--json');
    expect(done.code).toBe(0);
    expect(json<{ deletedBranches: unknown[] }>(done).deletedBranches).toEqual([
      {
        name: 'feature/issue-1',
        commit: before.refs.match(/refs\/heads\/feature\/issue-1 (\w+)/)?.[1],
        mergedInto: 'main',
      },
    ]);
    const branches = repo.git('for-each-ref', '--format=%(refname:short)', 'refs/heads').split('\n');
    expect(branches.sort()).toEqual(['feature/issue-2', 'main', 'mine']);
  });
});

describe('where a run starts and ends', () => {
  it('names the base and why, and the merge target, on the first line', async () => {
    const repo = createTempRepo({ withRemote: true });
    repo.git('checkout', '-q', '-b', 'v5-trial');
    const run = await cli(repo, 'run', '--issues', '1', '--merge', '--', 'true');
    expect(run.code).toBe(0);
    expect(run.stderr.split('\n')[0]).toBe(
      "Base: main (the remote's default branch, origin/HEAD) → merged into main",
    );
    const noMerge = await cli(repo, 'run', '--issues', '2', '--base', 'v5-trial', '--', 'true');
    expect(noMerge.stderr.split('\n')[0]).toBe(
      'Base: v5-trial (--base) → not merged: each task branch keeps its work (--merge merges it)',
    );
  });

  it('--dry-run prints each task: issue, branch, base, target, setup and command; nothing created', async () => {
    const repo = createTempRepo({ withRemote: true });
    repo.commit({ 'miyabi-worktree.config.json': JSON.stringify({ setup: [['npm', 'ci']] }) }, 'config');
    const before = repoState(repo.path);
    const args = ['run', '--issues', '3,4', '--merge', '--into', 'main', '--dry-run'];
    const dry = await cli(repo, ...args, '--', 'echo', '{issue}', '{branch}');
    expect(dry.code).toBe(0);
    expect(dry.stdout.split('\n').slice(0, 6)).toEqual([
      "Base: main (the remote's default branch, origin/HEAD) → merged into main",
      '#3',
      "  branch   feature/issue-3 from main (the remote's default branch, origin/HEAD)",
      '  target   merged into main',
      '  setup    npm ci',
      '  command  echo 3 feature/issue-3',
    ]);
    const asJson = json<{ tasks: unknown[] }>(await cli(repo, ...args, '--json', '--', 'echo', '{issue}'));
    expect(asJson.tasks[1]).toEqual({
      issueNumber: 4,
      branch: 'feature/issue-4',
      base: { branch: 'main', source: 'origin/HEAD', why: "the remote's default branch, origin/HEAD" },
      mergeInto: 'main',
      pushTo: null,
      pullRequestInto: null,
      setup: [['npm', 'ci']],
      command: ['echo', '4'],
    });
    expect(repoState(repo.path)).toEqual(before);
  });

  it('refuses a command that is not on PATH before any worktree exists (also in --dry-run)', async () => {
    const repo = createTempRepo();
    const before = repoState(repo.path);
    for (const extra of [[], ['--dry-run']]) {
      const run = await cli(
        repo,
        'run',
        '--issues',
        '1,2',
        ...extra,
        '--',
        'miyabi-no-such-command-xyz',
        '{issue}',
      );
      expect(run.code).toBe(2);
      expect(run.stderr.trim().split('\n')).toEqual([
        expect.stringContaining('[COMMAND_NOT_FOUND] command not found: miyabi-no-such-command-xyz'),
      ]);
    }
    expect(repoState(repo.path)).toEqual(before);
    expect(existsSync(`${repo.path}/.worktrees`)).toBe(false);
  });
});
