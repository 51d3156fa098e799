import { formatDuration, type WorktreeManager } from '../../index.js';
import { type PausedTask, pausedTasks, unfinishedBatches } from '../../internal.js';
import { BIN } from '../bin-name.js';
import { openWorkspace } from '../context.js';
import { writeBlock, writeLine } from '../io.js';
import { formatBytes } from '../render/bytes.js';
import { formatJson } from '../render/json.js';
import { renderTable } from '../render/table.js';
import { displayPath, lastTaskText } from '../render/worktrees.js';
import type { CommandHandler } from './index.js';

/**
 * `status [--json]`: `{ stats: WorktreeStats, worktrees: WorktreeDetail[], archives, totals }` —
 * counts by status, the worktrees with their age, disk usage and ahead/behind their base, the
 * archives of removed worktrees that `restore` can bring back, and what worktrees, archives and
 * logs take on disk. (`list` is the cheap listing.)
 */
const status: CommandHandler = async ({ options }, ctx) => {
  const { manager, configSource } = await openWorkspace(ctx);
  const [stats, { worktrees, totals }, archives] = await Promise.all([
    manager.stats(),
    manager.inspectWorktrees({ signal: ctx.signal }),
    manager.listArchives({ signal: ctx.signal }),
  ]);
  const paused = await pausedNow(manager, worktrees);
  const unfinished = (await unfinishedBatches(manager)).map((record) => ({
    id: record.id,
    startedAt: record.startedAt,
    issues: record.issues,
    finished: record.results.filter((result) => result.status !== 'cancelled').length,
  }));
  await manager.flush();
  const { stdout } = ctx.io;
  if (options.json === true) {
    stdout.write(formatJson({ stats, worktrees, archives, totals, paused, unfinishedBatches: unfinished }));
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
  writeLine(
    stdout,
    `Disk:        worktrees ${formatBytes(totals.worktreeBytes)} · archives ~${formatBytes(totals.archiveBytes)} (${totals.archives}) · logs ${formatBytes(totals.logBytes)}`,
  );
  if (worktrees.length > 0) {
    writeLine(stdout);
    writeBlock(
      stdout,
      renderTable(
        worktrees,
        [
          { header: 'ID', value: (w) => w.id },
          { header: 'ISSUE', value: (w) => (w.issueNumber > 0 ? `#${w.issueNumber}` : '-') },
          {
            header: 'STATUS',
            value: (w) => {
              const pause = paused.find((p) => p.worktreeId === w.id);
              return pause ? `paused until ${pause.until}` : w.status;
            },
          },
          { header: 'LAST TASK', value: lastTaskText },
          { header: 'BRANCH', value: (w) => w.branchName || '(detached)' },
          { header: 'BASE', value: (w) => w.baseBranch },
          // +ahead/-behind the base branch, as git prompts show it.
          {
            header: '+/-',
            value: (w) => (w.ahead === null ? '' : `+${w.ahead}/-${w.behind ?? 0}`),
            align: 'right',
          },
          { header: 'AGE', value: (w) => formatDuration(w.ageMs), align: 'right' },
          { header: 'DISK', value: (w) => formatBytes(w.diskBytes), align: 'right' },
          { header: 'PATH', value: (w) => displayPath(w.path, manager.repoPath) },
        ],
        stdout.isTTY && stdout.columns ? { width: stdout.columns } : {},
      ),
    );
  }
  if (unfinished.length > 0) {
    writeLine(stdout);
    writeLine(
      stdout,
      `Unfinished batches (their runner is gone; finish one with '${BIN} run --resume <id>'):`,
    );
    writeBlock(
      stdout,
      renderTable(unfinished, [
        { header: 'ID', value: (b) => b.id },
        { header: 'STARTED', value: (b) => b.startedAt },
        { header: 'DONE', value: (b) => `${b.finished}/${b.issues.length}`, align: 'right' },
      ]),
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

/** Tasks in active worktrees waiting out a usage limit, from the retained events. */
async function pausedNow(
  manager: WorktreeManager,
  worktrees: readonly { id: string; status: string }[],
): Promise<PausedTask[]> {
  const active = worktrees.filter((w) => w.status === 'active');
  if (active.length === 0) return [];
  const ids = new Set(active.map((w) => w.id));
  const events = await manager.telemetryEvents({ all: true }).catch(() => []);
  return pausedTasks(events).filter((p) => ids.has(p.worktreeId));
}

export default status;
