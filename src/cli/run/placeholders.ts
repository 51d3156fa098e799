import type { WorktreeInfo } from '../../index.js';

/** The placeholders `run` replaces in the command's arguments. */
export const PLACEHOLDERS = ['{issue}', '{branch}', '{path}', '{id}', '{port}'] as const;

/**
 * `argv` with `{issue}`, `{branch}`, `{path}`, `{id}` and `{port}` (the first port of the worktree's
 * block, config `ports`) replaced for `worktree`; other braces stay, and `{port}` without ports.
 */
export function expandPlaceholders(argv: readonly string[], worktree: WorktreeInfo): string[] {
  const values: Record<(typeof PLACEHOLDERS)[number], string> = {
    '{issue}': String(worktree.issueNumber),
    '{branch}': worktree.branchName,
    '{path}': worktree.path,
    '{id}': worktree.id,
    '{port}': worktree.ports?.[0] !== undefined ? String(worktree.ports[0]) : '{port}',
  };
  // One pass, so a value that itself contains `{id}` (a branch name) is never expanded again.
  return argv.map((arg) =>
    arg.replace(/\{(?:issue|branch|path|id|port)\}/g, (token) => values[token as keyof typeof values]),
  );
}
