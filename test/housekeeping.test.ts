import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ArchiveEntry, type CleanupReport, MiyabiError, WorktreeManager } from '../src/index.js';
import { json, runCli } from './helpers/cli-process.js';
import { createTempRepo, git } from './helpers/temp-repo.js';

function commitIn(path: string, file: string, content: string): string {
  writeFileSync(join(path, file), content);
  git(path, 'add', file);
  git(path, 'commit', '-q', '-m', `add ${file}`);
  return git(path, 'rev-parse', 'HEAD');
}

function branchExists(repoPath: string, branch: string): boolean {
  return git(repoPath, 'for-each-ref', `refs/heads/${branch}`) !== '';
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  return promise.then(
    () => undefined,
    (error: unknown) => (error instanceof MiyabiError ? error.code : String(error)),
  );
}

describe('cleanup --merged / --older-than / --keep-branch', () => {
  it('cleanup --merged removes merged worktrees, leaves an unmerged one alone, and deletes only branches it created', async () => {
    const repo = createTempRepo();
    // A branch the user had before (no commits of its own): merged, but never ours to delete.
    repo.git('branch', 'users-own');
    const manager = await WorktreeManager.open({ repoPath: repo.path, maxConcurrency: 4 });
    const empty = await manager.createWorktree(1);
    const unmerged = await manager.createWorktree(2);
    const merged = await manager.createWorktree(3);
    const reused = await manager.createWorktree(4, { branchName: 'users-own' });
    // As a finished run leaves them (an active worktree of a live process is never cleaned up).
    for (const w of [empty, unmerged, merged, reused]) await manager.updateStatus(w.id, 'completed');
    commitIn(unmerged.path, 'two.txt', 'not merged yet\n');
    commitIn(merged.path, 'three.txt', 'merged\n');
    await manager.mergeWorktree(merged.id);
    // Uncommitted work in a merged worktree is archived, as always.
    writeFileSync(join(empty.path, 'notes.txt'), 'draft\n');

    const result = await runCli(['cleanup', '--merged', '--json'], { cwd: repo.path });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = json<CleanupReport>(result);
    expect(report.removed.map((r) => r.id).sort()).toEqual([empty.id, merged.id, reused.id].sort());
    expect(report.skipped).toEqual([
      expect.objectContaining({
        id: unmerged.id,
        reason: expect.stringMatching(/^not merged: feature\/issue-2/),
      }),
    ]);
    expect(existsSync(unmerged.path)).toBe(true);
    expect(branchExists(repo.path, 'feature/issue-2')).toBe(true);
    // Fully merged branches this tool created are deleted; the user's own is kept.
    expect(branchExists(repo.path, 'feature/issue-1')).toBe(false);
    expect(branchExists(repo.path, 'feature/issue-3')).toBe(false);
    expect(branchExists(repo.path, 'users-own')).toBe(true);
    expect(report.removed.find((r) => r.id === reused.id)?.branchKeptReason).toMatch(/existed before/);
    expect(report.removed.find((r) => r.id === empty.id)?.archived?.uncommittedPaths).toEqual(['notes.txt']);
    expect((await manager.listWorktrees()).map((w) => w.id)).toEqual([unmerged.id]);
  });

  it('cleanup --keep-branch keeps the fully merged branches it would delete', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    await manager.updateStatus((await manager.createWorktree(5)).id, 'completed');
    const result = await runCli(['cleanup', '--merged', '--keep-branch'], { cwd: repo.path });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/branch feature\/issue-5 kept/);
    expect(branchExists(repo.path, 'feature/issue-5')).toBe(true);
  });

  it('olderThan takes only worktrees created that long ago', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const w = await manager.createWorktree(6);
    const young = await manager.cleanupAll({ olderThan: '7d' });
    expect(young.removed).toEqual([]);
    expect(young.skipped).toEqual([
      expect.objectContaining({ id: w.id, reason: expect.stringMatching(/^younger than 7d/) }),
    ]);
    expect(existsSync(w.path)).toBe(true);
    // One millisecond: the worktree is older than that by now.
    await new Promise((resolve) => setImmediate(resolve));
    const old = await manager.cleanupAll({ olderThan: 1 });
    expect(old.removed.map((r) => r.id)).toEqual([w.id]);
  });

  it('a bad --older-than exits 2 and touches nothing', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const w = await manager.createWorktree(7);
    const bad = ['abc', '30m1h'];
    const results = await Promise.all(
      bad.map((text) => runCli(['cleanup', '--older-than', text], { cwd: repo.path })),
    );
    for (const [index, result] of results.entries()) {
      expect(result.code, bad[index]).toBe(2);
      expect(result.stderr).toMatch(/--older-than: ".*" is not a duration/);
      expect(result.stdout).toBe('');
    }
    expect(existsSync(w.path)).toBe(true);
    expect(await codeOf(manager.cleanupAll({ olderThan: 'soon' }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(manager.cleanupAll({ olderThan: -5 }))).toBe('INVALID_ARGUMENT');
    expect((await manager.listWorktrees()).map((x) => x.id)).toEqual([w.id]);
    // Longer than the 7 days a timeout may be: an age of a month is fine.
    expect((await manager.cleanupAll({ olderThan: '30d', dryRun: true })).skipped).toHaveLength(1);
  });
});

describe('archives', () => {
  it('archives drop refuses an archive holding unmerged work without --force, and drops it with --force', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const w = await manager.createWorktree(8);
    writeFileSync(join(w.path, 'only-here.txt'), 'precious\n');
    await manager.removeWorktree(w.id);
    const ref = `refs/miyabi/archive/${w.id}`;

    expect(await manager.listArchives()).toEqual([
      expect.objectContaining({ id: w.id, unmerged: true, uncommittedPaths: ['only-here.txt'] }),
    ]);
    const listed = await runCli(['archives'], { cwd: repo.path });
    expect(listed.stdout).toMatch(new RegExp(`${w.id}\\s.*only here`));
    const refused = await runCli(['archives', 'drop', w.id], { cwd: repo.path });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/UNMERGED_WORK/);
    expect(refused.stderr).toMatch(/--force/);
    expect(git(repo.path, 'for-each-ref', ref)).not.toBe('');
    expect(await manager.pruneArchives({ olderThan: 1 })).toMatchObject({
      dropped: [],
      kept: [{ id: w.id, reason: expect.stringMatching(/force drops it/) }],
    });
    expect(git(repo.path, 'for-each-ref', ref)).not.toBe('');

    const forced = await runCli(['archives', 'drop', w.id, '--force', '--json'], { cwd: repo.path });
    expect(forced.code).toBe(0);
    expect(json(forced)).toMatchObject({ id: w.id, ref });
    expect(git(repo.path, 'for-each-ref', ref)).toBe('');
  });

  it('an archive restored and merged no longer counts as unmerged, and prune --merged drops it', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const w = await manager.createWorktree(9);
    commitIn(w.path, 'committed.txt', 'one\n');
    writeFileSync(join(w.path, 'uncommitted.txt'), 'two\n');
    await manager.removeWorktree(w.id);
    expect(await manager.listArchives()).toEqual([
      // Its commit is on the branch, which removal kept: only the uncommitted file is the archive's own.
      expect.objectContaining({ id: w.id, unmergedCommits: 0, unmerged: true }),
    ]);
    // Brought back, committed, merged and removed again: the archive holds nothing of its own.
    const back = await manager.restoreWorktree(w.id);
    git(back.path, 'add', '-A');
    git(back.path, 'commit', '-q', '-m', 'finish');
    await manager.mergeWorktree(back.id);
    await manager.removeWorktree(back.id);
    const [entry] = await manager.listArchives();
    expect(entry).toMatchObject({ id: w.id, unmergedCommits: 0, unmerged: false });
    const status = json<{ archives: ArchiveEntry[] }>(await runCli(['status', '--json'], { cwd: repo.path }));
    expect(status.archives).toEqual([
      expect.objectContaining({ id: w.id, unmerged: false, unmergedCommits: 0 }),
    ]);

    const dry = await manager.pruneArchives({ merged: true, dryRun: true });
    expect(dry.dropped.map((a) => a.id)).toEqual([w.id]);
    expect(await manager.listArchives()).toHaveLength(1);
    const result = await runCli(['archives', 'prune', '--merged'], { cwd: repo.path });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`dropped ${w.id}`));
    expect(await manager.listArchives()).toEqual([]);
  });

  it('bad archives usage exits 2 before anything is read', async () => {
    const repo = createTempRepo();
    const usages = [
      ['archives', 'shred'],
      ['archives', 'prune'],
      ['archives', 'list', '--merged'],
    ];
    const results = await Promise.all(usages.map((args) => runCli(args, { cwd: repo.path })));
    for (const [index, result] of results.entries()) expect(result.code, usages[index]?.join(' ')).toBe(2);
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    expect(await codeOf(manager.pruneArchives({}))).toBe('INVALID_ARGUMENT');
  });
});
