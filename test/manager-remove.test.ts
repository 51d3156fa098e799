import { spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CleanupReport } from '../src/core/types.js';
import { snapshotWorktree, writeArchive } from '../src/git/work-snapshot.js';
import { MiyabiError, WorktreeManager } from '../src/index.js';
import { silentLogger } from '../src/log.js';
import { Registry } from '../src/state/registry.js';
import { RepoLock } from '../src/state/repo-lock.js';
import { eventually } from './helpers/cli-process.js';
import { repoState } from './helpers/repo-state.js';
import { createTempRepo, git, tempDir } from './helpers/temp-repo.js';

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  return promise.then(
    () => undefined,
    (error: unknown) => (error instanceof MiyabiError ? error.code : String(error)),
  );
}

function commitIn(path: string, file: string, content: string): string {
  writeFileSync(join(path, file), content);
  git(path, 'add', file);
  git(path, 'commit', '-q', '-m', `add ${file}`);
  return git(path, 'rev-parse', 'HEAD');
}

describe('removeWorktree', () => {
  it('removes a clean worktree and its branch, archiving nothing', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const w = await manager.createWorktree(1);
    const result = await manager.removeWorktree(w.id);
    expect(result).toMatchObject({
      id: w.id,
      worktreeRemoved: true,
      branchDeleted: true,
      archived: null,
      forced: false,
    });
    expect(existsSync(w.path)).toBe(false);
    expect(repo.git('branch', '--list', 'feature/issue-1')).toBe('');
    expect(repo.git('for-each-ref', 'refs/miyabi/')).toBe('');
    expect(await manager.listWorktrees()).toEqual([]);
    expect(await codeOf(manager.removeWorktree(w.id))).toBe('NOT_FOUND');
  });

  it('archives uncommitted tracked and untracked work (not ignored files) before removing', async () => {
    const repo = createTempRepo({ files: { 'a.txt': 'original\n', '.gitignore': '*.log\n' } });
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const w = await manager.createWorktree(2);
    writeFileSync(join(w.path, 'a.txt'), 'edited\n');
    mkdirSync(join(w.path, 'new-dir'));
    writeFileSync(join(w.path, 'new-dir', 'untracked.txt'), 'brand new\n');
    writeFileSync(join(w.path, 'staged.txt'), 'staged\n');
    git(w.path, 'add', 'staged.txt');
    writeFileSync(join(w.path, 'debug.log'), 'ignored noise\n');
    const statusBefore = git(w.path, 'status', '--porcelain');
    // A dry run looks but touches nothing, not even the worktree's index.
    const plan = await manager.cleanupAll({ dryRun: true });
    expect(plan.removed[0]?.archived?.uncommittedPaths).toEqual([
      'a.txt',
      'new-dir/untracked.txt',
      'staged.txt',
    ]);
    expect(git(w.path, 'status', '--porcelain')).toBe(statusBefore);
    expect(repo.git('for-each-ref', 'refs/miyabi/')).toBe('');

    const result = await manager.removeWorktree(w.id);
    expect(result.archived).toMatchObject({ ref: `refs/miyabi/archive/${w.id}`, unmergedCommits: 0 });
    expect(result.archived?.uncommittedPaths).toHaveLength(3);
    expect(result.branchDeleted).toBe(true);
    const ref = result.archived?.ref ?? '';
    expect(repo.git('show', `${ref}:a.txt`)).toBe('edited');
    expect(repo.git('show', `${ref}:new-dir/untracked.txt`)).toBe('brand new');
    expect(repo.git('show', `${ref}:staged.txt`)).toBe('staged');
    expect(() => repo.git('show', `${ref}:debug.log`)).toThrow();
  });

  it('keeps a branch with unmerged commits (no archive: the branch holds them), deletes one whose commits are pushed', async () => {
    const repo = createTempRepo({ withRemote: true });
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const local = await manager.createWorktree(3);
    const tip = commitIn(local.path, 'work.txt', 'work\n');
    const pushed = await manager.createWorktree(4);
    commitIn(pushed.path, 'done.txt', 'done\n');
    git(pushed.path, 'push', '-q', 'origin', 'feature/issue-4');

    const kept = await manager.removeWorktree(local.id);
    expect(kept.branchDeleted).toBe(false);
    expect(kept.branchKeptReason).toContain('1 commit(s)');
    expect(kept.archived).toBeNull();
    expect(repo.git('rev-parse', 'feature/issue-3')).toBe(tip);

    const deleted = await manager.removeWorktree(pushed.id);
    expect(deleted).toMatchObject({ branchDeleted: true, archived: null });
  });

  it('honours deleteBranch: false and force (which archives no uncommitted files)', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const a = await manager.createWorktree(5);
    expect(await manager.removeWorktree(a.id, { deleteBranch: false })).toMatchObject({
      branchDeleted: false,
      branchKeptReason: 'deleteBranch is false',
    });
    repo.git('branch', '-D', 'feature/issue-5');
    const b = await manager.createWorktree(6);
    writeFileSync(join(b.path, 'dirty.txt'), 'dirty\n');
    const forced = await manager.removeWorktree(b.id, { force: true });
    expect(forced).toMatchObject({
      forced: true,
      archived: null,
      branchDeleted: true,
      worktreeRemoved: true,
    });
    expect(repo.git('for-each-ref', 'refs/miyabi/')).toBe('');
  });

  it('force never deletes the only ref to a commit, nor a branch the worktree reused', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const b = await manager.createWorktree(6);
    const tip = commitIn(b.path, 'x.txt', 'x\n');
    writeFileSync(join(b.path, 'dirty.txt'), 'dirty\n');
    const forced = await manager.removeWorktree(b.id, { force: true });
    expect(forced).toMatchObject({ forced: true, branchDeleted: false, worktreeRemoved: true });
    expect(forced.branchKeptReason).toContain('1 commit(s)');
    expect(repo.git('rev-parse', 'feature/issue-6')).toBe(tip);

    // Commits only a detached HEAD reaches: archived (commits only, not the uncommitted file).
    repo.git('branch', '-D', 'feature/issue-6');
    const d = await manager.createWorktree(8);
    git(d.path, 'checkout', '-q', '--detach');
    const detached = commitIn(d.path, 'y.txt', 'y\n');
    writeFileSync(join(d.path, 'dirty.txt'), 'dirty\n');
    const gone = await manager.removeWorktree(d.id, { force: true });
    expect(gone.archived).toMatchObject({ unmergedCommits: 1, uncommittedPaths: [] });
    expect(repo.git('rev-parse', `${gone.archived?.ref}^`)).toBe(detached);
    expect(() => repo.git('show', `${gone.archived?.ref}:dirty.txt`)).toThrow();

    // A branch the user had before (here at the base commit, so it holds nothing of its own).
    repo.git('branch', 'userwork');
    const u = await manager.createWorktree(9, { branchName: 'userwork' });
    expect(u.reusedBranch).toBe(true);
    const reused = await manager.removeWorktree(u.id, { force: true });
    expect(reused).toMatchObject({
      branchDeleted: false,
      branchKeptReason: 'the branch existed before this worktree',
    });
    expect(repo.git('branch', '--list', 'userwork')).toContain('userwork');
  });

  it('refuses a worktree locked with git worktree lock unless forced', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const w = await manager.createWorktree(7);
    // Ours carry an ownership lock, so other tools' `git worktree prune` leaves them alone.
    expect(repo.git('worktree', 'list', '--porcelain')).toContain(
      `locked miyabi-worktree pid=${process.pid} `,
    );
    expect(() => repo.git('worktree', 'prune')).not.toThrow();
    expect(existsSync(w.path)).toBe(true);
    // The user's own lock replaces ours and is respected.
    repo.git('worktree', 'unlock', w.path);
    repo.git('worktree', 'lock', '--reason', 'on a USB disk', w.path);
    const before = repoState(repo.path);
    expect(await codeOf(manager.removeWorktree(w.id))).toBe('LOCKED');
    expect(repoState(repo.path)).toEqual(before);
    expect(await manager.removeWorktree(w.id, { force: true })).toMatchObject({ worktreeRemoved: true });
    expect(repo.git('worktree', 'list', '--porcelain').match(/^worktree /gm)).toHaveLength(1);
  });

  it('removes a worktree whose folder vanished, and one a process is standing in', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const gone = await manager.createWorktree(8);
    const busy = await manager.createWorktree(9);
    rmSync(gone.path, { recursive: true, force: true });
    expect(await manager.removeWorktree(gone.id)).toMatchObject({
      worktreeRemoved: true,
      branchDeleted: true,
    });

    const child = spawn('sleep', ['30'], { cwd: busy.path, stdio: 'ignore' });
    try {
      expect(await manager.removeWorktree(busy.id)).toMatchObject({ worktreeRemoved: true });
      expect(existsSync(busy.path)).toBe(false);
    } finally {
      child.kill('SIGKILL');
    }
    expect(repo.git('worktree', 'list', '--porcelain').match(/^worktree /gm)).toHaveLength(1);
  });

  it('archives the work of a large worktree before deleting its files outside the lock', async () => {
    // Over a thousand tracked files takes the path that deletes them before `worktree remove`.
    const files: Record<string, string> = { '.gitignore': '*.log\n' };
    for (let i = 0; i < 1200; i++) files[`src/d${i % 40}/f${i}.txt`] = `file ${i}\n`;
    const repo = createTempRepo({ files });
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const w = await manager.createWorktree(12);
    writeFileSync(join(w.path, 'src/d0/f0.txt'), 'edited\n');
    unlinkSync(join(w.path, 'src/d1/f1.txt'));
    writeFileSync(join(w.path, 'src/d2/new.txt'), 'untracked\n');
    writeFileSync(join(w.path, 'build.log'), 'ignored\n');
    const statusBefore = git(w.path, 'status', '--porcelain', '--untracked-files=all');
    const child = spawn('sleep', ['30'], { cwd: join(w.path, 'src/d3'), stdio: 'ignore' });
    try {
      const removed = await manager.removeWorktree(w.id);
      expect(removed).toMatchObject({ worktreeRemoved: true, branchDeleted: true });
      expect(removed.archived?.uncommittedPaths).toEqual([
        'src/d0/f0.txt',
        'src/d1/f1.txt',
        'src/d2/new.txt',
      ]);
    } finally {
      child.kill('SIGKILL');
    }
    expect(existsSync(w.path)).toBe(false);
    expect(repo.git('worktree', 'list', '--porcelain').match(/^worktree /gm)).toHaveLength(1);
    const restored = await manager.restoreWorktree(w.id);
    expect(readFileSync(join(restored.path, 'src/d0/f0.txt'), 'utf8')).toBe('edited\n');
    expect(readFileSync(join(restored.path, 'src/d5/f5.txt'), 'utf8')).toBe('file 5\n');
    expect(git(restored.path, 'status', '--porcelain', '--untracked-files=all')).toBe(statusBefore);
  });
});

describe('removeWorktree by two removers', () => {
  /** Rewrites one registry record (as another process would), under the repository lock. */
  async function editRecord(repoPath: string, id: string, change: (r: Record<string, unknown>) => void) {
    const stateDir = join(repoPath, '.git', 'miyabi');
    await new RepoLock(stateDir).run(async () => {
      const registry = new Registry(stateDir, silentLogger);
      await registry.mutate((records) =>
        records.map((r) => {
          if (r.id !== id) return r;
          const copy = { ...r } as Record<string, unknown>;
          change(copy);
          return copy as unknown as typeof r;
        }),
      );
    });
  }

  /** Leaves on a record the removal claim of a remover that died (its pid no longer runs). */
  async function claimByDeadRemover(repoPath: string, id: string, claim: Record<string, unknown>) {
    const finished = spawn('true', [], { stdio: 'ignore' });
    await new Promise((resolve) => finished.on('exit', resolve));
    await editRecord(repoPath, id, (r) => {
      r.removal = { owner: { pid: finished.pid, host: hostname() }, token: 'dead', startedAt: '', ...claim };
    });
  }

  it('leaves a worktree to a live process that is removing it, and says so', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const w = await manager.createWorktree(20);
    writeFileSync(join(w.path, 'wip.txt'), 'wip\n');
    const remover = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const claim = {
        owner: { pid: remover.pid, host: hostname() },
        token: 't',
        startedAt: '',
        archived: null,
      };
      await editRecord(repo.path, w.id, (r) => {
        r.removal = claim;
      });
      const before = repoState(repo.path);
      const error = await manager.removeWorktree(w.id).catch((e: unknown) => e as MiyabiError);
      expect(error).toMatchObject({ code: 'LOCKED' });
      expect((error as MiyabiError).message).toContain(`being removed by process ${remover.pid}`);
      const report = await manager.cleanupAll();
      expect(report.skipped).toEqual([
        { id: w.id, path: w.path, reason: expect.stringContaining('being removed by process') },
      ]);
      expect(repoState(repo.path)).toEqual(before);
      expect(readFileSync(join(w.path, 'wip.txt'), 'utf8')).toBe('wip\n');
    } finally {
      remover.kill('SIGKILL');
    }
  });

  it('takes over from a remover that died after archiving, keeping its archive, not the half-deleted files', async () => {
    const repo = createTempRepo({ files: { 'a.txt': 'a\n', 'b.txt': 'b\n' } });
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const w = await manager.createWorktree(21);
    writeFileSync(join(w.path, 'a.txt'), 'a, edited\n');
    writeFileSync(join(w.path, 'new.txt'), 'new\n');
    // What the first remover did before it died: archive, claim, then delete the tracked files.
    const snapshot = await snapshotWorktree(w.path);
    const saved = await writeArchive(repo.path, snapshot?.tree as string, {
      id: w.id,
      issueNumber: 21,
      branchName: w.branchName,
      baseBranch: w.baseBranch,
      head: snapshot?.head as string,
      uncommittedPaths: snapshot?.uncommittedPaths ?? [],
      unmergedCommits: 0,
      archivedAt: new Date().toISOString(),
    });
    const archived = { ...saved, uncommittedPaths: ['a.txt', 'new.txt'], unmergedCommits: 0 };
    await claimByDeadRemover(repo.path, w.id, { archived });
    git(w.path, 'read-tree', '-u', '--reset', '4b825dc642cb6eb9a060e54bf8d69288fbee4904');
    expect(existsSync(join(w.path, 'b.txt'))).toBe(false);

    const dry = await manager.cleanupAll({ dryRun: true });
    expect(dry.removed[0]?.archived?.commit).toBe(saved.commit);
    const result = await manager.removeWorktree(w.id);
    expect(result.archived?.commit).toBe(saved.commit);
    expect(repo.git('rev-parse', `refs/miyabi/archive/${w.id}`)).toBe(saved.commit);
    expect(existsSync(w.path)).toBe(false);
    const back = await manager.restoreWorktree(w.id);
    expect(readFileSync(join(back.path, 'a.txt'), 'utf8')).toBe('a, edited\n');
    expect(readFileSync(join(back.path, 'b.txt'), 'utf8')).toBe('b\n');
    expect(readFileSync(join(back.path, 'new.txt'), 'utf8')).toBe('new\n');
  });

  it('finishes a removal that died after git dropped the worktree, deleting what was left of its folder', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const w = await manager.createWorktree(22);
    await claimByDeadRemover(repo.path, w.id, { archived: null });
    repo.git('worktree', 'remove', '--force', '--force', w.path);
    mkdirSync(join(w.path, 'half'), { recursive: true });
    writeFileSync(join(w.path, 'half', 'left.txt'), 'left over\n');
    const report = await manager.cleanupAll();
    expect(report.reconciled.map((r) => r.id)).toEqual([w.id]);
    expect(existsSync(w.path)).toBe(false);
    expect(await manager.listWorktrees()).toEqual([]);
  });

  it('reads the files again when a quick removal died before git checked them, and archives them', async () => {
    const repo = createTempRepo({ files: { 'a.txt': 'a\n' } });
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const w = await manager.createWorktree(23);
    writeFileSync(join(w.path, 'a.txt'), 'a, edited\n');
    writeFileSync(join(w.path, 'new.txt'), 'new\n');
    // What a quick removal did before it died: claim (archiving nothing), then drop our lock.
    await claimByDeadRemover(repo.path, w.id, { archived: null, unverified: true });
    unlinkSync(join(git(w.path, 'rev-parse', '--absolute-git-dir'), 'locked'));

    const result = await manager.removeWorktree(w.id);
    expect(result.archived?.uncommittedPaths).toEqual(['a.txt', 'new.txt']);
    const back = await manager.restoreWorktree(w.id);
    expect(readFileSync(join(back.path, 'a.txt'), 'utf8')).toBe('a, edited\n');
    expect(readFileSync(join(back.path, 'new.txt'), 'utf8')).toBe('new\n');
  });

  it('gives a worktree git refused to remove its lock back, so that a prune by anyone leaves it alone', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const w = await manager.createWorktree(24);
    const lockFile = join(git(w.path, 'rev-parse', '--absolute-git-dir'), 'locked');
    const reason = readFileSync(lockFile, 'utf8');
    // Work an archive cannot hold: git refuses the quick removal, then the full one refuses too.
    git(w.path, 'init', '-q', '-b', 'main', 'scratch');
    commitIn(join(w.path, 'scratch'), 'notes.txt', 'only here\n');
    expect(await codeOf(manager.removeWorktree(w.id))).toBe('WORKTREE_DIRTY');
    expect(readFileSync(lockFile, 'utf8')).toBe(reason);
    expect((await manager.listWorktrees()).map((r) => [r.id, r.removal])).toEqual([[w.id, undefined]]);
  });
});

describe('removeWorktree with repositories inside', () => {
  it('takes a checkout killed midway for no work, and lists a path changed twice once', async () => {
    const files = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`f${i}.txt`, `${i}\n`]));
    const repo = createTempRepo({ files });
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    // What a create killed inside `reset --hard` leaves: no index yet, some files written, some not.
    const interrupt = async (issue: number) => {
      const w = await manager.createWorktree(issue);
      rmSync(join(git(w.path, 'rev-parse', '--absolute-git-dir'), 'index'));
      for (const name of ['f3.txt', 'f4.txt', 'f5.txt']) rmSync(join(w.path, name));
      // Files being written when the kill came: empty, or cut short.
      writeFileSync(join(w.path, 'f2.txt'), '');
      writeFileSync(join(w.path, 'f1.txt'), '1');
      return w;
    };
    const killed = await interrupt(1);
    // Every file a staged deletion, those written also untracked: "changes", but no work.
    expect(git(killed.path, 'status', '--porcelain')).toMatch(/^D {2}f0\.txt$/m);
    expect(git(killed.path, 'status', '--porcelain')).toMatch(/^\?\? f0\.txt$/m);
    const plan = await manager.cleanupAll({ dryRun: true });
    expect(plan.removed.map((r) => r.archived)).toEqual([null]);
    expect(await manager.removeWorktree(killed.id)).toMatchObject({
      archived: null,
      branchDeleted: true,
      worktreeRemoved: true,
    });
    expect(repo.git('for-each-ref', 'refs/miyabi/')).toBe('');

    // Work beside an interrupted checkout is still work: a new file, and one that differs from HEAD.
    const edited = await interrupt(2);
    writeFileSync(join(edited.path, 'f0.txt'), 'changed\n');
    writeFileSync(join(edited.path, 'new.txt'), 'new\n');
    const kept = await manager.removeWorktree(edited.id);
    const tracked = repo.git('ls-files').split('\n');
    expect(kept.archived?.uncommittedPaths).toEqual([...tracked, 'new.txt'].sort());
    expect(repo.git('show', `${kept.archived?.ref}:f0.txt`)).toBe('changed');
    expect(repo.git('show', `${kept.archived?.ref}:new.txt`)).toBe('new');
  });

  it('refuses to destroy work in a nested repository or a submodule, and deletes a clean clone', async () => {
    const sub = createTempRepo({ files: { 'lib.txt': 'lib\n' } });
    const repo = createTempRepo();
    git(repo.path, '-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', sub.path, 'sub');
    repo.git('commit', '-q', '-m', 'add submodule');
    const manager = await WorktreeManager.open({ repoPath: repo.path });

    // An agent's own repository inside the worktree, with a commit nowhere else.
    const nested = await manager.createWorktree(1);
    git(nested.path, 'init', '-q', '-b', 'main', 'scratch');
    commitIn(join(nested.path, 'scratch'), 'notes.txt', 'only here\n');
    const before = repoState(repo.path);
    const refused = await manager.removeWorktree(nested.id).catch((e: unknown) => e as MiyabiError);
    expect(refused).toBeInstanceOf(MiyabiError);
    expect(refused).toMatchObject({ code: 'WORKTREE_DIRTY' });
    expect((refused as MiyabiError).message).toContain('scratch/: 1 commit(s)');
    expect(repoState(repo.path)).toEqual(before);
    expect(readFileSync(join(nested.path, 'scratch', 'notes.txt'), 'utf8')).toBe('only here\n');
    const report = await manager.cleanupAll();
    expect(report.skipped).toEqual([]);
    expect(report.failed).toMatchObject([{ id: nested.id, code: 'WORKTREE_DIRTY' }]);
    expect(report.failed[0]?.reason).toContain('WORKTREE_DIRTY');
    expect(existsSync(nested.path)).toBe(true);

    // A repository the agent made but never committed in: git cannot add it, yet its files are work.
    const unborn = await manager.createWorktree(4);
    git(unborn.path, 'init', '-q', '-b', 'main', 'draft');
    writeFileSync(join(unborn.path, 'draft', 'plan.md'), 'only here\n');
    writeFileSync(join(unborn.path, 'beside.txt'), 'archived\n');
    const unbornRefused = await manager.removeWorktree(unborn.id).catch((e: unknown) => e as MiyabiError);
    expect(unbornRefused).toMatchObject({ code: 'WORKTREE_DIRTY' });
    expect((unbornRefused as MiyabiError).message).toContain(
      'draft/: uncommitted changes in a nested repository',
    );
    expect(readFileSync(join(unborn.path, 'draft', 'plan.md'), 'utf8')).toBe('only here\n');
    const forced = await manager.removeWorktree(unborn.id, { force: true });
    expect(forced.worktreeRemoved).toBe(true);

    // A submodule the agent changed and committed in: its objects live in the worktree's admin folder.
    const withSub = await manager.createWorktree(2);
    git(withSub.path, '-c', 'protocol.file.allow=always', 'submodule', 'update', '-q', '--init');
    commitIn(join(withSub.path, 'sub'), 'lib.txt', 'changed in the submodule\n');
    git(withSub.path, 'commit', '-q', '-am', 'bump submodule');
    const subRefused = await manager.removeWorktree(withSub.id).catch((e: unknown) => e as MiyabiError);
    expect((subRefused as MiyabiError).message).toContain('sub: 1 commit(s) of a submodule');
    writeFileSync(join(withSub.path, 'sub', 'lib.txt'), 'dirty too\n');
    const dirtyRefused = await manager.removeWorktree(withSub.id).catch((e: unknown) => e as MiyabiError);
    expect((dirtyRefused as MiyabiError).message).toContain('sub: uncommitted changes in a submodule');
    expect((await manager.removeWorktree(withSub.id, { force: true })).worktreeRemoved).toBe(true);

    // A clean clone whose commits are all on its remote loses nothing: it goes with the worktree.
    const withClone = await manager.createWorktree(3);
    git(withClone.path, 'clone', '-q', sub.path, 'vendor');
    const removed = await manager.removeWorktree(withClone.id);
    expect(removed.worktreeRemoved).toBe(true);
    expect(existsSync(withClone.path)).toBe(false);
  });
});

describe('restoreWorktree', () => {
  it('round-trips uncommitted work, untracked folders, deletions and unmerged commits', async () => {
    const repo = createTempRepo({
      files: { 'keep.txt': 'keep\n', 'remove-me.txt': 'bye\n', '.gitignore': '*.log\n' },
    });
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const w = await manager.createWorktree(10);
    const tip = commitIn(w.path, 'committed.txt', 'committed\n');
    writeFileSync(join(w.path, 'keep.txt'), 'keep, edited\n');
    unlinkSync(join(w.path, 'remove-me.txt'));
    mkdirSync(join(w.path, 'notes', 'deep'), { recursive: true });
    writeFileSync(join(w.path, 'notes', 'deep', 'idea.md'), '# idea\n');
    writeFileSync(join(w.path, 'run.log'), 'ignored\n');
    const statusBefore = git(w.path, 'status', '--porcelain', '--untracked-files=all');

    const removed = await manager.removeWorktree(w.id);
    expect(removed.archived).not.toBeNull();
    // The branch had an unmerged commit: it is kept; delete it to prove restore recreates it.
    repo.git('branch', '-D', 'feature/issue-10');

    const restored = await manager.restoreWorktree(w.id);
    expect(restored.id).not.toBe(w.id);
    expect(restored.branchName).toBe('feature/issue-10');
    expect(git(restored.path, 'rev-parse', 'HEAD')).toBe(tip);
    expect(readFileSync(join(restored.path, 'keep.txt'), 'utf8')).toBe('keep, edited\n');
    expect(existsSync(join(restored.path, 'remove-me.txt'))).toBe(false);
    expect(readFileSync(join(restored.path, 'notes/deep/idea.md'), 'utf8')).toBe('# idea\n');
    expect(existsSync(join(restored.path, 'run.log'))).toBe(false);
    expect(git(restored.path, 'status', '--porcelain', '--untracked-files=all')).toBe(statusBefore);
  });

  it('refuses unknown ids and live worktrees; restores beside a branch that moved on', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    expect(await codeOf(manager.restoreWorktree('issue-1-00000000'))).toBe('NOT_FOUND');
    const w = await manager.createWorktree(11);
    expect(await codeOf(manager.restoreWorktree(w.id))).toBe('ALREADY_EXISTS');
    writeFileSync(join(w.path, 'wip.txt'), 'wip\n');
    await manager.removeWorktree(w.id);
    repo.commit({ 'main-moved.txt': 'x\n' });
    repo.git('branch', 'feature/issue-11', 'HEAD');
    const moved = repo.git('rev-parse', 'feature/issue-11');
    const beside = `feature/issue-11-restored-${w.id.slice(-8)}`;
    repo.git('branch', beside, 'HEAD');
    const before = repoState(repo.path);
    // Both the branch and the one beside it hold other commits: nothing is reset.
    expect(await codeOf(manager.restoreWorktree(w.id))).toBe('ALREADY_EXISTS');
    expect(repoState(repo.path)).toEqual(before);

    repo.git('branch', '-D', beside);
    const restored = await manager.restoreWorktree(w.id);
    expect(restored.branchName).toBe(beside);
    expect(readFileSync(join(restored.path, 'wip.txt'), 'utf8')).toBe('wip\n');
    expect(existsSync(join(restored.path, 'main-moved.txt'))).toBe(false);
    expect(repo.git('rev-parse', 'feature/issue-11')).toBe(moved);
  });

  it('archives and restores commits an agent made on a detached HEAD, and files on an unborn branch', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const detached = await manager.createWorktree(12);
    git(detached.path, 'checkout', '-q', '--detach');
    const lone = commitIn(detached.path, 'detached.txt', 'only HEAD reaches this\n');
    const removed = await manager.removeWorktree(detached.id);
    // The branch itself held nothing new, so it goes; the commit is kept by the archive.
    expect(removed).toMatchObject({ branchDeleted: true, archived: { unmergedCommits: 1 } });
    expect(repo.git('rev-parse', `${removed.archived?.ref}^`)).toBe(lone);
    const back = await manager.restoreWorktree(detached.id);
    expect(git(back.path, 'rev-parse', 'HEAD')).toBe(lone);
    expect(readFileSync(join(back.path, 'detached.txt'), 'utf8')).toBe('only HEAD reaches this\n');

    const orphan = await manager.createWorktree(13);
    git(orphan.path, 'checkout', '-q', '--orphan', 'scratch');
    writeFileSync(join(orphan.path, 'new.txt'), 'precious\n');
    const gone = await manager.removeWorktree(orphan.id);
    expect(gone.archived?.uncommittedPaths).toContain('new.txt');
    expect(repo.git('show', `${gone.archived?.ref}:new.txt`)).toBe('precious');
  });

  it('removes a worktree whose base branch is gone, keeping the branch that holds its commits', async () => {
    const repo = createTempRepo();
    repo.git('branch', 'topic');
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const w = await manager.createWorktree(14, { baseBranch: 'topic' });
    const tip = commitIn(w.path, 'work.txt', 'work\n');
    repo.git('branch', '-D', 'topic');
    const result = await manager.removeWorktree(w.id);
    expect(result).toMatchObject({
      worktreeRemoved: true,
      branchDeleted: false,
      branchKeptReason: expect.stringContaining('1 commit(s)'),
      archived: null,
    });
    expect(repo.git('rev-parse', 'feature/issue-14')).toBe(tip);
  });

  it('keeps an older archive of the same id reachable when a newer one is written', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const w = await manager.createWorktree(15);
    writeFileSync(join(w.path, 'first.txt'), 'first\n');
    const first = (await manager.removeWorktree(w.id)).archived?.commit as string;
    // A later worktree at the same path and id (restored by hand with our lock, then removed again).
    const ours = `miyabi-worktree pid=${process.pid} host=${hostname()}`;
    repo.git('worktree', 'add', '-q', '--lock', '--reason', ours, w.path, '-b', 'again');
    const registryFile = join(repo.path, '.git', 'miyabi', 'registry.json');
    writeFileSync(
      registryFile,
      JSON.stringify({ version: 1, worktrees: [{ ...w, branchName: 'again', reusedBranch: true }] }),
    );
    writeFileSync(join(w.path, 'second.txt'), 'second\n');
    const second = (await manager.removeWorktree(w.id)).archived?.commit as string;
    expect(second).not.toBe(first);
    expect(repo.git('rev-parse', `${second}^2`)).toBe(first);
    expect(repo.git('show', `${first}:first.txt`)).toBe('first');
  });
});

describe('cleanupAll', () => {
  it('a dry run reports exactly what the run does: branches, archives, processes it stops', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const clean = await manager.createWorktree(1);
    const worked = await manager.createWorktree(2);
    commitIn(worked.path, 'w.txt', 'w\n');
    writeFileSync(join(worked.path, 'dirty.txt'), 'dirty\n');
    const agent = spawn('sleep', ['30'], {
      env: { ...process.env, MIYABI_WORKTREE_ID: clean.id },
      stdio: 'ignore',
    });
    try {
      // 'spawn' fires once exec has happened: the environment is the agent's own by then.
      await once(agent, 'spawn');
      const outline = (report: CleanupReport) =>
        report.removed.map((r) => ({
          id: r.id,
          branchDeleted: r.branchDeleted,
          branchKeptReason: r.branchKeptReason,
          archived: r.archived && {
            uncommittedPaths: r.archived.uncommittedPaths,
            unmergedCommits: r.archived.unmergedCommits,
          },
          stoppedProcesses: r.stoppedProcesses,
        }));
      const plan = outline(await manager.cleanupAll({ dryRun: true }));
      const done = outline(await manager.cleanupAll());
      expect(plan).toEqual(done);
      expect(done).toEqual([
        {
          id: clean.id,
          branchDeleted: true,
          branchKeptReason: undefined,
          archived: null,
          stoppedProcesses: [agent.pid],
        },
        {
          id: worked.id,
          branchDeleted: false,
          branchKeptReason: expect.stringContaining('1 commit(s)'),
          archived: { uncommittedPaths: ['dirty.txt'], unmergedCommits: 1 },
          stoppedProcesses: undefined,
        },
      ]);
    } finally {
      agent.kill('SIGKILL');
    }
  });

  it('leaves registry records that name no worktree of ours alone, in list, cleanup and remove', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const w = await manager.createWorktree(1);
    const elsewhere = tempDir();
    // A folder outside the worktree folder, named by a record of an interrupted removal.
    const outside = join(elsewhere, 'precious');
    mkdirSync(outside);
    writeFileSync(join(outside, 'keep.txt'), 'mine\n');
    // The user's own linked worktrees: one outside, one inside our folder with a name like ours.
    const userTree = join(elsewhere, 'user-tree');
    repo.git('worktree', 'add', '-q', userTree, '-b', 'userwork');
    const lookalike = join(manager.worktreeDir, 'issue-3-0000abcd');
    repo.git('worktree', 'add', '-q', lookalike, '-b', 'lookalike');
    writeFileSync(join(lookalike, 'draft.txt'), 'uncommitted\n');
    const registryFile = join(repo.path, '.git', 'miyabi', 'registry.json');
    const claim = { owner: w.owner, token: 't', startedAt: w.createdAt, archived: null, failed: 'earlier' };
    const tampered = [
      { ...w, id: 'issue-2-deadbeef', path: outside, branchName: 'gone', removal: claim },
      { ...w, id: 'issue-3-0000abcd', path: lookalike, branchName: 'lookalike' },
      { ...w, id: 'issue-4-0000beef', path: userTree, branchName: 'userwork' },
    ];
    const records = JSON.parse(readFileSync(registryFile, 'utf8')) as { worktrees: unknown[] };
    writeFileSync(
      registryFile,
      JSON.stringify({ ...records, worktrees: [...records.worktrees, ...tampered] }),
    );
    const before = repoState(repo.path);

    expect((await manager.listWorktrees()).map((r) => r.id)).toEqual([w.id]);
    expect(repoState(repo.path)).toEqual(before);
    expect(await codeOf(manager.removeWorktree('issue-3-0000abcd', { force: true }))).toBe(
      'FOREIGN_WORKTREE',
    );
    expect(await codeOf(manager.removeWorktree('issue-4-0000beef'))).toBe('FOREIGN_WORKTREE');
    const plan = await manager.cleanupAll({ dryRun: true });
    const report = await manager.cleanupAll();
    for (const r of [plan, report]) {
      expect(r.removed.map((x) => x.id)).toEqual([w.id]);
      expect(r.foreign.map((x) => x.id)).toEqual(tampered.map((t) => t.id));
      expect(r.reconciled).toEqual([]);
    }
    expect(readFileSync(join(outside, 'keep.txt'), 'utf8')).toBe('mine\n');
    expect(readFileSync(join(lookalike, 'draft.txt'), 'utf8')).toBe('uncommitted\n');
    expect(existsSync(userTree)).toBe(true);
    expect(repo.git('for-each-ref', '--format=%(refname)', 'refs/heads/', 'refs/miyabi/')).toBe(
      ['refs/heads/lookalike', 'refs/heads/main', 'refs/heads/userwork'].join('\n'),
    );
    const left = JSON.parse(readFileSync(registryFile, 'utf8')) as { worktrees: { id: string }[] };
    expect(left.worktrees.map((r) => r.id)).toEqual(tampered.map((t) => t.id));
  });

  it("judges a record by the worktree folder it was created in, not by today's setting", async () => {
    const repo = createTempRepo();
    const before = await WorktreeManager.open({ repoPath: repo.path });
    const w = await before.createWorktree(1);
    expect(w.worktreeDir).toBe(before.worktreeDir);
    // The setting changed since: the worktree is still ours, and goes as ours do.
    const after = await WorktreeManager.open({ repoPath: repo.path, worktreeDir: 'elsewhere' });
    expect((await after.listWorktrees()).map((r) => r.id)).toEqual([w.id]);
    expect(await after.removeWorktree(w.id)).toMatchObject({ worktreeRemoved: true, branchDeleted: true });
  });

  it('does not take a worktree whose create was still in flight for an orphan', async () => {
    const repo = createTempRepo();
    const creator = await WorktreeManager.open({ repoPath: repo.path });
    const w = await creator.createWorktree(20);
    const stateDir = join(repo.git('rev-parse', '--path-format=absolute', '--git-common-dir'), 'miyabi');
    const registry = new Registry(stateDir, silentLogger);
    let cleanup: Promise<unknown> | undefined;
    // Replays another process's create: its worktree exists, its record lands under the same lock.
    const lock = new RepoLock(stateDir);
    await lock.run(async () => {
      const [record] = await registry.mutate((records) => records.filter((r) => r.id === w.id));
      await registry.mutate(() => []);
      cleanup = (await WorktreeManager.open({ repoPath: repo.path })).cleanupAll();
      // Until the cleanup has found the unrecorded worktree and queued for the lock to adopt it.
      expect(await eventually(() => lock.waiting > 0, 30_000, 5)).toBe(true);
      if (record) await registry.mutate((records) => [...records, record]);
    });
    const report = await cleanup;
    expect(report).toMatchObject({ reconciled: [], removed: [] });
    expect(existsSync(join(w.path, 'README.md'))).toBe(true);
    expect((await creator.getWorktree(w.id)).status).toBe('active');
  });

  it('re-checks under the lock before reconciling a worktree that only looked vanished', async () => {
    const repo = createTempRepo();
    const creator = await WorktreeManager.open({ repoPath: repo.path });
    const w = await creator.createWorktree(21);
    writeFileSync(join(w.path, 'wip.txt'), 'work in progress\n');
    const stateDir = join(repo.git('rev-parse', '--path-format=absolute', '--git-common-dir'), 'miyabi');
    let listing: Promise<unknown> | undefined;
    // Its folder is missing only while another process holds the lock (as midway through an operation).
    const lock = new RepoLock(stateDir);
    await lock.run(async () => {
      renameSync(w.path, `${w.path}.moved`);
      listing = (await WorktreeManager.open({ repoPath: repo.path })).listWorktrees();
      // Until the listing has seen the folder missing and queued for the lock to reconcile it.
      expect(await eventually(() => lock.waiting > 0, 30_000, 5)).toBe(true);
      renameSync(`${w.path}.moved`, w.path);
    });
    expect(((await listing) as { id: string }[]).map((x) => x.id)).toEqual([w.id]);
    expect(readFileSync(join(w.path, 'wip.txt'), 'utf8')).toBe('work in progress\n');
    expect((await creator.listWorktrees()).map((x) => x.id)).toEqual([w.id]);
  });

  it("removes this tool's worktrees, never the user's own, and reclaims crash leftovers", async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const userWorktree = join(repo.path, '..', 'users-own');
    repo.git('worktree', 'add', '-q', userWorktree, '-b', 'user/work');
    writeFileSync(join(userWorktree, 'dirty.txt'), 'the user is busy here\n');
    const a = await manager.createWorktree(1);
    const b = await manager.createWorktree(2);
    // A create of a process now dead, interrupted between `worktree add` and the registry write.
    const finished = spawn('true', [], { stdio: 'ignore' });
    await new Promise((resolve) => finished.on('exit', resolve));
    const deadOwner = `miyabi-worktree pid=${finished.pid} host=${hostname()}`;
    const leftover = join(manager.worktreeDir, 'issue-3-deadbeef');
    repo.git('worktree', 'add', '-q', '--lock', '--reason', deadOwner, leftover, '-b', 'feature/issue-3');
    // A create killed inside `git worktree add` (git's own lock is still there).
    const partial = join(manager.worktreeDir, 'issue-8-0000beef');
    repo.git('worktree', 'add', '-q', '--lock', '--reason', 'initializing', partial, '-b', 'feature/issue-8');
    // The user's own worktree in our folder, named like ours: no lock of ours, so not ours.
    const lookalike = join(manager.worktreeDir, 'issue-9-abcdef01');
    repo.git('worktree', 'add', '-q', lookalike, '-b', 'user/lookalike');
    writeFileSync(join(lookalike, 'mine.txt'), 'the user works here too\n');
    rmSync(b.path, { recursive: true, force: true });

    const dry = await manager.cleanupAll({ dryRun: true });
    expect(dry.removed.map((r) => r.id)).toEqual([a.id, 'issue-3-deadbeef']);
    expect(dry.reconciled.map((r) => r.id)).toEqual([b.id, 'issue-8-0000beef']);
    expect(existsSync(a.path)).toBe(true);
    expect(existsSync(partial)).toBe(true);

    const report = await manager.cleanupAll();
    expect(report.removed.map((r) => r.id)).toEqual([a.id, 'issue-3-deadbeef']);
    // Without a record nobody can say the branch was ours: it is kept.
    expect(report.removed[1]).toMatchObject({ branchDeleted: false, archived: null });
    expect(repo.git('branch', '--list', 'feature/issue-3')).toContain('feature/issue-3');
    expect(report.reconciled.map((r) => r.id)).toEqual([b.id, 'issue-8-0000beef']);
    expect(existsSync(partial)).toBe(false);
    expect(report.dryRun).toBe(false);
    const list = repo.git('worktree', 'list', '--porcelain');
    expect(list.match(/^worktree /gm)).toHaveLength(3);
    expect(list).toContain('users-own');
    expect(list).toContain('issue-9-abcdef01');
    expect(readFileSync(join(userWorktree, 'dirty.txt'), 'utf8')).toBe('the user is busy here\n');
    expect(readFileSync(join(lookalike, 'mine.txt'), 'utf8')).toBe('the user works here too\n');
    expect(await manager.listWorktrees()).toEqual([]);
  });

  it('reclaims what a create killed inside git worktree add left under our own lock', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    await manager.createWorktree(1);
    const finished = spawn('true', [], { stdio: 'ignore' });
    await new Promise((resolve) => finished.on('exit', resolve));
    // The on-disk state git leaves when killed early in `worktree add --lock --reason <ours>`.
    const name = 'issue-3-deadbeef';
    const path = join(manager.worktreeDir, name);
    const admin = join(repo.path, '.git', 'worktrees', name);
    mkdirSync(admin, { recursive: true });
    mkdirSync(path, { recursive: true });
    writeFileSync(join(admin, 'locked'), `miyabi-worktree pid=${finished.pid} host=${hostname()}`);
    writeFileSync(join(admin, 'gitdir'), `${path}/.git\n`);
    writeFileSync(join(admin, 'commondir'), '../..\n');
    writeFileSync(join(admin, 'HEAD'), `${'0'.repeat(40)}\n`);
    writeFileSync(join(path, '.git'), `gitdir: ${admin}\n`);
    expect(repo.git('worktree', 'list', '--porcelain')).toContain(name);

    const report = await manager.cleanupAll();
    expect(report.reconciled.map((r) => r.id)).toContain(name);
    expect(report.skipped).toEqual([]);
    expect(existsSync(admin)).toBe(false);
    expect(existsSync(path)).toBe(false);
    expect(repo.git('worktree', 'list', '--porcelain')).not.toContain(name);
  });

  it('deletes the empty branch of an adopted orphan when this tool created it, keeps one that existed', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    repo.git('branch', 'userwork');
    const empty = await manager.createWorktree(1);
    const worked = await manager.createWorktree(2);
    const tip = commitIn(worked.path, 'w.txt', 'w\n');
    const reused = await manager.createWorktree(3, { branchName: 'userwork' });
    // The lock says which branches `worktree add -b` created; a reused one's says nothing.
    const locks = repo.git('worktree', 'list', '--porcelain');
    expect(locks).toMatch(/^locked miyabi-worktree pid=\d+ host=\S+ branch=created$/m);
    expect(locks.match(/ branch=created$/gm)).toHaveLength(2);
    // The registry is lost: the three are orphans, adopted and removed by cleanup.
    rmSync(join(repo.path, '.git', 'miyabi', 'registry.json'));
    const plan = await manager.cleanupAll({ dryRun: true });
    const report = await manager.cleanupAll();
    for (const r of [plan, report]) {
      expect(r.removed.map((x) => [x.id, x.branchDeleted]).sort()).toEqual(
        [empty.id, worked.id, reused.id].map((id) => [id, id === empty.id]).sort(),
      );
    }
    expect(repo.git('branch', '--list', empty.branchName)).toBe('');
    expect(repo.git('rev-parse', worked.branchName)).toBe(tip);
    expect(repo.git('branch', '--list', 'userwork')).toContain('userwork');
  });

  it('archives the work in worktrees whose registry was lost, unless their creator still runs', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const w = await manager.createWorktree(4);
    writeFileSync(join(w.path, 'precious.txt'), 'uncommitted work\n');
    const busyPath = join(manager.worktreeDir, 'issue-5-0badc0de');
    const creator = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const reason = `miyabi-worktree pid=${creator.pid} host=${hostname()}`;
      repo.git('worktree', 'add', '-q', '--lock', '--reason', reason, busyPath, '-b', 'feature/issue-5');
      rmSync(
        join(repo.git('rev-parse', '--path-format=absolute', '--git-common-dir'), 'miyabi', 'registry.json'),
      );

      const report = await manager.cleanupAll();
      expect(report.removed.map((r) => r.id)).toEqual([w.id]);
      expect(report.removed[0]?.archived?.uncommittedPaths).toEqual(['precious.txt']);
      expect(report.skipped).toEqual([
        { id: 'issue-5-0badc0de', path: busyPath, reason: expect.stringContaining(`process ${creator.pid}`) },
      ]);
      expect(existsSync(busyPath)).toBe(true);
    } finally {
      creator.kill('SIGKILL');
    }
    const restored = await manager.restoreWorktree(w.id);
    expect(readFileSync(join(restored.path, 'precious.txt'), 'utf8')).toBe('uncommitted work\n');
  });

  it('leaves active worktrees of a live process alone and reclaims those of a dead one', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const live = await manager.createWorktree(1);
    const dead = await manager.createWorktree(2);
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    const finished = spawn('true', [], { stdio: 'ignore' });
    await new Promise((resolve) => finished.on('exit', resolve));
    const registryFile = join(repo.path, '.git', 'miyabi', 'registry.json');
    const registry = JSON.parse(readFileSync(registryFile, 'utf8')) as {
      worktrees: { id: string; owner: { pid: number } }[];
    };
    for (const record of registry.worktrees) {
      record.owner.pid = (record.id === live.id ? sleeper.pid : finished.pid) ?? 0;
    }
    writeFileSync(registryFile, JSON.stringify(registry));
    try {
      const report = await manager.cleanupAll();
      expect(report.removed.map((r) => r.id)).toEqual([dead.id]);
      expect(report.skipped).toEqual([
        { id: live.id, path: live.path, reason: `active in live process ${sleeper.pid}` },
      ]);
      expect(existsSync(live.path)).toBe(true);
    } finally {
      sleeper.kill('SIGKILL');
    }
  });

  it('deletes git lock files a killed git left, but only when no git process runs in the repository', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const worktree = await manager.createWorktree(1);
    const gitDir = join(repo.path, '.git');
    const adminDir = join(gitDir, 'worktrees', worktree.id);
    const stale = [
      join(gitDir, 'config.lock'),
      join(gitDir, 'refs', 'heads', 'feature', 'x.lock'),
      join(adminDir, 'index.lock'),
    ];
    const old = new Date(Date.now() - 60_000);
    for (const file of stale) {
      writeFileSync(file, '');
      utimesSync(file, old, old);
    }
    // A lock taken a moment ago may belong to a git process that is just starting: not touched.
    const fresh = join(gitDir, 'packed-refs.lock');
    writeFileSync(fresh, '');
    // Dated ahead, so that it is still "a moment ago" however slowly this machine runs the test.
    const ahead = new Date(Date.now() + 3_600_000);
    utimesSync(fresh, ahead, ahead);
    expect(() => repo.git('config', 'miyabi.test', '1')).toThrow(/could not lock config file/);

    const dry = await manager.cleanupAll({ dryRun: true });
    expect(dry.staleLocks.map((l) => [l.path, l.action]).sort()).toEqual(
      stale.map((path) => [path, 'would-remove']).sort(),
    );
    expect(stale.every((file) => existsSync(file))).toBe(true);

    // A git process standing in a worktree of the repository (waiting on its stdin) may hold them.
    const busyGit = spawn('git', ['hash-object', '--stdin'], {
      cwd: worktree.path,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    await new Promise((resolve) => busyGit.once('spawn', resolve));
    try {
      const busy = await manager.cleanupAll({ dryRun: true });
      expect(busy.staleLocks).toHaveLength(3);
      for (const lock of busy.staleLocks) {
        expect(lock).toMatchObject({
          action: 'kept',
          reason: `git process ${busyGit.pid} runs in this repository`,
        });
      }
    } finally {
      busyGit.kill('SIGKILL');
      await new Promise((resolve) => busyGit.once('exit', resolve));
    }

    const report = await manager.cleanupAll();
    // The worktree's own index.lock went with its admin folder when the worktree was removed.
    expect(report.removed.map((r) => r.id)).toEqual([worktree.id]);
    expect(report.staleLocks.map((l) => [l.path, l.action]).sort()).toEqual(
      stale
        .slice(0, 2)
        .map((path) => [path, 'removed'])
        .sort(),
    );
    expect(stale.some((file) => existsSync(file))).toBe(false);
    expect(existsSync(fresh)).toBe(true);
    rmSync(fresh);
    repo.git('config', 'miyabi.test', '1');
    expect(existsSync(worktree.path)).toBe(false);
  });
});
