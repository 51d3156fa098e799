import { parseAttempt } from '../core/attempt.js';
import { describe } from '../core/describe.js';
import { WORKTREE_STATUSES, type WorktreeStatus } from '../core/types.js';
import { MiyabiError } from '../errors.js';

/** Issue numbers are positive safe integers: they end up in branch and folder names. */
export function assertIssueNumber(value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `issueNumber must be a positive integer, got ${describe(value)}`,
      { hint: 'Pass the GitHub issue number, e.g. 42.', details: { issueNumber: String(value) } },
    );
  }
}

export function assertStatus(value: unknown): asserts value is WorktreeStatus {
  if (!WORKTREE_STATUSES.includes(value as WorktreeStatus)) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `status must be one of ${WORKTREE_STATUSES.join(', ')}, got ${describe(value)}`,
    );
  }
}

/** A positive integer option such as maxConcurrency, named in the error. */
export function assertPositiveInteger(value: unknown, option: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `${option} must be a positive integer, got ${describe(value)}`,
      {
        hint: `Pass ${option}: 1 or more.`,
      },
    );
  }
}

/** What an `issueOrId` argument names: an issue (`42`, `'#42'`), one variant of it (`'42/v2'`), or a worktree id. */
export type IssueOrId =
  | { readonly issue: number; readonly variant?: number; readonly id?: never }
  | { readonly id: string; readonly issue?: never; readonly variant?: never };

/**
 * Reads an `issueOrId` argument. Anything that is neither a positive issue number nor a
 * well-formed id (`-1`, `0`, `../x`) is bad input, refused before any lookup.
 */
export function parseIssueOrId(value: unknown): IssueOrId {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
  const digits = /^#?(\d+)$/.exec(text)?.[1];
  const issue = Number(digits);
  if (digits !== undefined && Number.isSafeInteger(issue) && issue > 0) return { issue };
  const attempt = parseAttempt(text);
  if (attempt?.variant !== undefined) return { issue: attempt.issueNumber, variant: attempt.variant };
  if (digits === undefined && isWorktreeId(text)) return { id: text };
  throw new MiyabiError(
    'INVALID_ARGUMENT',
    typeof value === 'string' || typeof value === 'number'
      ? `'${text}' is neither an issue number nor a worktree id`
      : `expected an issue number or a worktree id, got ${describe(value)}`,
    {
      hint: [
        'Pass an issue number (e.g. 42, or 42/v2 for a variant) or a worktree id (e.g. issue-42-1a2b3c4d); ',
        { call: 'listWorktrees' },
        ' lists them.',
      ],
    },
  );
}

function isWorktreeId(value: unknown): value is string {
  return typeof value === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(value) && !value.includes('..');
}

/** Worktree ids are folder names we generated: refuse anything else before it reaches a path or ref. */
export function assertWorktreeId(value: unknown): asserts value is string {
  if (!isWorktreeId(value)) {
    throw new MiyabiError('INVALID_ARGUMENT', `worktree id ${describe(value)} is malformed`, {
      hint: ['Ids look like issue-42-1a2b3c4d; ', { call: 'listWorktrees' }, ' lists them.'],
    });
  }
}
