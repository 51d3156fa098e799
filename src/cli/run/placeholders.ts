import type { IssueContext, WorktreeInfo } from '../../index.js';
import { issuePlaceholderValues } from '../../internal.js';

/** The placeholders `run` replaces in the command's arguments: raw text, to be quoted in a shell. */
export const PLACEHOLDERS = ['{issue}', '{branch}', '{path}', '{id}', '{port}', '{conflicts}'] as const;

/** With GitHub input: the issue's text (each cut to 16 KiB with a note; the whole body is in $MIYABI_ISSUE_FILE). */
export const ISSUE_TEXT_PLACEHOLDERS = ['{title}', '{body}', '{url}', '{labels}'] as const;

/**
 * `argv` with `{issue}`, `{branch}`, `{path}`, `{id}`, `{port}` (the first port of the worktree's
 * block, config `ports`; left as is without ports) and `{conflicts}` (the conflicting paths,
 * space-separated, while resolving a conflict; empty otherwise) replaced, and with an issue
 * `context` also `{title}`, `{body}`, `{url}` and `{labels}`; other braces stay. Each argument stays
 * one argument: no shell ever sees it.
 */
export function expandPlaceholders(
  argv: readonly string[],
  worktree: WorktreeInfo,
  conflicts: readonly string[] = [],
  context?: IssueContext,
): string[] {
  const values: Record<string, string> = {
    '{issue}': String(worktree.issueNumber),
    '{branch}': worktree.branchName,
    '{path}': worktree.path,
    '{id}': worktree.id,
    ...(worktree.ports?.[0] !== undefined ? { '{port}': String(worktree.ports[0]) } : {}),
    '{conflicts}': conflicts.join(' '),
    ...(context ? issuePlaceholderValues(context) : {}),
  };
  const pattern = context
    ? /\{(?:issue|branch|path|id|port|conflicts|title|body|url|labels)\}/g
    : /\{(?:issue|branch|path|id|port|conflicts)\}/g;
  // One pass, so a value that itself contains `{id}` (a branch name, an issue title) is never expanded again.
  return argv.map((arg) => arg.replace(pattern, (token) => values[token] ?? token));
}
