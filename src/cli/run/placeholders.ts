import type { WorktreeInfo } from '../../index.js';

/** The placeholders `run` replaces in the command's arguments: raw text, to be quoted in a shell. */
export const PLACEHOLDERS = ['{issue}', '{branch}', '{path}', '{id}', '{conflicts}'] as const;

/**
 * `argv` with `{issue}`, `{branch}`, `{path}`, `{id}` and `{conflicts}` (the conflicting paths,
 * space-separated, while resolving a conflict; empty otherwise) replaced; other braces stay.
 */
export function expandPlaceholders(
  argv: readonly string[],
  worktree: WorktreeInfo,
  conflicts: readonly string[] = [],
): string[] {
  const values: Record<(typeof PLACEHOLDERS)[number], string> = {
    '{issue}': String(worktree.issueNumber),
    '{branch}': worktree.branchName,
    '{path}': worktree.path,
    '{id}': worktree.id,
    '{conflicts}': conflicts.join(' '),
  };
  // One pass, so a value that itself contains `{id}` (a branch name) is never expanded again.
  return argv.map((arg) =>
    arg.replace(/\{(?:issue|branch|path|id|conflicts)\}/g, (token) => values[token as keyof typeof values]),
  );
}
