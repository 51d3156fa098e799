import type { WorktreeInfo } from '../../index.js';

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
