// Behaviours of the contract (API.md §1, §2) that the other files cover only lightly.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TaskContext, WorktreeEvent, WorktreeTask } from '../src/index.js';
import { WorktreeManager, WorktreePool } from '../src/index.js';
import { createTempRepo, git, tempDir } from './helpers/temp-repo.js';

const PACKAGE_ROOT = join(import.meta.dirname, '..');

function commitIn(path: string, files: Record<string, string>, message = 'work'): string {
  for (const [name, content] of Object.entries(files)) writeFileSync(join(path, name), content);
  git(path, 'add', '-A');
  git(path, 'commit', '-q', '-m', message);
  return git(path, 'rev-parse', 'HEAD');
}

/** Adds a commit on `branch` without checking it out anywhere (plumbing only). */
function commitOnBranch(repoPath: string, branch: string, file: string, content: string): string {
  const parent = git(repoPath, 'rev-parse', `refs/heads/${branch}`);
  const blob = execFileSync('git', ['hash-object', '-w', '--stdin'], {
    cwd: repoPath,
    input: content,
    encoding: 'utf8',
  }).trim();
  const index = join(tempDir(), 'index');
  const env = { ...process.env, GIT_INDEX_FILE: index };
  execFileSync('git', ['read-tree', parent], { cwd: repoPath, env });
  execFileSync('git', ['update-index', '--add', '--cacheinfo', `100644,${blob},${file}`], {
    cwd: repoPath,
    env,
  });
  const tree = execFileSync('git', ['write-tree'], { cwd: repoPath, env, encoding: 'utf8' }).trim();
  const commit = git(repoPath, 'commit-tree', tree, '-p', parent, '-m', `${branch} work`);
  git(repoPath, 'update-ref', `refs/heads/${branch}`, commit, parent);
  return commit;
}

/** Resolves when `signal` aborts: an executor that honours its signal. */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/** The main checkout's branch, HEAD, status and the bytes of the given files. */
function checkoutSnapshot(path: string, files: readonly string[]) {
  return {
    branch: git(path, 'symbolic-ref', 'HEAD'),
    head: git(path, 'rev-parse', 'HEAD'),
    status: git(path, 'status', '--porcelain=v1', '--untracked-files=all'),
    entries: readdirSync(path).sort(),
    contents: files.map((f) => readFileSync(join(path, f), 'utf8')),
  };
}

describe('base branch fallback', () => {
  it('prefers origin/HEAD over the branch the main checkout is on', async () => {
    const repo = createTempRepo({ withRemote: true });
    const mainTip = repo.git('rev-parse', 'main');
    repo.git('checkout', '-q', '-b', 'dev');
    const devTip = repo.commit({ 'dev.txt': 'dev work\n' }, 'dev work');
    expect(devTip).not.toBe(mainTip);
    expect(repo.git('symbolic-ref', 'refs/remotes/origin/HEAD')).toBe('refs/remotes/origin/main');

    const manager = await WorktreeManager.open({ repoPath: repo.path });
    expect(manager.baseBranch).toBe('main');
    const info = await manager.createWorktree(1);
    expect(info.baseBranch).toBe('main');
    expect(info.baseCommit).toBe(mainTip);
    expect(git(info.path, 'rev-parse', 'HEAD')).toBe(mainTip);
    expect(existsSync(join(info.path, 'dev.txt'))).toBe(false);
    // The user's checkout stayed on dev.
    expect(repo.git('symbolic-ref', 'HEAD')).toBe('refs/heads/dev');
  });

  it("follows origin/HEAD to the remote's default even when a local main exists", async () => {
    const repo = createTempRepo({ withRemote: true });
    repo.git('checkout', '-q', '-b', 'trunk');
    const trunkTip = repo.commit({ 'trunk.txt': 'trunk\n' }, 'trunk work');
    repo.git('push', '-q', 'origin', 'trunk');
    repo.git('remote', 'set-head', 'origin', 'trunk');
    repo.git('checkout', '-q', '-b', 'dev');
    repo.commit({ 'dev.txt': 'dev\n' }, 'dev work');
    repo.git('branch', '-q', '-D', 'trunk');

    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const info = await manager.createWorktree(2);
    expect(info.baseBranch).toBe('trunk');
    expect(git(info.path, 'rev-parse', 'HEAD')).toBe(trunkTip);
    expect(readFileSync(join(info.path, 'trunk.txt'), 'utf8')).toBe('trunk\n');
    expect(existsSync(join(info.path, 'dev.txt'))).toBe(false);
  });

  it('without origin or main, uses master before the current branch', async () => {
    const repo = createTempRepo({ branch: 'master' });
    const masterTip = repo.git('rev-parse', 'master');
    repo.git('checkout', '-q', '-b', 'topic');
    const topicTip = repo.commit({ 'topic.txt': 'topic\n' }, 'topic work');
    expect(topicTip).not.toBe(masterTip);
    expect(repo.git('remote')).toBe('');

    const manager = await WorktreeManager.open({ repoPath: repo.path });
    expect(manager.baseBranch).toBe('master');
    const info = await manager.createWorktree(3);
    expect(info.baseBranch).toBe('master');
    expect(git(info.path, 'rev-parse', 'HEAD')).toBe(masterTip);
    expect(existsSync(join(info.path, 'topic.txt'))).toBe(false);
  });
});

describe('listWorktrees order', () => {
  it('lists oldest first, not by issue number or id', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path, maxConcurrency: 5 });
    const ten = await manager.createWorktree(10);
    const two = await manager.createWorktree(2);
    const one = await manager.createWorktree(1);
    const expected = [ten.id, two.id, one.id];
    expect((await manager.listWorktrees()).map((w) => w.id)).toEqual(expected);
    expect((await manager.listWorktrees()).map((w) => w.issueNumber)).toEqual([10, 2, 1]);
    // A fresh manager reads the same order from the shared registry.
    const other = await WorktreeManager.open({ repoPath: repo.path });
    expect((await other.listWorktrees()).map((w) => w.id)).toEqual(expected);
  });
});

describe('manager events', () => {
  it('once fires for one event only, and off stops a listener', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const onceSeen: WorktreeEvent[] = [];
    const offSeen: WorktreeEvent[] = [];
    const allSeen: WorktreeEvent[] = [];
    const offListener = (e: WorktreeEvent) => {
      offSeen.push(e);
    };
    manager.once('event', (e) => {
      onceSeen.push(e);
    });
    manager.on('event', offListener);
    manager.on('event', (e) => {
      allSeen.push(e);
    });

    const info = await manager.createWorktree(1);
    expect(allSeen.map((e) => e.type)).toEqual(['create-start', 'create-complete']);
    expect(onceSeen).toHaveLength(1);
    expect(onceSeen[0]).toMatchObject({ type: 'create-start', worktreeId: info.id });
    expect(offSeen.map((e) => e.type)).toEqual(['create-start', 'create-complete']);

    manager.off('event', offListener);
    await manager.removeWorktree(info.id);
    expect(allSeen.map((e) => e.type)).toEqual([
      'create-start',
      'create-complete',
      'cleanup-start',
      'cleanup-complete',
    ]);
    expect(allSeen.slice(2).every((e) => e.worktreeId === info.id)).toBe(true);
    expect(onceSeen).toHaveLength(1);
    expect(offSeen).toHaveLength(2);
  });
});

describe('pushWorktree to another remote', () => {
  it("pushes to the named remote, not origin, at the worktree's HEAD", async () => {
    const repo = createTempRepo({ withRemote: true });
    const second = join(tempDir(), 'second.git');
    git(repo.path, 'init', '-q', '--bare', '-b', 'main', second);
    repo.git('remote', 'add', 'second', second);
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const w = await manager.createWorktree(4);
    commitIn(w.path, { 'one.txt': '1\n' });
    const tip = commitIn(w.path, { 'two.txt': '2\n' });

    const result = await manager.pushWorktree(w.id, { remote: 'second' });
    expect(result).toMatchObject({
      remote: 'second',
      branchName: 'feature/issue-4',
      commit: tip,
      upstream: 'refs/remotes/second/feature/issue-4',
    });
    expect(git(second, 'rev-parse', 'refs/heads/feature/issue-4')).toBe(tip);
    expect(git(second, 'for-each-ref', '--format=%(refname)', 'refs/heads/')).toBe(
      'refs/heads/feature/issue-4',
    );
    // origin did not get it.
    expect(git(repo.remote ?? '', 'for-each-ref', '--format=%(refname)', 'refs/heads/')).toBe(
      'refs/heads/main',
    );
    expect(git(w.path, 'rev-parse', '--abbrev-ref', '@{upstream}')).toBe('second/feature/issue-4');
  });
});

describe('mergeWorktree into another branch', () => {
  it("moves a branch checked out nowhere, leaving the user's checkout exactly as it was", async () => {
    const repo = createTempRepo({ files: { 'a.txt': 'a\n', 'notes.txt': 'notes\n' } });
    repo.git('branch', 'release');
    const releaseBefore = commitOnBranch(repo.path, 'release', 'release.txt', 'release only\n');
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const w = await manager.createWorktree(1);
    const feature = commitIn(w.path, { 'feature.txt': 'feature\n' });
    writeFileSync(join(repo.path, 'notes.txt'), 'edited, not committed\n');
    writeFileSync(join(repo.path, 'scratch.txt'), 'untracked\n');
    const before = checkoutSnapshot(repo.path, ['a.txt', 'notes.txt', 'scratch.txt']);

    const result = await manager.mergeWorktree(w.id, { into: 'release' });
    expect(result).toMatchObject({
      status: 'merged',
      into: 'release',
      previousCommit: releaseBefore,
      updatedCheckout: null,
      changedFiles: 1,
    });
    expect(repo.git('rev-parse', 'release')).toBe(result.commit);
    const parents = repo.git('rev-list', '--parents', '-1', 'release').split(' ').slice(1);
    expect(parents).toEqual([releaseBefore, feature]);
    expect(repo.git('show', 'release:feature.txt')).toBe('feature');
    expect(repo.git('show', 'release:release.txt')).toBe('release only');
    // The user's checkout: same branch, same HEAD, same files, same status.
    expect(checkoutSnapshot(repo.path, ['a.txt', 'notes.txt', 'scratch.txt'])).toEqual(before);
    expect(before.branch).toBe('refs/heads/main');
    expect(existsSync(join(repo.path, 'feature.txt'))).toBe(false);
    expect(existsSync(join(repo.path, '.git', 'MERGE_HEAD'))).toBe(false);
  });

  it('fast-forwards a clean linked worktree (not the main checkout) that has the target checked out', async () => {
    const repo = createTempRepo({ files: { 'a.txt': 'a\n' } });
    const linked = join(repo.path, '..', 'release-checkout');
    repo.git('worktree', 'add', '-q', linked, '-b', 'release');
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const w = await manager.createWorktree(1);
    const feature = commitIn(w.path, { 'feature.txt': 'feature\n' });
    const mainBefore = checkoutSnapshot(repo.path, ['a.txt']);

    const result = await manager.mergeWorktree(w.id, { into: 'release' });
    expect(result).toMatchObject({
      status: 'fast-forwarded',
      into: 'release',
      commit: feature,
      updatedCheckout: linked,
    });
    expect(repo.git('rev-parse', 'release')).toBe(feature);
    expect(git(linked, 'symbolic-ref', 'HEAD')).toBe('refs/heads/release');
    expect(git(linked, 'rev-parse', 'HEAD')).toBe(feature);
    expect(readFileSync(join(linked, 'feature.txt'), 'utf8')).toBe('feature\n');
    expect(git(linked, 'status', '--porcelain=v1', '--untracked-files=all')).toBe('');
    // The main checkout was not involved.
    expect(checkoutSnapshot(repo.path, ['a.txt'])).toEqual(mainBefore);
    expect(repo.git('rev-parse', 'main')).toBe(mainBefore.head);
  });
});

describe('mergeWorktree ff-only', () => {
  it('fast-forwards the unmoved target to the worktree HEAD without a merge commit', async () => {
    const repo = createTempRepo();
    const start = repo.git('rev-parse', 'main');
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const w = await manager.createWorktree(6);
    const first = commitIn(w.path, { 'one.txt': '1\n' });
    const tip = commitIn(w.path, { 'two.txt': '2\n' });

    const result = await manager.mergeWorktree(w.id, { strategy: 'ff-only' });
    expect(result).toMatchObject({
      status: 'fast-forwarded',
      strategy: 'ff-only',
      into: 'main',
      commit: tip,
      previousCommit: start,
      updatedCheckout: repo.path,
      changedFiles: 2,
    });
    expect(repo.git('rev-parse', 'main')).toBe(git(w.path, 'rev-parse', 'HEAD'));
    expect(repo.git('rev-list', 'main').split('\n')).toEqual([tip, first, start]);
    expect(repo.git('rev-list', '--merges', 'main')).toBe('');
    expect(readFileSync(join(repo.path, 'two.txt'), 'utf8')).toBe('2\n');
    expect(repo.git('status', '--porcelain')).toBe('');
  });
});

describe('WorktreeManager.discover without cwd', () => {
  it('uses process.cwd(), resolving worktreeDir against the main worktree root', async () => {
    const repo = createTempRepo({ files: { 'pkg/sub/file.txt': 'x\n' } });
    const original = process.cwd();
    let plain: WorktreeManager;
    let custom: WorktreeManager;
    try {
      process.chdir(join(repo.path, 'pkg', 'sub'));
      plain = await WorktreeManager.discover();
      custom = await WorktreeManager.discover({ worktreeDir: 'wt' });
    } finally {
      process.chdir(original);
    }
    expect(process.cwd()).toBe(original);
    expect(plain.repoPath).toBe(repo.path);
    expect(plain.worktreeDir).toBe(`${repo.path}.worktrees`);
    expect(custom.repoPath).toBe(repo.path);
    expect(custom.worktreeDir).toBe(join(repo.path, 'wt'));
    const info = await custom.createWorktree(7);
    expect(info.path).toBe(join(repo.path, 'wt', info.id));
    expect(existsSync(join(repo.path, 'pkg', 'sub', 'wt'))).toBe(false);
  });
});

describe('WorktreePool.create options and defaults', () => {
  it('honours cwd and worktreeDir', async () => {
    const repo = createTempRepo({ files: { 'deep/dir/x.txt': 'x\n' } });
    const pool = await WorktreePool.create({ cwd: join(repo.path, 'deep', 'dir'), worktreeDir: 'agents' });
    expect(pool.manager.repoPath).toBe(repo.path);
    expect(pool.manager.worktreeDir).toBe(join(repo.path, 'agents'));
    const seen: string[] = [];
    const result = await pool.executeParallel([{ issueNumber: 8 }], async (worktree) => {
      seen.push(worktree.path);
      return existsSync(join(worktree.path, 'deep', 'dir', 'x.txt'));
    });
    expect(result.results[0]).toMatchObject({ status: 'success', output: true });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.startsWith(`${join(repo.path, 'agents')}/issue-8-`)).toBe(true);
    expect(existsSync(join(repo.path, 'deep', 'dir', 'agents'))).toBe(false);
    expect(existsSync(join(repo.path, '.worktrees'))).toBe(false);
  });

  it('defaults to maxConcurrency 3 and timeoutMs 1_800_000', async () => {
    const repo = createTempRepo();
    const pool = await WorktreePool.create({ repoPath: repo.path });
    expect(pool.config).toMatchObject({
      maxConcurrency: 3,
      timeoutMs: 1_800_000,
      failFast: false,
      autoCleanup: true,
    });
    expect(pool.stats()).toMatchObject({
      maxConcurrency: 3,
      activeTasks: 0,
      queuedTasks: 0,
      availableSlots: 3,
    });
    expect(new WorktreePool(pool.manager).config).toMatchObject({ maxConcurrency: 3, timeoutMs: 1_800_000 });
  });

  it('runs exactly 3 tasks at once by default', async () => {
    const repo = createTempRepo();
    const pool = await WorktreePool.create({ repoPath: repo.path });
    let running = 0;
    let maxRunning = 0;
    let timeouts: number[] = [];
    // The first three wait for each other (a fourth would not get in while they wait).
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    const result = await pool.executeParallel(
      [1, 2, 3, 4, 5, 6].map((issueNumber) => ({ issueNumber })),
      async (_w, _t, ctx) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        if (running >= 3) openGate();
        timeouts = [...timeouts, ctx.timeoutMs];
        await Promise.race([gate, sleep(20_000)]);
        await sleep(30);
        running--;
      },
    );
    expect(result.successCount).toBe(6);
    expect(maxRunning).toBe(3);
    expect(timeouts).toEqual(Array(6).fill(1_800_000));
  });
});

describe('WorktreePool executors', () => {
  it('executeSimple passes (worktreePath, issueNumber, ctx) while the worktree exists', async () => {
    const repo = createTempRepo();
    const pool = await WorktreePool.create({ repoPath: repo.path });
    const calls: {
      path: string;
      issue: number;
      existed: boolean;
      branch: string;
      ctx: TaskContext;
      aborted: boolean;
    }[] = [];
    const result = await pool.executeSimple([21, 22], async (worktreePath, issueNumber, ctx) => {
      calls.push({
        path: worktreePath,
        issue: issueNumber,
        existed: existsSync(join(worktreePath, 'README.md')),
        branch: git(worktreePath, 'symbolic-ref', '--short', 'HEAD'),
        ctx,
        aborted: ctx.signal.aborted,
      });
      return `${issueNumber}@${worktreePath}`;
    });
    expect(calls.map((c) => c.issue).sort()).toEqual([21, 22]);
    for (const call of calls) {
      expect(call.existed).toBe(true);
      expect(call.branch).toBe(`feature/issue-${call.issue}`);
      expect(call.ctx.signal).toBeInstanceOf(AbortSignal);
      expect(call.aborted).toBe(false);
      expect(call.ctx.worktree.path).toBe(call.path);
      expect(call.path.startsWith(`${repo.path}.worktrees/issue-${call.issue}-`)).toBe(true);
      // autoCleanup removed it after the call.
      expect(existsSync(call.path)).toBe(false);
    }
    const byIssue = new Map(calls.map((c) => [c.issue, c.path]));
    expect(result.results.map((r) => r.output)).toEqual([`21@${byIssue.get(21)}`, `22@${byIssue.get(22)}`]);
    expect(result.results.map((r) => r.worktreePath)).toEqual([byIssue.get(21), byIssue.get(22)]);
  });

  it('hands description and metadata to the executor unchanged; the result is plain data', async () => {
    const repo = createTempRepo();
    const pool = await WorktreePool.create({ repoPath: repo.path, maxConcurrency: 2 });
    const tasks: WorktreeTask[] = [
      {
        issueNumber: 31,
        description: 'Fix the parser — 日本語 too',
        agentType: 'coder',
        metadata: { priority: 1, labels: ['bug', 'p1'], nested: { deep: [1, { x: null }] }, flag: false },
      },
      { issueNumber: 32, description: '', metadata: {} },
      { issueNumber: 33 },
    ];
    const pristine = structuredClone(tasks);
    const received = new Map<number, { task: WorktreeTask; ctxTask: WorktreeTask }>();
    const result = await pool.executeParallel(tasks, async (_w, task, ctx) => {
      received.set(task.issueNumber, { task: structuredClone(task), ctxTask: structuredClone(ctx.task) });
      await sleep(20 * (task.issueNumber - 30));
      return { issue: task.issueNumber, description: task.description ?? null };
    });
    for (const original of pristine) {
      const got = received.get(original.issueNumber);
      expect(got?.task).toEqual(original);
      expect(got?.ctxTask).toEqual(original);
    }
    expect(tasks).toEqual(pristine);
    expect(result.results.map((r) => r.output)).toEqual([
      { issue: 31, description: 'Fix the parser — 日本語 too' },
      { issue: 32, description: '' },
      { issue: 33, description: null },
    ]);
    expect(result.successCount).toBe(3);
    for (const r of result.results) {
      expect(r.durationMs).toBeGreaterThan(0);
      expect(result.totalDurationMs).toBeGreaterThanOrEqual(r.durationMs);
    }
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
  });

  it('failFast triggered by a timeout cancels the queued tasks', async () => {
    const repo = createTempRepo();
    const pool = await WorktreePool.create({
      repoPath: repo.path,
      maxConcurrency: 1,
      failFast: true,
      timeoutMs: 400,
      abortGraceMs: 5_000,
    });
    const started: number[] = [];
    const result = await pool.executeParallel(
      [1, 2, 3].map((issueNumber) => ({ issueNumber })),
      async (_w, task, ctx) => {
        started.push(task.issueNumber);
        await untilAborted(ctx.signal);
      },
    );
    expect(started).toEqual([1]);
    expect(result.results.map((r) => r.status)).toEqual(['timeout', 'cancelled', 'cancelled']);
    expect(result.results[0]?.error?.code).toBe('TIMEOUT');
    expect(result.results.slice(1).map((r) => r.error?.code)).toEqual(['CANCELLED', 'CANCELLED']);
    expect(result.results.slice(1).map((r) => r.worktreeId)).toEqual(['', '']);
    expect(result).toMatchObject({
      timeoutCount: 1,
      cancelledCount: 2,
      failedCount: 0,
      successCount: 0,
      allSuccessful: false,
    });
    expect(await pool.manager.listWorktrees()).toEqual([]);
  });
});

describe('package self-reference', () => {
  const builtEntry = join(PACKAGE_ROOT, 'dist', 'index.js');

  beforeAll(() => {
    // `npm test` builds first; build here only when run on its own from a clean checkout.
    if (!existsSync(builtEntry)) {
      execFileSync('npm', ['run', 'build'], { cwd: PACKAGE_ROOT, stdio: 'ignore' });
    }
  }, 180_000);

  it("import('miyabi-worktree') resolves to the built package through exports", async () => {
    const name = 'miyabi-worktree';
    const mod = (await import(name)) as typeof import('../src/index.js');
    expect(typeof mod.WorktreeManager.discover).toBe('function');
    expect(typeof mod.WorktreePool.create).toBe('function');
    expect(typeof mod.runCommand).toBe('function');
    expect(new mod.MiyabiError('NOT_FOUND', 'x')).toBeInstanceOf(Error);

    // And the way a user's Node resolves it, in a plain process.
    const script = `const m = await import('miyabi-worktree');
      const r = await m.runCommand(['node', '-e', 'process.stdout.write("ok")'], { cwd: process.cwd() });
      console.log(JSON.stringify({
        url: import.meta.resolve('miyabi-worktree'),
        names: ['WorktreeManager', 'WorktreePool', 'MiyabiError', 'runCommand'].map((n) => typeof m[n]),
        code: new m.MiyabiError('NOT_FOUND', 'x').code,
        tail: r.tail,
        ok: r.ok,
      }));`;
    const printed = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: PACKAGE_ROOT,
      encoding: 'utf8',
    });
    const parsed = JSON.parse(printed) as {
      url: string;
      names: string[];
      code: string;
      tail: string;
      ok: boolean;
    };
    expect(parsed.url).toBe(pathToFileURL(builtEntry).href);
    expect(parsed.names).toEqual(['function', 'function', 'function', 'function']);
    expect(parsed.code).toBe('NOT_FOUND');
    expect(parsed).toMatchObject({ tail: 'ok', ok: true });
  });
});
