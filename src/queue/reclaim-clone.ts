import { runGit } from '../git/run-git.js';
import { type Logger, safeLog } from '../log.js';
import type { WorktreeManager } from '../manager/worktree-manager.js';

/** A worktree a killed worker left in its clone, archived and removed when the next one started. */
export interface ReclaimedWorktree {
  readonly id: string;
  readonly path: string;
  readonly branchName: string;
  /** Where its work was saved, when it held any (`restore <id>` in that clone brings it back). */
  readonly archiveRef?: string;
  /** The task processes it left running, stopped. */
  readonly stoppedProcesses: readonly number[];
}

/** Where a worker keeps a batch's base commits: `miyabi-base/<batch>-<sha12>`. */
export function batchBaseBranchPrefix(batchId: string): string {
  return `refs/heads/miyabi-base/${batchId}-`;
}

/**
 * What a worker killed with SIGKILL left in its clone, reclaimed exactly as `cleanupAll` does: its
 * task processes stopped, its worktrees (no live process owns them) archived when they hold work
 * and removed; then the per-batch base branches no worktree stands on any more.
 */
export async function reclaimClone(manager: WorktreeManager, logger: Logger): Promise<ReclaimedWorktree[]> {
  const report = await manager.cleanupAll();
  const reclaimed = report.removed.map(
    (removed): ReclaimedWorktree => ({
      id: removed.id,
      path: removed.path,
      branchName: removed.branchName,
      ...(removed.archived ? { archiveRef: removed.archived.ref } : {}),
      stoppedProcesses: removed.stoppedProcesses ?? [],
    }),
  );
  for (const failed of report.failed) {
    safeLog(
      logger,
      'warn',
      { worktreeId: failed.id, path: failed.path },
      `could not reclaim: ${failed.reason}`,
    );
  }
  await removeBatchBases(manager.repoPath, undefined);
  if (reclaimed.length > 0) {
    safeLog(
      logger,
      'info',
      { reclaimed: reclaimed.map((r) => r.id) },
      'reclaimed what a stopped worker left',
    );
  }
  return reclaimed;
}

/**
 * Deletes the base branches of `batchId` (every batch's when undefined) that no worktree has
 * checked out: they only ever hold a commit the remote has.
 */
export async function removeBatchBases(repo: string, batchId: string | undefined): Promise<void> {
  const prefix = batchId === undefined ? 'refs/heads/miyabi-base/' : batchBaseBranchPrefix(batchId);
  const listed = await runGit(
    ['for-each-ref', '--format=%(refname) %(worktreepath)', batchId === undefined ? prefix : `${prefix}*`],
    { cwd: repo },
  );
  const refs = listed.stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.includes(' '))
    .filter((ref) => ref.startsWith(prefix));
  if (refs.length === 0) return;
  await runGit(['update-ref', '--stdin'], {
    cwd: repo,
    input: refs.map((ref) => `delete ${ref}\n`).join(''),
  });
}
