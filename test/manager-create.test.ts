import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MiyabiError, WorktreeManager } from '../src/index.js';
import { eventually, processAlive } from './helpers/cli-process.js';
import { repoState } from './helpers/repo-state.js';
import { createTempRepo, git, tempDir } from './helpers/temp-repo.js';

async function expectCode(promise: Promise<unknown>, code: string): Promise<MiyabiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected a MiyabiError ${code}`).toBeInstanceOf(MiyabiError);
  expect((error as MiyabiError).code).toBe(code);
  expect((error as MiyabiError).hint.length).toBeGreaterThan(0);
  return error as MiyabiError;
}

describe('WorktreeManager.discover / open', () => {
  it('finds the main worktree from a subfolder and from inside a linked worktree', async () => {
    const repo = createTempRepo({ files: { 'src/a.txt': 'a\n' } });
    const fromSub = await WorktreeManager.discover({ cwd: join(repo.path, 'src') });
    expect(fromSub.repoPath).toBe(repo.path);
    // The default lies beside the repository: Node's lookup from a worktree never reaches its node_modules.
    expect(fromSub.worktreeDir).toBe(`${repo.path}.worktrees`);
    const linked = join(repo.path, '..', 'linked');
    repo.git('worktree', 'add', '-q', linked, '-b', 'user-branch');
    const fromLinked = await WorktreeManager.discover({ cwd: linked, worktreeDir: 'wt' });
    expect(fromLinked.repoPath).toBe(repo.path);
    // Relative worktreeDir is relative to the main worktree root, not to cwd.
    expect(fromLinked.worktreeDir).toBe(join(repo.path, 'wt'));
  });

  it('refuses a folder that is not a repository and creates nothing', async () => {
    const dir = tempDir();
    await expectCode(WorktreeManager.discover({ cwd: dir }), 'NOT_A_REPOSITORY');
    await expectCode(WorktreeManager.open({ repoPath: join(dir, 'missing') }), 'NOT_A_REPOSITORY');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses a bare repository', async () => {
    const dir = tempDir();
    git(dir, 'init', '-q', '--bare', 'bare.git');
    await expectCode(WorktreeManager.open({ repoPath: join(dir, 'bare.git') }), 'BARE_REPOSITORY');
    expect(existsSync(join(dir, 'bare.git', 'miyabi'))).toBe(false);
  });

  it('refuses a repository without a commit and leaves it untouched', async () => {
    const repo = createTempRepo({ empty: true });
    const before = readdirSync(join(repo.path, '.git')).sort();
    await expectCode(WorktreeManager.open({ repoPath: repo.path }), 'NO_COMMITS');
    expect(readdirSync(join(repo.path, '.git')).sort()).toEqual(before);
  });

  it('refuses a worktreeDir inside .git or containing the repository', async () => {
    const repo = createTempRepo();
    const error = await expectCode(
      WorktreeManager.open({ repoPath: repo.path, worktreeDir: '.git/wt' }),
      'INVALID_ARGUMENT',
    );
    expect(error.message).toContain('worktreeDir');
    await expectCode(WorktreeManager.open({ repoPath: repo.path, worktreeDir: '.' }), 'INVALID_ARGUMENT');
    await expectCode(WorktreeManager.open({ repoPath: repo.path, worktreeDir: '..' }), 'INVALID_ARGUMENT');
  });

  it('refuses a worktreeDir that is a file or lies below one, changing nothing', async () => {
    const repo = createTempRepo({ files: { 'notes.txt': 'a file\n' } });
    const before = repoState(repo.path);
    const exclude = readFileSync(join(repo.path, '.git', 'info', 'exclude'), 'utf8');
    for (const bad of ['notes.txt', 'notes.txt/wt']) {
      const error = await expectCode(
        WorktreeManager.open({ repoPath: repo.path, worktreeDir: bad }),
        'INVALID_ARGUMENT',
      );
      expect(error.message).toContain(join(repo.path, 'notes.txt'));
    }
    expect(repoState(repo.path)).toEqual(before);
    expect(readFileSync(join(repo.path, '.git', 'info', 'exclude'), 'utf8')).toBe(exclude);
  });

  it('leaves no folder and no info/exclude line behind when the first create fails', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path, worktreeDir: 'deep/wt' });
    const exclude = readFileSync(join(repo.path, '.git', 'info', 'exclude'), 'utf8');
    // main is checked out in the main worktree: git refuses it.
    await expectCode(manager.createWorktree(1, { branchName: 'main' }), 'BRANCH_IN_USE');
    expect(existsSync(join(repo.path, 'deep'))).toBe(false);
    expect(readFileSync(join(repo.path, '.git', 'info', 'exclude'), 'utf8')).toBe(exclude);
    const made = await manager.createWorktree(1);
    expect(made.path.startsWith(join(repo.path, 'deep', 'wt'))).toBe(true);
    expect(readFileSync(join(repo.path, '.git', 'info', 'exclude'), 'utf8')).toContain('/deep/wt/');
  });

  it('rejects a maxConcurrency that is not a positive integer, naming it', async () => {
    const repo = createTempRepo();
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      const error = await expectCode(
        WorktreeManager.open({ repoPath: repo.path, maxConcurrency: bad }),
        'INVALID_ARGUMENT',
      );
      expect(error.message).toContain('maxConcurrency');
    }
  });

  it('resolves the base branch: origin/HEAD, then main, then master, then the current branch', async () => {
    const withRemote = createTempRepo({ withRemote: true, branch: 'trunk' });
    expect((await WorktreeManager.open({ repoPath: withRemote.path })).baseBranch).toBe('trunk');
    const master = createTempRepo({ branch: 'master' });
    expect((await WorktreeManager.open({ repoPath: master.path })).baseBranch).toBe('master');
    const both = createTempRepo({ branch: 'master' });
    both.git('branch', 'main');
    expect((await WorktreeManager.open({ repoPath: both.path })).baseBranch).toBe('main');
    const other = createTempRepo({ branch: 'develop' });
    expect((await WorktreeManager.open({ repoPath: other.path })).baseBranch).toBe('develop');
    expect((await WorktreeManager.open({ repoPath: other.path, baseBranch: 'develop' })).baseBranch).toBe(
      'develop',
    );
    await expectCode(WorktreeManager.open({ repoPath: other.path, baseBranch: 'nope' }), 'NOT_FOUND');
  });
});

describe('createWorktree', () => {
  it('runs no post-checkout hook, whether the files are written under the lock or outside it', async () => {
    const files = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`f${i}.txt`, `${i}\n`]));
    for (const [issue, tree] of [
      [1, { 'a.txt': 'a\n' }],
      [2, files],
    ] as const) {
      const repo = createTempRepo({ files: tree });
      const marker = join(repo.path, '..', `hook-ran-${issue}`);
      writeFileSync(join(repo.path, '.git', 'hooks', 'post-checkout'), `#!/bin/sh\ntouch '${marker}'\n`, {
        mode: 0o755,
      });
      const manager = await WorktreeManager.open({ repoPath: repo.path });
      const w = await manager.createWorktree(issue);
      expect(git(w.path, 'status', '--porcelain')).toBe('');
      expect(readdirSync(w.path).length).toBe(Object.keys(tree).length + 1);
      expect(existsSync(marker)).toBe(false);
    }
  });

  it('creates a checked-out worktree on feature/issue-N in issue-N-<8 hex>, excluded from git status', async () => {
    const repo = createTempRepo({ files: { 'README.md': 'hi\n', 'src/index.ts': 'export {};\n' } });
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const info = await manager.createWorktree(42);
    expect(info).toMatchObject({
      issueNumber: 42,
      branchName: 'feature/issue-42',
      baseBranch: 'main',
      status: 'active',
    });
    expect(info.id).toMatch(/^issue-42-[0-9a-f]{8}$/);
    expect(info.path).toBe(join(`${repo.path}.worktrees`, info.id));
    expect(info.reusedBranch).toBe(false);
    expect(new Date(info.createdAt).toISOString()).toBe(info.createdAt);
    expect(JSON.parse(JSON.stringify(info))).toEqual(info);
    expect(readFileSync(join(info.path, 'src/index.ts'), 'utf8')).toBe('export {};\n');
    expect(git(info.path, 'status', '--porcelain')).toBe('');
    expect(git(info.path, 'symbolic-ref', 'HEAD')).toBe('refs/heads/feature/issue-42');
    // No upstream was written (parallel adds would race on .git/config).
    expect(() => git(repo.path, 'config', '--get', 'branch.feature/issue-42.merge')).toThrow();
    expect(repo.git('status', '--porcelain', '--untracked-files=all')).toBe('');
    // Outside the repository: nothing to exclude.
    expect(readFileSync(join(repo.path, '.git/info/exclude'), 'utf8')).not.toContain('worktrees');
    expect(await manager.getWorktree(info.id)).toEqual(info);
    expect(await manager.listWorktrees()).toEqual([info]);
  });

  it('starts from the requested base branch and honours a custom branch name', async () => {
    const repo = createTempRepo();
    repo.git('checkout', '-q', '-b', 'release');
    const releaseTip = repo.commit({ 'release.txt': 'r\n' }, 'release work');
    repo.git('checkout', '-q', 'main');
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const info = await manager.createWorktree(5, { baseBranch: 'release', branchName: 'agent/five' });
    expect(info.branchName).toBe('agent/five');
    expect(info.baseBranch).toBe('release');
    expect(git(info.path, 'rev-parse', 'HEAD')).toBe(releaseTip);
    expect(existsSync(join(info.path, 'release.txt'))).toBe(true);
  });

  it('reuses an existing branch that no worktree has checked out', async () => {
    const repo = createTempRepo();
    repo.git('branch', 'feature/issue-7');
    repo.git('checkout', '-q', 'feature/issue-7');
    const tip = repo.commit({ 'wip.txt': 'earlier work\n' }, 'earlier work');
    repo.git('checkout', '-q', 'main');
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const info = await manager.createWorktree(7);
    expect(info.reusedBranch).toBe(true);
    expect(git(info.path, 'rev-parse', 'HEAD')).toBe(tip);
    expect(readFileSync(join(info.path, 'wip.txt'), 'utf8')).toBe('earlier work\n');
  });

  it('refuses a branch checked out elsewhere with BRANCH_IN_USE and changes nothing', async () => {
    const repo = createTempRepo();
    repo.git('worktree', 'add', '-q', join(repo.path, '..', 'mine'), '-b', 'feature/issue-9');
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const before = repoState(repo.path);
    await expectCode(manager.createWorktree(9), 'BRANCH_IN_USE');
    expect(repoState(repo.path)).toEqual(before);
    expect((await manager.stats()).availableSlots).toBe(3);
  });

  it('names a lock file a killed git left, and how to clear it, when it blocks a create', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const lockFile = join(repo.path, '.git', 'refs', 'heads', 'feature', 'issue-4.lock');
    mkdirSync(join(lockFile, '..'), { recursive: true });
    writeFileSync(lockFile, '');
    const before = repoState(repo.path);
    const error = await expectCode(manager.createWorktree(4), 'GIT_FAILED');
    expect(error.hint).toContain(lockFile);
    expect(error.hint).toContain('cleanup');
    expect(repoState(repo.path)).toEqual(before);
    unlinkSync(lockFile);
    expect((await manager.createWorktree(4)).branchName).toBe('feature/issue-4');
  });

  it('deletes an old lock file a killed git left when it blocks a create, and no git process runs', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const lockFile = join(repo.path, '.git', 'refs', 'heads', 'feature', 'issue-5.lock');
    mkdirSync(join(lockFile, '..'), { recursive: true });
    writeFileSync(lockFile, '');
    const aMinuteAgo = new Date(Date.now() - 60_000);
    utimesSync(lockFile, aMinuteAgo, aMinuteAgo);
    // While a git process runs in the repository, the lock may be its own: it stays.
    const busy = spawn('git', ['-c', 'alias.wait=!sleep 30', 'wait'], { cwd: repo.path, stdio: 'ignore' });
    try {
      expect(await eventually(() => processAlive(busy.pid as number))).toBe(true);
      await expectCode(manager.createWorktree(5), 'GIT_FAILED');
      expect(existsSync(lockFile)).toBe(true);
    } finally {
      busy.kill('SIGKILL');
    }
    expect(await eventually(() => !processAlive(busy.pid as number))).toBe(true);
    const info = await manager.createWorktree(5);
    expect(info.branchName).toBe('feature/issue-5');
    expect(existsSync(lockFile)).toBe(false);
  });

  it('rejects bad issue numbers, branch and base names, leaving the repository as it was', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const before = repoState(repo.path);
    for (const bad of [0, -3, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 2, '12' as unknown as number]) {
      const error = await expectCode(manager.createWorktree(bad), 'INVALID_ARGUMENT');
      expect(error.message).toContain('issueNumber');
    }
    for (const bad of ['-rf', 'a..b', 'has space', 'end.lock', '', 'x@{1}']) {
      const error = await expectCode(manager.createWorktree(1, { branchName: bad }), 'INVALID_ARGUMENT');
      expect(error.message).toContain('branchName');
    }
    await expectCode(manager.createWorktree(1, { baseBranch: '--orphan' }), 'INVALID_ARGUMENT');
    await expectCode(manager.createWorktree(1, { baseBranch: 'no-such-branch' }), 'NOT_FOUND');
    expect(repoState(repo.path)).toEqual(before);
  });

  it('rolls back the branch, folder and record when the checkout fails', async () => {
    const repo = createTempRepo();
    repo.commit({ 'big.txt': 'content that will go missing\n' }, 'add big');
    const blob = repo.git('rev-parse', 'HEAD:big.txt');
    // A missing blob makes `worktree add --no-checkout` succeed and the checkout fail.
    unlinkSync(join(repo.path, '.git', 'objects', blob.slice(0, 2), blob.slice(2)));
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const before = repoState(repo.path);
    await expectCode(manager.createWorktree(3), 'GIT_FAILED');
    expect(repoState(repo.path)).toEqual(before);
    expect(() => repo.git('rev-parse', '--verify', 'refs/heads/feature/issue-3')).toThrow();
    expect((await manager.stats()).availableSlots).toBe(3);
  });

  it('creates 16 worktrees at once, in several rounds, without a single failure', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 200; i++) files[`dir${i % 10}/file${i}.txt`] = `line ${i}\n`;
    const repo = createTempRepo({ withRemote: true, files });
    const manager = await WorktreeManager.open({ repoPath: repo.path, maxConcurrency: 16 });
    for (let round = 0; round < 3; round++) {
      const created = await Promise.all(
        Array.from({ length: 16 }, (_, i) => manager.createWorktree(round * 100 + i + 1)),
      );
      expect(new Set(created.map((w) => w.path)).size).toBe(16);
      for (const w of created) expect(existsSync(join(w.path, 'dir3/file13.txt'))).toBe(true);
      for (const w of created) await manager.updateStatus(w.id, 'completed');
    }
    expect(await manager.listWorktrees()).toHaveLength(48);
    const gitList = repo.git('worktree', 'list', '--porcelain');
    expect(gitList.match(/^worktree /gm)).toHaveLength(49);
    // Each is locked with our ownership reason only: no add was left half-done ('initializing').
    expect(gitList.match(/^locked miyabi-worktree pid=\d+ host=/gm)).toHaveLength(48);
    expect(gitList).not.toContain('initializing');
  });
});

describe('concurrency limit', () => {
  it('makes a create beyond maxConcurrency wait for a slot, and stats says so', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path, maxConcurrency: 1 });
    const first = await manager.createWorktree(1);
    let secondDone = false;
    const second = manager.createWorktree(2).then((w) => {
      secondDone = true;
      return w;
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(secondDone).toBe(false);
    expect(await manager.stats()).toMatchObject({ availableSlots: 0, waiting: 1, total: 1 });
    await manager.updateStatus(first.id, 'completed');
    const w2 = await second;
    expect(w2.status).toBe('active');
    expect(await manager.stats()).toMatchObject({
      availableSlots: 0,
      waiting: 0,
      total: 2,
      byStatus: { active: 1, completed: 1, idle: 0, failed: 0 },
    });
  });

  it('rejects a waiting create with CANCELLED when its signal aborts, creating nothing', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path, maxConcurrency: 1 });
    await manager.createWorktree(1);
    const before = repoState(repo.path);
    const controller = new AbortController();
    const waiting = manager.createWorktree(2, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expectCode(waiting, 'CANCELLED');
    expect(repoState(repo.path)).toEqual(before);
    expect((await manager.stats()).waiting).toBe(0);
  });
});

describe('registry', () => {
  it('is shared by a second manager and a second process', async () => {
    const repo = createTempRepo();
    const first = await WorktreeManager.open({ repoPath: repo.path });
    const a = await first.createWorktree(1);
    const second = await WorktreeManager.discover({ cwd: a.path });
    expect((await second.listWorktrees()).map((w) => w.id)).toEqual([a.id]);
    await second.updateStatus(a.id, 'idle');
    expect((await first.getWorktree(a.id)).status).toBe('idle');

    const dist = join(import.meta.dirname, '..', 'dist', 'index.js');
    const script = `const { WorktreeManager } = await import(${JSON.stringify(dist)});
      const m = await WorktreeManager.open({ repoPath: ${JSON.stringify(repo.path)} });
      const w = await m.createWorktree(2);
      console.log(JSON.stringify(w));`;
    const { execFileSync } = await import('node:child_process');
    const printed = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    const b = JSON.parse(printed) as { id: string };
    expect((await first.listWorktrees()).map((w) => w.id)).toEqual([a.id, b.id]);
  });

  it('reconciles worktrees deleted by hand or pruned behind its back', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const a = await manager.createWorktree(1);
    const b = await manager.createWorktree(2);
    const c = await manager.createWorktree(3);
    rmSync(a.path, { recursive: true, force: true });
    rmSync(b.path, { recursive: true, force: true });
    repo.git('worktree', 'prune');
    expect((await manager.listWorktrees()).map((w) => w.id)).toEqual([c.id]);
    expect(repo.git('worktree', 'list', '--porcelain')).not.toContain('prunable');
    // Branches may hold commits: reconciliation keeps them.
    expect(repo.git('branch', '--list', 'feature/issue-1')).toContain('feature/issue-1');
    // Freed slots: the vanished worktrees no longer count.
    expect((await manager.stats()).availableSlots).toBe(2);
    await expectCode(manager.getWorktree(a.id), 'NOT_FOUND');
  });

  it('validates updateStatus input', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const a = await manager.createWorktree(1);
    await expectCode(manager.updateStatus(a.id, 'done' as never), 'INVALID_ARGUMENT');
    await expectCode(manager.updateStatus('issue-9-00000000', 'idle'), 'NOT_FOUND');
    await expectCode(manager.getWorktree('../../etc'), 'INVALID_ARGUMENT');
  });
});

describe('worktreeDir outside the repository', () => {
  it('creates worktrees beside the repository without touching info/exclude', async () => {
    const repo = createTempRepo();
    const outside = join(repo.path, '..', 'wts');
    mkdirSync(outside);
    writeFileSync(join(repo.path, '.git/info/exclude'), '# nothing\n');
    const manager = await WorktreeManager.open({ repoPath: repo.path, worktreeDir: '../wts' });
    const info = await manager.createWorktree(11);
    expect(info.path.startsWith(outside)).toBe(true);
    expect(readFileSync(join(repo.path, '.git/info/exclude'), 'utf8')).toBe('# nothing\n');
  });
});

describe('BRANCH_IN_USE', () => {
  it('names the worktree that holds the branch: its id and path when it is ours, else its path', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path, config: false });
    const holder = await manager.createWorktree(7);
    const ours = await expectCode(
      manager.createWorktree(8, { branchName: 'feature/issue-7' }),
      'BRANCH_IN_USE',
    );
    expect(ours.message).toContain(`worktree ${holder.id} (${holder.path})`);
    expect(ours.hint).toContain(`remove ${holder.id}`);
    expect(ours.details).toMatchObject({ worktreeId: holder.id, worktreePath: holder.path });
    const mine = join(repo.path, '..', 'mine');
    repo.git('worktree', 'add', '-q', mine, '-b', 'userwork');
    const theirs = await expectCode(manager.createWorktree(9, { branchName: 'userwork' }), 'BRANCH_IN_USE');
    expect(theirs.message).toContain(`(${git(mine, 'rev-parse', '--show-toplevel')})`);
    expect(theirs.details).toMatchObject({ worktreePath: git(mine, 'rev-parse', '--show-toplevel') });
    const main = await expectCode(manager.createWorktree(10, { branchName: 'main' }), 'BRANCH_IN_USE');
    expect(main.message).toContain(`the main worktree (${repo.path})`);
  });
});

describe('worktreeDir in .git/info/exclude', () => {
  it('refuses a worktreeDir that holds tracked files, writing nothing', async () => {
    const repo = createTempRepo({ files: { 'src/index.ts': 'export {};\n' } });
    const before = repoState(repo.path);
    const exclude = readFileSync(join(repo.path, '.git', 'info', 'exclude'), 'utf8');
    for (const dir of ['src', './src/', join(repo.path, 'src')]) {
      const error = await expectCode(
        WorktreeManager.open({ repoPath: repo.path, worktreeDir: dir }),
        'INVALID_ARGUMENT',
      );
      expect(error.message).toContain('src/index.ts');
    }
    expect(repoState(repo.path)).toEqual(before);
    expect(readFileSync(join(repo.path, '.git', 'info', 'exclude'), 'utf8')).toBe(exclude);
  });

  it('excludes a folder named with glob characters, and nothing else', async () => {
    const repo = createTempRepo();
    repo.write('wxyz/mine.txt', 'the user’s own new file\n');
    repo.write('w?/mine.txt', 'another\n');
    const manager = await WorktreeManager.open({ repoPath: repo.path, worktreeDir: 'w*' });
    const info = await manager.createWorktree(1);
    expect(info.path.startsWith(join(repo.path, 'w*'))).toBe(true);
    const status = repo.git('status', '--porcelain', '--untracked-files=all');
    expect(status).toContain('wxyz/mine.txt');
    expect(status).toContain('w?/mine.txt');
    expect(status).not.toContain('issue-1');
    expect(readFileSync(join(repo.path, '.git', 'info', 'exclude'), 'utf8')).toContain('/w\\*/\n');
  });

  it('excludes a folder whose name has a trailing space, brackets or a leading #', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path, worktreeDir: '#wt [x]/a ' });
    await manager.createWorktree(1);
    // Unescaped, `[x]` would match this folder of the user's.
    repo.write('#wt x/a /mine.txt', 'visible\n');
    const status = repo.git('status', '--porcelain', '--untracked-files=all');
    expect(status).toContain('mine.txt');
    expect(status).not.toContain('issue-1');
  });

  it('refuses a worktreeDir with a newline or another control character, writing nothing', async () => {
    const repo = createTempRepo();
    const before = repoState(repo.path);
    const exclude = readFileSync(join(repo.path, '.git', 'info', 'exclude'), 'utf8');
    for (const dir of ['wt\n*', 'wt\r', 'a\tb']) {
      const error = await expectCode(
        WorktreeManager.open({ repoPath: repo.path, worktreeDir: dir }),
        'INVALID_ARGUMENT',
      );
      expect(error.message).toContain('control character');
    }
    expect(repoState(repo.path)).toEqual(before);
    expect(readFileSync(join(repo.path, '.git', 'info', 'exclude'), 'utf8')).toBe(exclude);
  });
});
