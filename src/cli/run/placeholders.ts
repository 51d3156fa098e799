import type { WorktreeInfo } from '../../manager/types.js';
import { WORKTREE_ID_VAR } from '../../process/task-processes.js';

/** The placeholders `run` replaces in the command's arguments. */
export const PLACEHOLDERS = ['{issue}', '{branch}', '{path}', '{id}'] as const;

/** `argv` with `{issue}`, `{branch}`, `{path}` and `{id}` replaced for `worktree`; other braces stay. */
export function expandPlaceholders(argv: readonly string[], worktree: WorktreeInfo): string[] {
  const values: Record<(typeof PLACEHOLDERS)[number], string> = {
    '{issue}': String(worktree.issueNumber),
    '{branch}': worktree.branchName,
    '{path}': worktree.path,
    '{id}': worktree.id,
  };
  // One pass, so a value that itself contains `{id}` (a branch name) is never expanded again.
  return argv.map((arg) =>
    arg.replace(/\{(?:issue|branch|path|id)\}/g, (token) => values[token as keyof typeof values]),
  );
}

/** The environment a task's setup commands and command get on top of the CLI's own. */
export function taskEnvironment(worktree: WorktreeInfo, batchId?: string): Record<string, string> {
  return {
    MIYABI_ISSUE_NUMBER: String(worktree.issueNumber),
    MIYABI_WORKTREE_PATH: worktree.path,
    MIYABI_BRANCH: worktree.branchName,
    // The variable removal looks for to stop a task's processes that outlived their runner.
    [WORKTREE_ID_VAR]: worktree.id,
    ...(batchId !== undefined ? { MIYABI_BATCH_ID: batchId } : {}),
  };
}

/** The last `count` non-empty lines of a command's output, joined on one line for messages. */
export function lastLines(tail: string, count = 3): string {
  return tail
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .slice(-count)
    .join(' | ');
}
