import type { IssueContext } from '../core/task.js';
import { issuePlaceholderValues } from '../github/issue-text.js';

/** The placeholders a task's command gets from its worktree: raw text, to be quoted in a shell. */
export const TASK_PLACEHOLDERS = [
  '{issue}',
  '{branch}',
  '{path}',
  '{id}',
  '{port}',
  '{conflicts}',
  '{checkLog}',
  '{variant}',
] as const;

/** What a task's placeholders are replaced with: its worktree (a `WorktreeInfo` fits), conflicts, issue text. */
export interface TaskArgvValues {
  readonly issueNumber: number;
  readonly branchName: string;
  readonly path: string;
  readonly id: string;
  /** The worktree's ports (config `ports`); `{port}` is the first, left as is without ports. */
  readonly ports?: readonly number[] | undefined;
  /** The conflicting paths while resolving a conflict, for `{conflicts}`. @default [] */
  readonly conflicts?: readonly string[] | undefined;
  /** The file of a failing landing check's output while the task fixes it, for `{checkLog}`. @default '' */
  readonly checkLog?: string | undefined;
  /** With variants: the attempt's variant (1-based), for `{variant}`; left as is otherwise. */
  readonly variant?: number | undefined;
  /** The issue's text: `{title}` `{body}` `{url}` `{labels}` are replaced only with it. */
  readonly context?: IssueContext | undefined;
}

const WORKTREE_TOKENS = /\{(?:issue|branch|path|id|port|conflicts|checkLog|variant)\}/g;
const ALL_TOKENS = /\{(?:issue|branch|path|id|port|conflicts|checkLog|variant|title|body|url|labels)\}/g;

/**
 * `argv` with `{issue}`, `{branch}`, `{path}`, `{id}`, `{port}` and `{conflicts}` (space-separated,
 * empty outside a conflict) replaced, and with an issue `context` also `{title}`, `{body}`, `{url}`
 * and `{labels}` (each cut to 16 KiB with a note); other braces stay. The one expansion of a task's
 * command: `run`, `commandExecutor` and queue workers all use it. Each argument stays one argument
 * (no shell ever sees it).
 */
export function expandTaskArgv(argv: readonly string[], values: TaskArgvValues): string[] {
  const port = values.ports?.[0];
  const replacements: Record<string, string> = {
    '{issue}': String(values.issueNumber),
    '{branch}': values.branchName,
    '{path}': values.path,
    '{id}': values.id,
    ...(port !== undefined ? { '{port}': String(port) } : {}),
    '{conflicts}': (values.conflicts ?? []).join(' '),
    '{checkLog}': values.checkLog ?? '',
    ...(values.variant !== undefined ? { '{variant}': String(values.variant) } : {}),
    ...(values.context ? issuePlaceholderValues(values.context) : {}),
  };
  const pattern = values.context ? ALL_TOKENS : WORKTREE_TOKENS;
  // One pass, so a value that itself contains `{id}` (a branch name, an issue title) is never expanded again.
  return argv.map((arg) => arg.replace(pattern, (token) => replacements[token] ?? token));
}
