import { MAX_AGE_MS } from '../../index.js';
import { openWorkspace } from '../context.js';
import { writeLine } from '../io.js';
import { parseDurationFlag } from '../parse-duration-flag.js';
import { formatJson } from '../render/json.js';
import { describeRemoval } from '../render/removal.js';
import type { CommandHandler } from './index.js';

/**
 * `cleanup [--merged] [--older-than D] [--keep-branch] [--dry-run] [--json]`: removes every
 * worktree this tool created (or only the merged / old ones), archiving whatever would be lost,
 * drops records of vanished ones and reclaims what dead processes left; active worktrees of live
 * processes are skipped. Prints the `CleanupReport` with `--json`. Exits 1 when a worktree could
 * not be removed (it and its work are still there), 2 for a bad `--older-than` (nothing touched).
 */
const cleanup: CommandHandler = async ({ options }, ctx) => {
  const dryRun = options.dryRun === true;
  // Parsed before the repository is opened: a typo touches nothing.
  const olderThan =
    typeof options.olderThan === 'string'
      ? parseDurationFlag(options.olderThan, '--older-than', { maxMs: MAX_AGE_MS })
      : undefined;
  const { manager } = await openWorkspace(ctx);
  try {
    const report = await manager.cleanupAll({
      dryRun,
      signal: ctx.signal,
      ...(options.merged === true ? { merged: true } : {}),
      ...(olderThan !== undefined ? { olderThan } : {}),
      ...(options.keepBranch === true ? { deleteBranch: false } : {}),
    });
    const { stdout } = ctx.io;
    // A worktree the run could not remove (refused, disk full) is still there: that is a failure.
    const exitCode = !dryRun && report.failed.length > 0 ? 1 : 0;
    if (options.json === true) {
      stdout.write(formatJson(report));
      return exitCode;
    }
    for (const removed of report.removed)
      for (const line of describeRemoval(removed, { dryRun })) writeLine(stdout, line);
    for (const branch of report.deletedBranches) {
      writeLine(
        stdout,
        `${dryRun ? 'would delete' : 'deleted'} branch ${branch.name} (merged into ${branch.mergedInto})`,
      );
    }
    for (const entry of report.reconciled) {
      writeLine(
        stdout,
        `${dryRun ? 'would reclaim' : 'reclaimed'} ${entry.id} (${entry.path}): ${entry.reason}`,
      );
    }
    for (const entry of report.skipped)
      writeLine(stdout, `skipped ${entry.id} (${entry.path}): ${entry.reason}`);
    for (const entry of report.failed)
      writeLine(
        stdout,
        `${dryRun ? 'would fail to remove' : 'could not remove'} ${entry.id} (${entry.path}): ${entry.reason}`,
      );
    for (const entry of report.foreign)
      writeLine(stdout, `left alone ${entry.id} (${entry.path}): not a worktree of ours, ${entry.reason}`);
    const verbs = { removed: 'deleted', 'would-remove': 'would delete', kept: 'kept' } as const;
    for (const lock of report.staleLocks)
      writeLine(stdout, `${verbs[lock.action]} stale git lock ${lock.path}: ${lock.reason}`);
    const total =
      report.removed.length +
      report.deletedBranches.length +
      report.reconciled.length +
      report.staleLocks.filter((l) => l.action === 'removed').length;
    const untouched = report.skipped.length + report.failed.length + report.foreign.length;
    if (total === 0 && untouched === 0 && report.staleLocks.length === 0)
      writeLine(stdout, 'Nothing to clean up.');
    else
      writeLine(
        stdout,
        `${dryRun ? 'Dry run: would clean up' : 'Cleaned up'} ${total}, skipped ${report.skipped.length}` +
          `${report.failed.length > 0 ? `, ${dryRun ? 'would fail' : 'failed'} ${report.failed.length}` : ''}` +
          `${report.foreign.length > 0 ? `, left alone ${report.foreign.length} not ours` : ''}.`,
      );
    return exitCode;
  } finally {
    await manager.flush();
  }
};

export default cleanup;
