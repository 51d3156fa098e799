import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { type Overlap, type PoolExecutionResult, type WorktreeInfo, WorktreeManager } from '../src/index.js';
import { json, runCli } from './helpers/cli-process.js';
import { createTempRepo, git } from './helpers/temp-repo.js';

/** Writes `files` in the worktree at `cwd` and commits them (as an agent would). */
function commitIn(cwd: string, files: Record<string, string>): void {
  for (const [name, content] of Object.entries(files)) {
    execFileSync('sh', ['-c', 'printf %s "$2" > "$1"', 'sh', name, content], { cwd });
  }
  git(cwd, 'add', '-A');
  git(cwd, 'commit', '-q', '-m', 'task work');
}

describe('every task starts from the base branch as it is when the task starts', () => {
  it('starts a reused slot and a fresh worktree created after a merge from the same commit, and records it', async () => {
    const repo = createTempRepo({ files: { 'a.txt': 'a\n' } });
    const manager = await WorktreeManager.open({ repoPath: repo.path, maxConcurrency: 4 });
    const [slot] = await manager.warmWorktrees(1);
    // After the manager opened (and the slot was warmed), a task's work is merged: main moves.
    const first = await manager.createWorktree(1);
    commitIn(first.path, { 'one.txt': '1\n' });
    await manager.mergeWorktree(first.id);
    const tip = repo.git('rev-parse', 'main');
    expect(tip).not.toBe(slot?.baseCommit);

    const reused = await manager.createWorktree(2, { reuse: true });
    const fresh = await manager.createWorktree(3);
    // The reused one really is the warmed slot, not a fresh worktree.
    expect(reused.path).toBe(slot?.path);
    for (const worktree of [reused, fresh]) {
      expect(git(worktree.path, 'rev-parse', 'HEAD')).toBe(tip);
      expect(worktree.baseCommit).toBe(tip);
      expect((await manager.getWorktree(worktree.id)).baseCommit).toBe(tip);
    }
  });
});

describe('changes are measured from the commit each task started at', () => {
  it('finds no overlap among four tasks on different files run with --concurrency 2 --merge --keep', async () => {
    const repo = createTempRepo({ files: { 'README.md': '# r\n' } });
    const initial = repo.git('rev-parse', 'HEAD');
    const run = await runCli(
      [
        'run',
        '--issues',
        '1,2,3,4',
        '--concurrency',
        '2',
        '--merge',
        '--keep',
        '--json',
        '--',
        'sh',
        '-c',
        'echo "$MIYABI_ISSUE_NUMBER" > "file-$MIYABI_ISSUE_NUMBER.txt" && git add -A && git commit -qm work',
      ],
      { cwd: repo.path },
    );
    expect(run.code, run.stderr).toBe(0);
    const batch = json<PoolExecutionResult>(run);
    expect(batch.overlaps).toEqual([]);
    // The later tasks started after earlier merges moved main: each records the commit it started at.
    const later = batch.results.filter((result) => result.baseCommit !== initial);
    expect(later.length).toBeGreaterThan(0);
    const list = json<WorktreeInfo[]>(await runCli(['list', '--json'], { cwd: repo.path }));
    for (const result of batch.results) {
      const record = list.find((worktree) => worktree.id === result.worktreeId);
      expect(record?.baseCommit).toBe(result.baseCommit);
      // Its change since that commit is its own file, nothing an earlier merge brought.
      const changed = repo.git('diff', '--name-only', `${result.baseCommit}...${result.branchName}`);
      expect(changed).toBe(`file-${result.issueNumber}.txt`);
    }
    const conflicts = await runCli(['conflicts', '--json'], { cwd: repo.path });
    expect(conflicts.code, conflicts.stderr).toBe(0);
    expect(json<Overlap[]>(conflicts)).toEqual([]);
  });
});
