import { existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MiyabiError, WorktreeManager } from '../src/index.js';
import { gitProcessesOf } from './helpers/git-trace.js';
import { repoState } from './helpers/repo-state.js';
import { createTempRepo, git, tempDir } from './helpers/temp-repo.js';

async function failure(promise: Promise<unknown>): Promise<MiyabiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MiyabiError);
  return error as MiyabiError;
}

function commitIn(path: string, files: Record<string, string>, message = 'work'): string {
  for (const [name, content] of Object.entries(files)) writeFileSync(join(path, name), content);
  git(path, 'add', '-A');
  git(path, 'commit', '-q', '-m', message);
  return git(path, 'rev-parse', 'HEAD');
}

describe('mergeWorktree', () => {
  it("merges into the user's checked-out main without switching it, keeping unrelated local edits", async () => {
    const repo = createTempRepo({ files: { 'a.txt': 'a\n', 'notes.txt': 'mine\n' } });
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const w = await manager.createWorktree(1);
    const feature = commitIn(w.path, { 'feature.txt': 'feature\n' });
    repo.commit({ 'main-only.txt': 'main moved on\n' }, 'main work');
    writeFileSync(join(repo.path, 'notes.txt'), 'mine, edited but not committed\n');

    const result = await manager.mergeWorktree(w.id);
    expect(result).toMatchObject({
      status: 'merged',
      into: 'main',
      strategy: 'merge',
      updatedCheckout: repo.path,
    });
    expect(repo.git('symbolic-ref', 'HEAD')).toBe('refs/heads/main');
    expect(repo.git('rev-parse', 'main')).toBe(result.commit);
    expect(repo.git('rev-list', '--parents', '-1', 'main').split(' ')).toContain(feature);
    // The checkout came along: the merged file is there and git sees only the user's own edit.
    expect(readFileSync(join(repo.path, 'feature.txt'), 'utf8')).toBe('feature\n');
    expect(repo.git('status', '--porcelain')).toBe('M notes.txt');
    expect(readFileSync(join(repo.path, 'notes.txt'), 'utf8')).toBe('mine, edited but not committed\n');
    expect(existsSync(join(repo.path, '.git', 'MERGE_HEAD'))).toBe(false);
  });

  it('fast-forwards when the target has not moved, squashes into one parent, and honours ff-only', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const a = await manager.createWorktree(1);
    const tip = commitIn(a.path, { 'a.txt': 'a\n' });
    expect(await manager.mergeWorktree(a.id)).toMatchObject({
      status: 'fast-forwarded',
      commit: tip,
      changedFiles: 1,
    });

    const b = await manager.createWorktree(2);
    commitIn(b.path, { 'b1.txt': '1\n' });
    commitIn(b.path, { 'b2.txt': '2\n' });
    repo.commit({ 'moved.txt': 'x\n' });
    expect((await failure(manager.mergeWorktree(b.id, { strategy: 'ff-only' }))).code).toBe(
      'INVALID_ARGUMENT',
    );
    const squashed = await manager.mergeWorktree(b.id, { strategy: 'squash', message: 'Squash #2' });
    expect(squashed.status).toBe('merged');
    expect(repo.git('rev-list', '--parents', '-1', 'main').split(' ')).toHaveLength(2);
    expect(repo.git('log', '-1', '--format=%s', 'main')).toBe('Squash #2');
    expect(squashed.changedFiles).toBe(2);
  });

  it('reports nothing to merge as up-to-date, not as an error', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const w = await manager.createWorktree(1);
    const before = repo.git('rev-parse', 'main');
    expect(await manager.mergeWorktree(w.id)).toMatchObject({
      status: 'up-to-date',
      commit: before,
      changedFiles: 0,
    });
    expect(repo.git('rev-parse', 'main')).toBe(before);
  });

  it('refuses a conflicting merge with the conflicting paths and changes nothing anywhere', async () => {
    const repo = createTempRepo({ files: { 'shared.txt': 'one\ntwo\nthree\n', 'gone.txt': 'x\n' } });
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const w = await manager.createWorktree(1);
    commitIn(w.path, { 'shared.txt': 'one\nTWO from the agent\nthree\n' });
    git(w.path, 'rm', '-q', 'gone.txt');
    git(w.path, 'commit', '-q', '-m', 'delete gone');
    repo.commit({ 'shared.txt': 'one\nTWO from main\nthree\n', 'gone.txt': 'changed on main\n' });
    const before = repoState(repo.path);
    const worktreeStatus = git(w.path, 'status', '--porcelain');
    const error = await failure(manager.mergeWorktree(w.id));
    expect(error.code).toBe('MERGE_CONFLICT');
    expect(error.conflicts).toEqual([
      expect.objectContaining({ path: 'gone.txt', type: 'modify/delete' }),
      expect.objectContaining({ path: 'shared.txt', type: 'contents' }),
    ]);
    expect(repoState(repo.path)).toEqual(before);
    expect(git(w.path, 'status', '--porcelain')).toBe(worktreeStatus);
    expect(existsSync(join(repo.path, '.git', 'MERGE_HEAD'))).toBe(false);
  });

  it('refuses when the target checkout has local changes in files the merge touches, keeping them byte for byte', async () => {
    const repo = createTempRepo({ files: { 'config.txt': 'v1\n' } });
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const w = await manager.createWorktree(1);
    commitIn(w.path, { 'config.txt': 'v2 from the agent\n' });
    repo.commit({ 'other.txt': 'main moved\n' });
    const userEdit = "v1 plus the user's unsaved idea\r\n\u00e9\n";
    writeFileSync(join(repo.path, 'config.txt'), userEdit);
    const before = repoState(repo.path);
    const error = await failure(manager.mergeWorktree(w.id));
    expect(error.code).toBe('CHECKOUT_DIRTY');
    expect(error.details?.checkout).toBe(repo.path);
    expect(readFileSync(join(repo.path, 'config.txt'), 'utf8')).toBe(userEdit);
    expect(repoState(repo.path)).toEqual(before);
  });

  it('merges into a checkout whose files were only touched (same content, new timestamps)', async () => {
    const repo = createTempRepo({ files: { 'config.txt': 'v1\n' } });
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const w = await manager.createWorktree(2);
    const tip = commitIn(w.path, { 'config.txt': 'v2 from the agent\n' });
    // A copy, a checkout or an editor's save rewrites the file unchanged: git's stat cache is stale.
    const later = new Date(Date.now() + 5_000);
    utimesSync(join(repo.path, 'config.txt'), later, later);
    const result = await manager.mergeWorktree(w.id);
    expect(result.commit).toBe(tip);
    expect(readFileSync(join(repo.path, 'config.txt'), 'utf8')).toBe('v2 from the agent\n');
    expect(repo.git('status', '--porcelain')).toBe('');
    expect(repo.git('rev-parse', 'main')).toBe(tip);
  });

  it('refuses while the target checkout is in the middle of a merge', async () => {
    const repo = createTempRepo({ files: { 'f.txt': 'base\n' } });
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const w = await manager.createWorktree(1);
    commitIn(w.path, { 'new.txt': 'new\n' });
    repo.git('checkout', '-q', '-b', 'side');
    repo.commit({ 'f.txt': 'side\n' });
    repo.git('checkout', '-q', 'main');
    repo.commit({ 'f.txt': 'main\n' });
    expect(() => repo.git('merge', 'side')).toThrow();
    const before = repoState(repo.path);
    expect((await failure(manager.mergeWorktree(w.id))).code).toBe('CHECKOUT_BUSY');
    expect(repoState(repo.path)).toEqual(before);
  });

  it('lands five concurrent merges into one target, losing none', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path, maxConcurrency: 5 });
    const worktrees = await Promise.all([1, 2, 3, 4, 5].map((n) => manager.createWorktree(n)));
    const tips = worktrees.map((w, i) => commitIn(w.path, { [`file-${i}.txt`]: `${i}\n` }));
    const results = await Promise.all(worktrees.map((w) => manager.mergeWorktree(w.id)));
    expect(results.every((r) => r.status !== 'up-to-date')).toBe(true);
    for (const tip of tips) expect(() => repo.git('merge-base', '--is-ancestor', tip, 'main')).not.toThrow();
    for (let i = 0; i < 5; i++) expect(existsSync(join(repo.path, `file-${i}.txt`))).toBe(true);
    expect(repo.git('status', '--porcelain')).toBe('');
  });

  it('rejects a missing target, a malformed one and merging into its own branch', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const w = await manager.createWorktree(1);
    commitIn(w.path, { 'x.txt': 'x\n' });
    const before = repoState(repo.path);
    expect((await failure(manager.mergeWorktree(w.id, { into: 'nope' }))).code).toBe('INVALID_ARGUMENT');
    expect((await failure(manager.mergeWorktree(w.id, { into: '--force' }))).code).toBe('INVALID_ARGUMENT');
    expect((await failure(manager.mergeWorktree(w.id, { into: 'feature/issue-1' }))).code).toBe(
      'INVALID_ARGUMENT',
    );
    expect((await failure(manager.mergeWorktree('issue-9-00000000'))).code).toBe('NOT_FOUND');
    expect(repoState(repo.path)).toEqual(before);
  });
});

describe('mergeWorktree costs', () => {
  it('merges into a branch nobody has checked out with the five git processes it needs', async () => {
    const repo = createTempRepo({ files: { 'a.txt': 'a\n' } });
    repo.git('branch', 'release');
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const w = await manager.createWorktree(1, { baseBranch: 'release' });
    commitIn(w.path, { 'feature.txt': 'feature\n' });
    repo.git('update-ref', 'refs/heads/release', repo.commit({ 'other.txt': 'other\n' }, 'moved on'));
    repo.git('reset', '-q', '--hard', 'HEAD~1');
    const started = await gitProcessesOf(() => manager.mergeWorktree(w.id, { into: 'release' }), 1);
    // Merge base, merged tree, commit, compare-and-swap of the ref, changed files (the tips are
    // read from the loose refs).
    expect(started.sort()).toEqual(['commit-tree', 'diff-tree', 'merge-base', 'merge-tree', 'update-ref']);
    expect(repo.git('log', '-1', '--format=%s', 'release')).toBe(
      `Merge branch '${w.branchName}' into release`,
    );
  });

  it('fast-forwards a branch checked out in a linked worktree, found without git worktree list', async () => {
    const repo = createTempRepo({ files: { 'a.txt': 'a\n' } });
    const linked = join(tempDir(), 'release-checkout');
    repo.git('worktree', 'add', '-q', '-b', 'release', linked);
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const w = await manager.createWorktree(2, { baseBranch: 'release' });
    const tip = commitIn(w.path, { 'feature.txt': 'feature\n' });
    const result = await manager.mergeWorktree(w.id, { into: 'release' });
    expect(result).toMatchObject({ status: 'fast-forwarded', updatedCheckout: linked, commit: tip });
    expect(readFileSync(join(linked, 'feature.txt'), 'utf8')).toBe('feature\n');
    expect(git(linked, 'status', '--porcelain')).toBe('');
  });

  it('commits a merge as miyabi-worktree when git has no identity at all', async () => {
    const repo = createTempRepo({ files: { 'a.txt': 'a\n' } });
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const w = await manager.createWorktree(3);
    commitIn(w.path, { 'feature.txt': 'feature\n' });
    repo.commit({ 'main.txt': 'main\n' }, 'main moved on');
    const saved = { ...process.env };
    for (const key of Object.keys(process.env)) {
      if (/^GIT_(AUTHOR|COMMITTER)_|^EMAIL$/.test(key)) delete process.env[key];
    }
    process.env.GIT_CONFIG_GLOBAL = '/dev/null';
    process.env.GIT_CONFIG_NOSYSTEM = '1';
    try {
      expect((await manager.mergeWorktree(w.id)).status).toBe('merged');
    } finally {
      process.env = saved;
    }
    expect(repo.git('log', '-1', '--format=%an <%ae>', 'main')).toBe(
      'miyabi-worktree <miyabi-worktree@localhost>',
    );
  });
});

describe('pushWorktree', () => {
  it('pushes the branch to a real bare origin and records the upstream', async () => {
    const repo = createTempRepo({ withRemote: true });
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const w = await manager.createWorktree(1);
    const tip = commitIn(w.path, { 'x.txt': 'x\n' });
    const result = await manager.pushWorktree(w.id);
    expect(result).toMatchObject({
      remote: 'origin',
      commit: tip,
      upstream: 'refs/remotes/origin/feature/issue-1',
    });
    expect(git(repo.remote ?? '', 'rev-parse', 'refs/heads/feature/issue-1')).toBe(tip);
    expect(git(w.path, 'rev-parse', '--abbrev-ref', '@{upstream}')).toBe('origin/feature/issue-1');
  });

  it('reports a missing remote, a rejected push and an unreachable remote with codes', async () => {
    const noRemote = createTempRepo();
    const m1 = await WorktreeManager.open({ repoPath: noRemote.path });
    const w1 = await m1.createWorktree(1);
    expect((await failure(m1.pushWorktree(w1.id))).code).toBe('NO_REMOTE');

    const repo = createTempRepo({ withRemote: true });
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const w = await manager.createWorktree(2);
    commitIn(w.path, { 'mine.txt': 'mine\n' });
    // Someone else pushed a different commit to the same branch.
    const other = join(tempDir(), 'other');
    git(repo.path, 'clone', '-q', repo.remote ?? '', other);
    git(other, 'checkout', '-q', '-b', 'feature/issue-2');
    commitIn(other, { 'theirs.txt': 'theirs\n' });
    git(other, 'push', '-q', 'origin', 'feature/issue-2');
    const rejected = await failure(manager.pushWorktree(w.id));
    expect(rejected.code).toBe('PUSH_REJECTED');
    expect(rejected.hint).toMatch(/fetch first|non-fast-forward/);

    repo.git('remote', 'add', 'nowhere', join(tempDir(), 'does-not-exist.git'));
    expect((await failure(manager.pushWorktree(w.id, { remote: 'nowhere' }))).code).toBe('GIT_FAILED');
  });
});
