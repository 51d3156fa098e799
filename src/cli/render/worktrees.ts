import { isAbsolute, relative } from 'node:path';
import type { RemoveResult, WorktreeInfo } from '../../index.js';
import { formatDuration } from '../../index.js';
import { BIN } from '../bin-name.js';
import { renderTable } from './table.js';

/**
 * Worktrees as an aligned table: id, issue, status, branch, age and path (relative to the
 * repository root when inside it).
 */
export function renderWorktreeTable(
  worktrees: readonly WorktreeInfo[],
  options: { readonly repoPath: string; readonly now?: number; readonly width?: number | undefined },
): string {
  const now = options.now ?? Date.now();
  return renderTable(
    worktrees,
    [
      { header: 'ID', value: (w) => w.id },
      { header: 'ISSUE', value: (w) => `#${w.issueNumber}` },
      { header: 'STATUS', value: (w) => w.status },
      { header: 'BRANCH', value: (w) => w.branchName },
      { header: 'BASE', value: (w) => w.baseBranch },
      { header: 'AGE', value: (w) => formatDuration(now - Date.parse(w.createdAt)), align: 'right' },
      { header: 'PATH', value: (w) => displayPath(w.path, options.repoPath) },
    ],
    options.width ? { width: options.width } : {},
  );
}

/** `path` relative to `root` when it lies inside it, else as is. */
export function displayPath(path: string, root: string): string {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** What a removal did, for people: one line, plus how to restore when work was archived. */
export function describeRemoval(result: RemoveResult, options: { readonly dryRun?: boolean } = {}): string[] {
  const verb = options.dryRun ? 'would remove' : 'removed';
  const branch = result.branchDeleted
    ? options.dryRun
      ? `branch ${result.branchName} would be deleted`
      : `branch ${result.branchName} deleted`
    : `branch ${result.branchName} kept${result.branchKeptReason ? ` (${result.branchKeptReason})` : ''}`;
  const lines = [`${verb} ${result.id} (${result.path}); ${branch}`];
  const stopped = result.stoppedProcesses ?? [];
  if (stopped.length > 0) {
    lines.push(
      `  ${options.dryRun ? 'would first stop' : 'first stopped'} ${stopped.length} process(es) of its task still running in it: ${stopped.join(' ')}`,
    );
  }
  const archived = result.archived;
  if (archived) {
    const what = [
      archived.uncommittedPaths.length > 0 ? `${archived.uncommittedPaths.length} uncommitted file(s)` : '',
      archived.unmergedCommits > 0 ? `${archived.unmergedCommits} unmerged commit(s)` : '',
    ]
      .filter(Boolean)
      .join(' and ');
    lines.push(
      `  ${options.dryRun ? 'would save' : 'saved'} ${what || 'its work'} under ${archived.ref}` +
        `${options.dryRun ? '' : `; bring it back with: ${BIN} restore ${result.id}`}`,
    );
  }
  if (result.forced && !options.dryRun) lines.push('  forced: uncommitted files were not archived');
  return lines;
}
