import { isAbsolute, relative } from 'node:path';
import type { WorktreeInfo } from '../../index.js';
import { formatDuration } from '../../index.js';
import { renderTable } from './table.js';

/**
 * Worktrees as an aligned table: id, issue, status, last task, branch, age and path (relative to the
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
      // An idle reusable worktree holds no issue and no branch (detached at its base).
      { header: 'ISSUE', value: (w) => (w.issueNumber > 0 ? `#${w.issueNumber}` : '-') },
      { header: 'STATUS', value: (w) => w.status },
      { header: 'LAST TASK', value: lastTaskText },
      { header: 'BRANCH', value: (w) => w.branchName || '(detached)' },
      { header: 'BASE', value: (w) => w.baseBranch },
      { header: 'AGE', value: (w) => formatDuration(now - Date.parse(w.createdAt)), align: 'right' },
      { header: 'PATH', value: (w) => displayPath(w.path, options.repoPath) },
    ],
    options.width ? { width: options.width } : {},
  );
}

/**
 * How a worktree's last task ended, beside its status: `success`, `failed at setup`, `conflict`,
 * `timeout`, `cancelled`; empty when none has ended.
 */
export function lastTaskText(worktree: WorktreeInfo): string {
  const last = worktree.lastTask;
  if (!last) return '';
  if (last.code === 'MERGE_CONFLICT') return 'conflict';
  return last.status === 'failed' && last.stage ? `failed at ${last.stage}` : last.status;
}

/** `path` relative to `root` when it lies inside it, else as is. */
export function displayPath(path: string, root: string): string {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}
