import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WorktreeManager, WorktreePool } from '../src/index.js';
import { json, runCli } from './helpers/cli-process.js';
import { createTempRepo, git } from './helpers/temp-repo.js';

describe('status: age, disk usage, ahead/behind and totals', () => {
  it('measures each worktree and what worktrees, archives and logs take', async () => {
    const repo = createTempRepo();
    const pool = await WorktreePool.create({ repoPath: repo.path, radarIntervalMs: 0, autoCleanup: false });
    // A task whose log holds 64 KiB.
    await pool.executeParallel([{ issueNumber: 1 }], (_w, _t, ctx) =>
      appendFile(ctx.logFile, 'x'.repeat(65_536)),
    );
    const manager = pool.manager;
    const [kept] = await manager.listWorktrees();
    if (!kept) throw new Error('the task kept no worktree');
    // Two commits ahead of main (one of them 256 KiB of incompressible data), main one ahead of it.
    writeFileSync(join(kept.path, 'big.bin'), randomBytes(262_144));
    git(kept.path, 'add', '-A');
    git(kept.path, 'commit', '-q', '-m', 'big');
    git(kept.path, 'commit', '-q', '--allow-empty', '-m', 'second');
    repo.commit({ 'main.txt': 'main moved\n' }, 'main moves on');
    // An archive that alone holds 128 KiB of incompressible work.
    const doomed = await manager.createWorktree(2);
    // Uncommitted: commits would stay on the kept branch, and then no archive is written.
    writeFileSync(join(doomed.path, 'work.bin'), randomBytes(131_072));
    expect((await manager.removeWorktree(doomed.id)).archived).toBeTruthy();

    const { worktrees, totals } = await manager.inspectWorktrees();
    expect(worktrees).toHaveLength(1);
    const [detail] = worktrees;
    expect(detail).toMatchObject({ id: kept.id, ahead: 2, behind: 1 });
    expect(detail?.diskBytes).toBeGreaterThan(262_144);
    expect(detail?.ageMs).toBeGreaterThanOrEqual(0);
    expect(totals.worktreeBytes).toBe(detail?.diskBytes);
    expect(totals.archives).toBe(1);
    expect(totals.archiveBytes).toBeGreaterThan(131_072);
    expect(totals.archiveBytes).toBeLessThan(262_144);
    expect(totals.logBytes).toBeGreaterThan(65_536);

    const status = await runCli(['status', '--json'], { cwd: repo.path });
    expect(json(status)).toMatchObject({
      worktrees: [{ id: kept.id, ahead: 2, behind: 1, diskBytes: expect.any(Number) }],
      totals: { archives: 1 },
    });
    const text = await runCli(['status'], { cwd: repo.path });
    expect(text.stdout).toMatch(/^Disk: +worktrees \d.* · archives ~\d.* \(1\) · logs \d/m);
    expect(text.stdout).toMatch(/\+2\/-1/);
  });

  it('measures from the commit a worktree started at when its base branch is gone', async () => {
    const repo = createTempRepo();
    repo.git('branch', 'topic');
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const worktree = await manager.createWorktree(1, { baseBranch: 'topic' });
    git(worktree.path, 'commit', '-q', '--allow-empty', '-m', 'one');
    git(worktree.path, 'commit', '-q', '--allow-empty', '-m', 'two');
    repo.git('branch', '-D', 'topic');
    const { worktrees } = await manager.inspectWorktrees();
    expect(worktrees).toMatchObject([{ id: worktree.id, ahead: 2, behind: 0 }]);
  });

  it('lists no worktree and zero totals in a fresh repository', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    expect(await manager.inspectWorktrees()).toEqual({
      worktrees: [],
      totals: { worktreeBytes: 0, archives: 0, archiveBytes: 0, logBytes: 0 },
    });
  });
});
