import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type MiyabiError, type TaskResult, WorktreeManager, WorktreePool } from '../src/index.js';
import { CLI, json, runCli } from './helpers/cli-process.js';
import { createTempRepo, git, type TempRepo } from './helpers/temp-repo.js';

/** A repository whose `node_modules/` and `build/` are ignored, and a branch `other` one commit ahead. */
function repoWithIgnores(): { repo: TempRepo; mainCommit: string; otherCommit: string } {
  const repo = createTempRepo({
    files: { 'README.md': '# r\n', '.gitignore': 'node_modules/\nbuild/\n', 'src/a.txt': 'a\n' },
  });
  const mainCommit = repo.git('rev-parse', 'HEAD');
  repo.git('checkout', '-q', '-b', 'other');
  const otherCommit = repo.commit({ 'other.txt': 'only on other\n' }, 'other');
  repo.git('checkout', '-q', 'main');
  return { repo, mainCommit, otherCommit };
}

/** Every path `git status` shows in `cwd`, ignored ones included (`!! node_modules/`). */
function statusWithIgnored(cwd: string): string[] {
  return git(cwd, 'status', '--porcelain', '--ignored', '--untracked-files=all').split('\n').filter(Boolean);
}

function successful(results: readonly TaskResult[]): void {
  for (const result of results)
    expect(result, JSON.stringify(result.error)).toMatchObject({ status: 'success' });
}

describe('reusable worktrees', () => {
  it('gives the next task a worktree indistinguishable from a fresh one: own branch at its own base, only keepPaths kept, the previous work archived', async () => {
    const { repo, otherCommit } = repoWithIgnores();
    const pool = await WorktreePool.create({ repoPath: repo.path, maxConcurrency: 1, reuse: true });
    const seen: {
      path: string;
      status: string[];
      head: string;
      branch: string;
      env: Record<string, string>;
    }[] = [];
    const result = await pool.executeParallel(
      [{ issueNumber: 1 }, { issueNumber: 2, baseBranch: 'other' }],
      async (worktree, task, ctx) => {
        const p = worktree.path;
        seen.push({
          path: p,
          status: statusWithIgnored(p),
          head: git(p, 'rev-parse', 'HEAD'),
          branch: git(p, 'symbolic-ref', '--short', 'HEAD'),
          env: { ...ctx.env },
        });
        if (task.issueNumber !== 1) return;
        // The first task leaves everything a task can leave behind.
        writeFileSync(join(p, 'committed.txt'), 'c\n');
        git(p, 'add', 'committed.txt');
        git(p, 'commit', '-q', '-m', 'task 1 work');
        writeFileSync(join(p, 'notes.txt'), 'uncommitted\n');
        writeFileSync(join(p, 'src', 'a.txt'), 'changed\n');
        mkdirSync(join(p, 'build'), { recursive: true });
        writeFileSync(join(p, 'build', 'out.o'), 'ignored output\n');
        mkdirSync(join(p, 'node_modules', 'pkg'), { recursive: true });
        writeFileSync(join(p, 'node_modules', 'pkg', 'index.js'), 'module.exports = 1;\n');
      },
    );
    successful(result.results);
    const [first, second] = result.results;
    const [saw1, saw2] = seen;
    // Same folder, never moved, named for no issue.
    expect(saw2?.path).toBe(saw1?.path);
    expect(basename(saw2?.path ?? '')).toMatch(/^slot-[0-9a-f]{8}$/);
    expect(first).toMatchObject({ keptIdle: true, reusedWorktree: false, cleanedUp: true });
    expect(second).toMatchObject({ reusedWorktree: true, keptIdle: true });
    // Own branch, at its own base (not the previous task's), nothing but the kept dependencies.
    expect(saw2?.branch).toBe('feature/issue-2');
    expect(saw2?.head).toBe(otherCommit);
    expect(saw2?.status).toEqual(['!! node_modules/pkg/index.js']);
    expect(readFileSync(join(saw2?.path ?? '', 'src', 'a.txt'), 'utf8')).toBe('a\n');
    expect(saw1?.status).toEqual([]);
    // The environment names this task, like a fresh worktree's.
    expect(saw2?.env).toMatchObject({
      MIYABI_ISSUE_NUMBER: '2',
      MIYABI_BRANCH: 'feature/issue-2',
      MIYABI_WORKTREE_PATH: saw2?.path,
      MIYABI_WORKTREE_ID: second?.worktreeId,
    });
    expect(second?.worktreeId).toMatch(/^issue-2-[0-9a-f]{8}$/);
    // The first task's work: uncommitted files archived, its unmerged commit keeps its branch.
    expect(first?.archiveRef).toBe(`refs/miyabi/archive/${first?.worktreeId}`);
    expect(first?.unmergedWork?.paths).toEqual(['notes.txt', 'src/a.txt']);
    expect(repo.git('show', `${first?.archiveRef}:notes.txt`)).toBe('uncommitted');
    expect(repo.git('log', '-1', '--format=%s', 'feature/issue-1')).toBe('task 1 work');
    // Task 2 committed nothing: its branch is gone, as a removal would delete it.
    expect(repo.git('branch', '--list', 'feature/issue-2')).toBe('');
  });

  it('keeps idle worktrees across processes (list shows them), reuses them from a new manager, and cleanupAll reclaims them', async () => {
    const { repo } = repoWithIgnores();
    const pool = await WorktreePool.create({ repoPath: repo.path, maxConcurrency: 2, reuse: true });
    const paths: string[] = [];
    await pool.executeParallel([{ issueNumber: 1 }], async (worktree) => {
      paths.push(worktree.path);
    });
    // Another process sees the idle worktree.
    const listed = JSON.parse(
      execFileSync(process.execPath, [CLI, 'list', '--json'], { cwd: repo.path, encoding: 'utf8' }),
    );
    const rows = Array.isArray(listed) ? listed : listed.worktrees;
    expect(rows).toEqual([
      expect.objectContaining({ status: 'idle', issueNumber: 0, branchName: '', path: paths[0] }),
    ]);
    expect(git(paths[0] ?? '', 'status', '--porcelain', '--branch')).toMatch(/^## HEAD \(no branch\)$/);
    // A new manager (as a new process would) takes it for its task.
    const again = await WorktreePool.create({ repoPath: repo.path, reuse: true });
    const result = await again.executeParallel([{ issueNumber: 3 }], async (worktree) => {
      paths.push(worktree.path);
    });
    successful(result.results);
    expect(paths[1]).toBe(paths[0]);
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    expect((await manager.listWorktrees()).map((w) => w.status)).toEqual(['idle']);
    const report = await manager.cleanupAll();
    expect(report.removed.map((r) => r.path)).toEqual([paths[0]]);
    expect(existsSync(paths[0] ?? '')).toBe(false);
    expect(await manager.listWorktrees()).toEqual([]);
    expect(repo.git('worktree', 'list', '--porcelain').match(/^worktree /gm)).toHaveLength(1);
  });

  it('caps idle worktrees at maxIdle: the others are removed', async () => {
    const { repo } = repoWithIgnores();
    const pool = await WorktreePool.create({
      repoPath: repo.path,
      maxConcurrency: 3,
      reuse: true,
      maxIdle: 1,
    });
    // All three run at once, so three reusable worktrees exist when they end.
    let arrived = 0;
    let release: () => void = () => {};
    const allThere = new Promise<void>((resolve) => {
      release = resolve;
    });
    const result = await pool.executeParallel(
      [{ issueNumber: 1 }, { issueNumber: 2 }, { issueNumber: 3 }],
      async () => {
        if (++arrived === 3) release();
        await allThere;
      },
    );
    successful(result.results);
    expect(result.results.filter((r) => r.keptIdle).length).toBe(1);
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const left = await manager.listWorktrees();
    expect(left.map((w) => w.status)).toEqual(['idle']);
    for (const r of result.results) {
      if (!r.keptIdle) expect(existsSync(r.worktreePath ?? '')).toBe(false);
    }
  });

  it('warms idle worktrees up front, and archives and drops an idle one changed by hand instead of reusing it', async () => {
    const { repo } = repoWithIgnores();
    const pool = await WorktreePool.create({ repoPath: repo.path, maxConcurrency: 2, reuse: true });
    const warmed = await pool.warm(2);
    expect(warmed.map((w) => w.status)).toEqual(['idle', 'idle']);
    expect(await pool.warm(2)).toEqual([]);
    const [tampered, clean] = warmed;
    writeFileSync(join(tampered?.path ?? '', 'README.md'), 'edited while idle\n');
    const used: string[] = [];
    const result = await pool.executeParallel([{ issueNumber: 1 }, { issueNumber: 2 }], async (worktree) => {
      used.push(worktree.path);
    });
    successful(result.results);
    expect(used).toContain(clean?.path);
    expect(used).not.toContain(tampered?.path);
    expect(existsSync(tampered?.path ?? '')).toBe(false);
    expect(repo.git('show', `refs/miyabi/archive/${tampered?.id}:README.md`)).toBe('edited while idle');
  });

  it('refuses keepPaths that git tracks or that leave the repository, before any task starts', async () => {
    const { repo } = repoWithIgnores();
    const tracked = await WorktreePool.create({ repoPath: repo.path, reuse: true, keepPaths: ['src'] });
    await expect(tracked.executeParallel([{ issueNumber: 1 }], async () => {})).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: 'keepPaths: src is tracked by git',
    });
    expect(existsSync(join(repo.path, '.worktrees'))).toBe(false);
    await expect(
      WorktreePool.create({ repoPath: repo.path, reuse: true, keepPaths: ['../x'] }),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('leaves the repository'),
    });
    await expect(
      WorktreePool.create({ repoPath: repo.path, reuse: true, autoCleanup: false }),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('reuse needs autoCleanup'),
    });
  });
});

describe('run --reuse', () => {
  it('warms idle worktrees, runs every task in one, keeps the --keep-path folders and leaves them idle; --keep-path needs --reuse', async () => {
    const { repo } = repoWithIgnores();
    const script = [
      "const fs = require('fs');",
      "fs.mkdirSync('node_modules', { recursive: true });",
      "fs.appendFileSync('node_modules/seen.txt', process.env.MIYABI_ISSUE_NUMBER + '\\n');",
      "fs.writeFileSync('build.log', 'x');",
    ].join(' ');
    const result = await runCli(
      [
        'run',
        '--issues',
        '1-3',
        '--concurrency',
        '1',
        '--reuse',
        '--warm',
        '1',
        '--keep-path',
        'node_modules',
        '--json',
        '--',
        process.execPath,
        '-e',
        script,
      ],
      { cwd: repo.path },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('Warmed 1 idle worktree');
    const batch = json<{ results: TaskResult[] }>(result);
    expect(batch.results.map((r) => [r.reusedWorktree, r.keptIdle])).toEqual([
      [true, true],
      [true, true],
      [true, true],
    ]);
    const paths = new Set(batch.results.map((r) => r.worktreePath));
    expect(paths.size).toBe(1);
    const [path] = [...paths];
    // One folder served all three tasks; its kept folder saw each of them, nothing else stayed.
    expect(readFileSync(join(path ?? '', 'node_modules', 'seen.txt'), 'utf8')).toBe('1\n2\n3\n');
    expect(existsSync(join(path ?? '', 'build.log'))).toBe(false);
    const refused = await runCli(['run', '--issues', '1', '--keep-path', 'x', '--', 'true'], {
      cwd: repo.path,
    });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--keep-path only applies with --reuse');
  });
});

describe('a reset killed midway', () => {
  it('leaves a worktree that cleanup reclaims, with nothing lost', async () => {
    const { repo } = repoWithIgnores();
    // Many files that differ between the bases, so the reset to `other` takes a while.
    repo.git('checkout', '-q', 'other');
    const files: Record<string, string> = {};
    for (let i = 0; i < 3000; i++) files[`many/f${i}.txt`] = `${i}\n`;
    const otherTip = repo.commit(files, 'many files');
    repo.git('checkout', '-q', 'main');
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const [idle] = await manager.warmWorktrees(1);
    const entry = join(import.meta.dirname, '..', 'dist', 'index.js');
    const script = `import { WorktreeManager } from ${JSON.stringify(entry)};
      const m = await WorktreeManager.open({ repoPath: ${JSON.stringify(repo.path)} });
      await m.createWorktree(7, { reuse: true, baseBranch: 'other' });
      setInterval(() => {}, 1000);`;
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
    // Observable state: the registry names the task's claim (it is written before the reset starts).
    const registryFile = join(repo.path, '.git', 'miyabi', 'registry.json');
    for (;;) {
      const text = existsSync(registryFile) ? readFileSync(registryFile, 'utf8') : '';
      if (text.includes('"issueNumber": 7')) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const report = await manager.cleanupAll();
    expect(report.removed.map((r) => r.path)).toEqual([idle?.path]);
    expect(existsSync(idle?.path ?? '')).toBe(false);
    expect(await manager.listWorktrees()).toEqual([]);
    expect(repo.git('worktree', 'list', '--porcelain').match(/^worktree /gm)).toHaveLength(1);
    // The base it was being reset to is intact; the task branch, holding nothing, is gone or at the base.
    expect(repo.git('rev-parse', 'other')).toBe(otherTip);
    const branch = repo.git('branch', '--list', 'feature/issue-7');
    if (branch !== '') expect(repo.git('rev-parse', 'feature/issue-7')).toBe(otherTip);
  });
});

describe('a reusable worktree without a registry record', () => {
  it('is adopted by cleanup like any of ours: what changed in it is archived, then it goes', async () => {
    const { repo } = repoWithIgnores();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const [idle] = await manager.warmWorktrees(1);
    const path = idle?.path ?? '';
    writeFileSync(join(path, 'src', 'a.txt'), 'changed while idle\n');
    // The registry lost (deleted by hand, or a disk fault): the folder is known only by its name and lock.
    execFileSync('rm', [join(repo.path, '.git', 'miyabi', 'registry.json')]);
    const report = await manager.cleanupAll();
    expect(report.removed.map((r) => [r.path, r.archived?.uncommittedPaths])).toEqual([
      [path, ['src/a.txt']],
    ]);
    expect(existsSync(path)).toBe(false);
    expect(repo.git('worktree', 'list', '--porcelain').match(/^worktree /gm)).toHaveLength(1);
    const slot = basename(path);
    expect((await manager.restoreWorktree(slot).catch((e: MiyabiError) => e)) as MiyabiError).toMatchObject({
      code: 'INVALID_ARGUMENT',
      hint: expect.stringContaining('issueNumber'),
    });
    const back = await manager.restoreWorktree(slot, { issueNumber: 9 });
    expect([back.issueNumber, back.branchName]).toEqual([9, `restored/${slot}`]);
    expect(readFileSync(join(back.path, 'src', 'a.txt'), 'utf8')).toBe('changed while idle\n');
  });
});
