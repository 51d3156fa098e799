import { stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import type { WorktreeInfo } from '../core/types.js';
import { archiveDiskUsage, distanceFromBase } from '../inventory/branch-distance.js';
import { diskUsage } from '../inventory/disk-usage.js';
import { readTaskLogs } from '../state/task-log-records.js';
import { listArchives } from './archives.js';
import type { ManagerContext } from './context.js';
import { withLastTasks } from './last-task.js';
import { listWorktrees } from './list-worktrees.js';

/** A live worktree with what `status` shows about it. Plain JSON data. */
export interface WorktreeDetail extends WorktreeInfo {
  /** Milliseconds since it was created. */
  readonly ageMs: number;
  /** Bytes its folder takes on disk (allocated blocks; hard links once). */
  readonly diskBytes: number;
  /**
   * Commits on its branch not in its base branch (or, when that branch is gone, not in the commit it
   * started at); null when its own branch is missing (or it is idle).
   */
  readonly ahead: number | null;
  /** Commits on its base branch not on its branch; null likewise. */
  readonly behind: number | null;
}

/** What this tool's worktrees, archives and logs take. Bytes. */
export interface StorageTotals {
  /** All live worktrees' folders together. */
  readonly worktreeBytes: number;
  readonly archives: number;
  /** Estimate: objects only archives reach, as git stores them. */
  readonly archiveBytes: number;
  /** Task logs (the default log folder, and log files of batches run with another `logDir`). */
  readonly logBytes: number;
}

export interface WorktreeInventory {
  /** Oldest first, like `listWorktrees`. */
  readonly worktrees: readonly WorktreeDetail[];
  readonly totals: StorageTotals;
}

/** Worktrees measured at once (each one `git rev-list` and a folder walk). */
const CONCURRENCY = 4;

/**
 * Every live worktree with its age, disk usage and distance from its base branch, and the totals:
 * worktrees, archives (an estimate) and logs. Costs a folder walk and one `git rev-list` per
 * worktree: `listWorktrees` stays the cheap call.
 */
export async function inspectWorktrees(
  ctx: ManagerContext,
  options: { signal?: AbortSignal; now?: number } = {},
): Promise<WorktreeInventory> {
  const { signal } = options;
  const [worktrees, archives, archiveBytes, logBytes] = await Promise.all([
    listWorktrees(ctx, signal).then((live) => withLastTasks(ctx.repo.stateDir, live)),
    listArchives(ctx.repo.root, signal),
    archiveDiskUsage(ctx.repo.root, signal),
    logUsage(ctx.repo.stateDir),
  ]);
  const now = options.now ?? Date.now();
  const seen = new Set<string>();
  const details: WorktreeDetail[] = [];
  for (let at = 0; at < worktrees.length; at += CONCURRENCY) {
    details.push(
      ...(await Promise.all(
        worktrees.slice(at, at + CONCURRENCY).map(async (worktree) => {
          const [bytes, distance] = await Promise.all([
            diskUsage(worktree.path, seen),
            worktree.branchName === '' || worktree.status === 'idle'
              ? undefined
              : distanceFromBase(ctx.repo.root, worktree, signal),
          ]);
          return {
            ...worktree,
            ageMs: Math.max(0, now - Date.parse(worktree.createdAt)),
            diskBytes: bytes,
            ahead: distance?.ahead ?? null,
            behind: distance?.behind ?? null,
          };
        }),
      )),
    );
  }
  return {
    worktrees: details,
    totals: {
      worktreeBytes: details.reduce((sum, detail) => sum + detail.diskBytes, 0),
      archives: archives.length,
      archiveBytes,
      logBytes,
    },
  };
}

/** The default log folder, the task log records, and any log file of theirs kept elsewhere (`logDir`). */
async function logUsage(stateDir: string): Promise<number> {
  const logs = join(stateDir, 'logs');
  const seen = new Set<string>();
  let total = (await diskUsage(logs, seen)) + (await diskUsage(join(stateDir, 'task-logs'), seen));
  const elsewhere = new Set(
    (await readTaskLogs(stateDir))
      .map((record) => dirname(record.logFile))
      .filter((folder) => relative(logs, folder).startsWith('..')),
  );
  for (const folder of elsewhere) {
    // A batch folder of another logDir holds only that batch's logs.
    if (
      await stat(folder).then(
        (s) => s.isDirectory(),
        () => false,
      )
    )
      total += await diskUsage(folder, seen);
  }
  return total;
}
