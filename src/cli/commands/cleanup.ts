import { openWorkspace } from '../context.js';
import { writeLine } from '../io.js';
import { formatJson } from '../render/json.js';
import { describeRemoval } from '../render/worktrees.js';
import type { CommandHandler } from './index.js';

/**
 * `cleanup [--dry-run] [--json]`: removes every worktree this tool created (archiving whatever
 * would be lost), drops records of vanished ones and reclaims what dead processes left; active
 * worktrees of live processes are skipped. Prints the `CleanupReport` with `--json`.
 */
const cleanup: CommandHandler = async ({ options }, ctx) => {
  const dryRun = options.dryRun === true;
  const { manager } = await openWorkspace(ctx);
  try {
    const report = await manager.cleanupAll({ dryRun, signal: ctx.signal });
    const { stdout } = ctx.io;
    if (options.json === true) {
      stdout.write(formatJson(report));
      return 0;
    }
    for (const removed of report.removed)
      for (const line of describeRemoval(removed, { dryRun })) writeLine(stdout, line);
    for (const entry of report.reconciled) {
      writeLine(
        stdout,
        `${dryRun ? 'would reclaim' : 'reclaimed'} ${entry.id} (${entry.path}): ${entry.reason}`,
      );
    }
    for (const entry of report.skipped)
      writeLine(stdout, `skipped ${entry.id} (${entry.path}): ${entry.reason}`);
    const verbs = { removed: 'deleted', 'would-remove': 'would delete', kept: 'kept' } as const;
    for (const lock of report.staleLocks)
      writeLine(stdout, `${verbs[lock.action]} stale git lock ${lock.path}: ${lock.reason}`);
    const total =
      report.removed.length +
      report.reconciled.length +
      report.staleLocks.filter((l) => l.action === 'removed').length;
    if (total === 0 && report.skipped.length === 0 && report.staleLocks.length === 0)
      writeLine(stdout, 'Nothing to clean up.');
    else
      writeLine(
        stdout,
        `${dryRun ? 'Dry run: would clean up' : 'Cleaned up'} ${total}, skipped ${report.skipped.length}.`,
      );
    return 0;
  } finally {
    await manager.flush();
  }
};

export default cleanup;
