import { BIN } from '../bin-name.js';
import { openWorkspace } from '../context.js';
import { writeBlock, writeLine } from '../io.js';
import { formatJson } from '../render/json.js';
import { renderTable } from '../render/table.js';
import { displayPath, renderWorktreeTable } from '../render/worktrees.js';
import type { CommandHandler } from './index.js';

/**
 * `status [--json]`: `{ stats: WorktreeStats, worktrees: WorktreeInfo[], archives }` — counts by
 * status, the worktrees, and the archives of removed worktrees that `restore` can bring back.
 */
const status: CommandHandler = async ({ options }, ctx) => {
  const { manager, configSource } = await openWorkspace(ctx);
  const [stats, worktrees, archives] = await Promise.all([
    manager.stats(),
    manager.listWorktrees(),
    manager.listArchives({ signal: ctx.signal }),
  ]);
  await manager.flush();
  const { stdout } = ctx.io;
  if (options.json === true) {
    stdout.write(formatJson({ stats, worktrees, archives }));
    return 0;
  }
  const counts = Object.entries(stats.byStatus)
    .filter(([, count]) => count > 0)
    .map(([name, count]) => `${count} ${name}`);
  writeLine(stdout, `Repository:  ${manager.repoPath}`);
  writeLine(
    stdout,
    `Worktrees:   ${stats.total}${counts.length > 0 ? ` (${counts.join(', ')})` : ''} in ${displayPath(manager.worktreeDir, manager.repoPath)}`,
  );
  writeLine(stdout, `Base branch: ${manager.baseBranch}`);
  writeLine(stdout, `Config:      ${configSource ?? 'none (defaults)'}`);
  if (worktrees.length > 0) {
    writeLine(stdout);
    writeBlock(
      stdout,
      renderWorktreeTable(worktrees, {
        repoPath: manager.repoPath,
        width: stdout.isTTY ? stdout.columns : undefined,
      }),
    );
  }
  if (archives.length > 0) {
    writeLine(stdout);
    writeLine(stdout, `Archived work (bring it back with '${BIN} restore <id>'):`);
    writeBlock(
      stdout,
      renderTable(archives, [
        { header: 'ID', value: (a) => a.id },
        { header: 'BRANCH', value: (a) => a.branchName ?? '' },
        { header: 'UNCOMMITTED', value: (a) => a.uncommittedPaths.length, align: 'right' },
        { header: 'UNMERGED', value: (a) => a.unmergedCommits ?? '', align: 'right' },
        { header: 'ARCHIVED', value: (a) => a.archivedAt },
      ]),
    );
  }
  return 0;
};

export default status;
