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

/** Worktree ids are folder names we generated: refuse anything else before it reaches a path or ref. */
export function assertWorktreeId(value: unknown): asserts value is string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(value) || value.includes('..')) {
    throw new MiyabiError('INVALID_ARGUMENT', `worktree id ${describe(value)} is malformed`, {
      hint: 'Ids look like issue-42-1a2b3c4d; listWorktrees() lists them.',
    });
  }
}
