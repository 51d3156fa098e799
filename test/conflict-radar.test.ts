import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type OverlapEvent, type WorktreeEvent, WorktreeManager, WorktreePool } from '../src/index.js';
import { ConflictRadar, type RadarTask } from '../src/radar/conflict-radar.js';
import { createTempRepo, GIT_TEST_ENV, git, tempDir } from './helpers/temp-repo.js';

const APP = 'lib/application.js';
const APP_TEXT = 'const app = 1;\nmodule.exports = app;\n';

/** Commits `files` in the worktree at `cwd` (as an agent would). */
function commitIn(cwd: string, files: Record<string, string>, message: string): void {
  for (const [name, content] of Object.entries(files)) {
    execFileSync('sh', ['-c', 'mkdir -p "$(dirname "$1")" && printf %s "$2" > "$1"', 'sh', name, content], {
      cwd,
    });
  }
  git(cwd, 'add', '-A');
  git(cwd, 'commit', '-q', '-m', message);
}

/** A promise and its resolver: the tasks' barrier. */
function barrier(): { wait: Promise<void>; open: () => void } {
  let open = () => {};
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

/** Resolves with the first event `match` accepts, or rejects after `timeoutMs` (so a miss fails, never hangs). */
function firstEvent(
  pool: WorktreePool,
  match: (event: WorktreeEvent) => boolean,
  timeoutMs = 15_000,
): Promise<WorktreeEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      pool.manager.off('event', listener);
      reject(new Error('the awaited event never came'));
    }, timeoutMs);
    const listener = (event: WorktreeEvent) => {
      if (!match(event)) return;
      clearTimeout(timer);
      pool.manager.off('event', listener);
      resolve(event);
    };
    pool.manager.on('event', listener);
  });
}

describe('conflict radar in a batch', () => {
  it('reports two tasks editing the same line as a conflicting overlap before either finishes', async () => {
    const repo = createTempRepo({ files: { [APP]: APP_TEXT } });
    const pool = await WorktreePool.create({ repoPath: repo.path, maxConcurrency: 2, radarIntervalMs: 50 });
    const events: WorktreeEvent[] = [];
    pool.manager.on('event', (event) => events.push(event));
    const release = barrier();
    const seen = firstEvent(pool, (event) => event.type === 'overlap').finally(release.open);
    const batch = pool.executeParallel([{ issueNumber: 3 }, { issueNumber: 5 }], async (worktree, task) => {
      commitIn(worktree.path, { [APP]: `const app = ${task.issueNumber};\nmodule.exports = app;\n` }, 'edit');
      await release.wait;
    });
    const overlap = (await seen) as OverlapEvent;
    // Seen while both tasks still wait at the barrier.
    expect(events.filter((event) => event.type === 'task-complete')).toEqual([]);
    const started = events.filter((event) => event.type === 'create-complete').map((e) => e.issueNumber);
    expect(overlap).toMatchObject({
      a: { issue: started[0], branch: `feature/issue-${started[0]}` },
      b: { issue: started[1], branch: `feature/issue-${started[1]}` },
      files: [APP],
      conflict: true,
      conflictPaths: [APP],
      worktreeId: overlap.b.worktreeId,
      batchId: expect.any(String),
    });
    const result = await batch;
    expect(result.allSuccessful).toBe(true);
    // Reported once for the pair, and carried in the result.
    expect(events.filter((event) => event.type === 'overlap')).toHaveLength(1);
    expect(result.overlaps).toEqual([
      { a: overlap.a, b: overlap.b, files: [APP], conflict: true, conflictPaths: [APP] },
    ]);
    // The batch's report adds the figure after its seven lines.
    const report = await pool.manager.telemetryReport({ batchId: result.batchId });
    expect(report.split('\n').slice(7)).toEqual(['- Overlap warnings: 1 (conflicting: 1)']);
  });

  it('reports nothing for tasks editing different files (only the pair that shares one)', async () => {
    const repo = createTempRepo({ files: { [APP]: APP_TEXT, 'docs/a.md': 'a\n' } });
    const pool = await WorktreePool.create({ repoPath: repo.path, maxConcurrency: 3, radarIntervalMs: 50 });
    const overlaps: OverlapEvent[] = [];
    pool.manager.on('overlap', (event) => overlaps.push(event));
    const release = barrier();
    // Issues 1 and 3 share the application file; issue 2 only adds its own file: the radar's
    // report of 1↔3 proves it looked after every commit, so 2's silence is an answer.
    const seen = firstEvent(pool, (event) => event.type === 'overlap').finally(release.open);
    const files: Record<number, Record<string, string>> = {
      1: { [APP]: `${APP_TEXT}// one\n` },
      2: { 'docs/b.md': 'b\n' },
      3: { [APP]: `// three\n${APP_TEXT}` },
    };
    const batch = pool.executeParallel(
      [{ issueNumber: 1 }, { issueNumber: 2 }, { issueNumber: 3 }],
      async (worktree, task) => {
        commitIn(worktree.path, files[task.issueNumber] ?? {}, 'edit');
        await release.wait;
      },
    );
    const first = (await seen) as OverlapEvent;
    const result = await batch;
    expect([first.a.issue, first.b.issue].sort()).toEqual([1, 3]);
    // Different lines of one file: shared, but it merges cleanly.
    expect(first).toMatchObject({ files: [APP], conflict: false, conflictPaths: [] });
    expect(overlaps.filter((event) => event.a.issue === 2 || event.b.issue === 2)).toEqual([]);
    expect(result.overlaps.map((o) => [o.a.issue, o.b.issue].sort())).toEqual([[1, 3]]);
  });

  it("cancels the later-started task of a conflicting pair with onOverlap 'stop-later'", async () => {
    const repo = createTempRepo({ files: { [APP]: APP_TEXT } });
    const pool = await WorktreePool.create({
      repoPath: repo.path,
      maxConcurrency: 2,
      radarIntervalMs: 50,
      onOverlap: 'stop-later',
    });
    const started: number[] = [];
    pool.manager.on('create-complete', (event) => started.push(event.issueNumber ?? 0));
    const release = barrier();
    const overlap = firstEvent(pool, (event) => event.type === 'overlap');
    // The earlier task waits until the later one was cancelled (or 15 s passed: then the test fails).
    const cancelled = firstEvent(
      pool,
      (event) => event.type === 'task-complete' && event.status === 'cancelled',
    ).finally(release.open);
    const result = await pool.executeParallel(
      [{ issueNumber: 3 }, { issueNumber: 5 }],
      async (w, task, ctx) => {
        commitIn(w.path, { [APP]: `const app = ${task.issueNumber};\n` }, 'edit');
        await Promise.race([
          release.wait,
          new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))),
        ]);
      },
    );
    await overlap;
    await cancelled.catch(() => {});
    const [first, later] = started;
    const byIssue = new Map(result.results.map((r) => [r.issueNumber, r]));
    expect(byIssue.get(later ?? 0)).toMatchObject({ status: 'cancelled', stage: 'execute' });
    expect(byIssue.get(later ?? 0)?.error?.message).toMatch(/conflict radar.*lib\/application\.js/);
    expect(byIssue.get(first ?? 0)?.status).toBe('success');
  });

  it('reports a conflict with a task whose edit of the same line is still uncommitted', async () => {
    const repo = createTempRepo({ files: { [APP]: APP_TEXT } });
    const pool = await WorktreePool.create({
      repoPath: repo.path,
      maxConcurrency: 2,
      radarIntervalMs: 50,
      radarStatusIntervalMs: 50,
    });
    const release = barrier();
    const seen = firstEvent(pool, (event) => event.type === 'overlap').finally(release.open);
    const batch = pool.executeParallel([{ issueNumber: 3 }, { issueNumber: 5 }], async (worktree, task) => {
      const edit = `const app = ${task.issueNumber};\nmodule.exports = app;\n`;
      // Issue 3 commits its edit; issue 5 only writes it, as an agent that commits at the end.
      if (task.issueNumber === 3) commitIn(worktree.path, { [APP]: edit }, 'edit');
      else writeFileSync(join(worktree.path, APP), edit);
      await release.wait;
    });
    const overlap = (await seen) as OverlapEvent;
    expect([overlap.a.issue, overlap.b.issue].sort()).toEqual([3, 5]);
    expect(overlap).toMatchObject({ files: [APP], conflict: true, conflictPaths: [APP] });
    const result = await batch;
    expect(result.allSuccessful).toBe(true);
    expect(result.overlaps).toMatchObject([{ files: [APP], conflict: true }]);
  });

  it('rejects a bad onOverlap or radarIntervalMs', async () => {
    const repo = createTempRepo();
    await expect(
      WorktreePool.create({ repoPath: repo.path, onOverlap: 'stop' as never }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/onOverlap/) });
    await expect(WorktreePool.create({ repoPath: repo.path, radarIntervalMs: -1 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/radarIntervalMs/),
    });
    await expect(
      WorktreePool.create({ repoPath: repo.path, radarStatusIntervalMs: -1 }),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/radarStatusIntervalMs/),
    });
    await expect(
      WorktreePool.create({ repoPath: repo.path, radarIntervalMs: 0, onOverlap: 'stop-later' }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('ConflictRadar', () => {
  it('costs one for-each-ref per look when nothing moved, on 64 live branches', async () => {
    const repo = createTempRepo({ files: { 'shared.txt': 'base\n' } });
    const base = repo.git('rev-parse', 'HEAD');
    // 64 branches, each adding its own file, written in one fast-import.
    let stream = '';
    for (let i = 0; i < 64; i++) {
      stream += `commit refs/heads/task-${i}\ncommitter T <t@t> 0 +0000\ndata 1\nx\nfrom ${base}\nM 100644 inline file-${i}.txt\ndata 2\n${i}\n\n`;
    }
    execFileSync('git', ['fast-import', '--quiet'], {
      cwd: repo.path,
      input: stream,
      env: { ...process.env, ...GIT_TEST_ENV },
    });
    const tasks: RadarTask[] = Array.from({ length: 64 }, (_, i) => ({
      ref: { issue: i + 1, worktreeId: `issue-${i + 1}`, branch: `task-${i}` },
      baseCommit: base,
      order: i,
    }));
    const radar = new ConflictRadar(repo.path);
    const first = await radar.scan(tasks);
    expect(first).toMatchObject({ overlaps: [], changed: [], gitCalls: 65 });
    const quiet = await radar.scan(tasks);
    expect(quiet).toMatchObject({ overlaps: [], changed: [], gitCalls: 1 });
    // One branch moves onto another's file: one diff, one merge-tree for its 63 pairs.
    repo.git('checkout', '-q', 'task-10');
    repo.commit({ 'file-20.txt': 'ten\n' }, 'touch 20');
    repo.git('checkout', '-q', 'main');
    const moved = await radar.scan(tasks);
    expect(moved.gitCalls).toBe(3);
    expect(moved.changed).toEqual([
      {
        a: tasks[10]?.ref,
        b: tasks[20]?.ref,
        files: ['file-20.txt'],
        conflict: true,
        conflictPaths: ['file-20.txt'],
      },
    ]);
    expect((await radar.scan(tasks)).gitCalls).toBe(1);
  });

  it('sees uncommitted and untracked work with one git status per worktree per interval, never touching its index', async () => {
    const repo = createTempRepo({ files: { [APP]: APP_TEXT } });
    const base = repo.git('rev-parse', 'HEAD');
    const tasks: RadarTask[] = [1, 2, 3].map((issue) => {
      const path = join(tempDir(), `w${issue}`);
      repo.git('worktree', 'add', '-q', '-b', `task-${issue}`, path, base);
      return {
        ref: { issue, worktreeId: `w${issue}`, branch: `task-${issue}` },
        baseCommit: base,
        order: issue,
        path,
      };
    });
    const [one, two, three] = tasks.map((task) => task.path ?? '');
    const index = join(repo.path, '.git', 'worktrees', 'w2', 'index');
    const indexBefore = { bytes: readFileSync(index), mtimeMs: statSync(index).mtimeMs };
    let now = 0;
    const radar = new ConflictRadar(repo.path, { statusIntervalMs: 10_000, now: () => now });
    // The first look: the for-each-ref and one status per worktree, all clean.
    expect(await radar.scan(tasks)).toMatchObject({ overlaps: [], changed: [], gitCalls: 4 });
    // Task 2 edits the application's line without committing; task 3 adds an untracked file.
    writeFileSync(join(two ?? '', APP), 'const app = 20;\nmodule.exports = app;\n');
    writeFileSync(join(three ?? '', 'notes.txt'), 'three\n');
    // Within the interval: the for-each-ref alone, whatever changed in the folders.
    now += 9_999;
    expect(await radar.scan(tasks)).toMatchObject({ changed: [], gitCalls: 1 });
    // Task 1 commits its edit of the same line.
    commitIn(one ?? '', { [APP]: 'const app = 10;\nmodule.exports = app;\n' }, 'one');
    now += 1;
    const seen = await radar.scan(tasks);
    // for-each-ref, 3 status, 2 stand-in commits (4 each), 3 diffs, 1 merge-tree for the pair sharing a file.
    expect(seen.gitCalls).toBe(1 + 3 + 2 * 4 + 3 + 1);
    expect(seen.changed).toEqual([
      { a: tasks[0]?.ref, b: tasks[1]?.ref, files: [APP], conflict: true, conflictPaths: [APP] },
    ]);
    // The worktrees are as their tasks left them: the edit unstaged, the new file untracked, the index as it was.
    expect(readFileSync(index).equals(indexBefore.bytes)).toBe(true);
    expect(statSync(index).mtimeMs).toBe(indexBefore.mtimeMs);
    expect(git(two ?? '', 'status', '--porcelain')).toBe(`M ${APP}`);
    expect(git(three ?? '', 'status', '--porcelain')).toBe('?? notes.txt');
    // The interval passed again and nothing changed: the status calls, no commit built again.
    now += 10_000;
    expect(await radar.scan(tasks)).toMatchObject({ changed: [], gitCalls: 4 });
    // Task 2 undoes its edit: the overlap goes away at the next status.
    writeFileSync(join(two ?? '', APP), APP_TEXT);
    now += 10_000;
    const gone = await radar.scan(tasks);
    expect(gone).toMatchObject({ overlaps: [], gitCalls: 4 });
    expect(gone.changed).toEqual([
      { a: tasks[0]?.ref, b: tasks[1]?.ref, files: [], conflict: false, conflictPaths: [] },
    ]);
  });

  it('says when an overlap goes away, and finds a file/folder clash no shared path shows', async () => {
    const repo = createTempRepo();
    const base = repo.git('rev-parse', 'HEAD');
    repo.git('checkout', '-q', '-b', 'one');
    repo.commit({ docs: 'a file\n' }, 'docs as a file');
    repo.git('checkout', '-q', '-b', 'two', base);
    repo.commit({ 'docs/a.md': 'a folder\n' }, 'docs as a folder');
    repo.git('checkout', '-q', 'main');
    const task = (issue: number, branch: string): RadarTask => ({
      ref: { issue, worktreeId: `w${issue}`, branch },
      baseCommit: base,
      order: issue,
    });
    const radar = new ConflictRadar(repo.path);
    const clash = await radar.scan([task(2, 'two'), task(1, 'one')]);
    expect(clash.changed).toMatchObject([{ a: { issue: 1 }, b: { issue: 2 }, files: [], conflict: true }]);
    repo.git('branch', '-f', 'two', base);
    const gone = await radar.scan([task(1, 'one'), task(2, 'two')]);
    expect(gone).toMatchObject({
      overlaps: [],
      changed: [{ a: { issue: 1 }, b: { issue: 2 }, files: [], conflict: false, conflictPaths: [] }],
    });
  });
});

describe('WorktreeManager.conflicts', () => {
  it('compares kept worktrees at any time, the older one as a', async () => {
    const repo = createTempRepo({ files: { [APP]: APP_TEXT } });
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const older = await manager.createWorktree(7);
    const newer = await manager.createWorktree(8);
    expect(await manager.conflicts()).toEqual([]);
    commitIn(newer.path, { [APP]: 'eight\n' }, 'eight');
    commitIn(older.path, { [APP]: 'seven\n' }, 'seven');
    expect(await manager.conflicts()).toEqual([
      {
        a: { issue: 7, worktreeId: older.id, branch: older.branchName },
        b: { issue: 8, worktreeId: newer.id, branch: newer.branchName },
        files: [APP],
        conflict: true,
        conflictPaths: [APP],
      },
    ]);
  });
});
