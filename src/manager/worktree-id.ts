import { randomBytes } from 'node:crypto';
import { WORKTREE_STATUSES, type WorktreeStatus } from '../core/types.js';

/** The ids (and folder names) this tool gives worktrees: `issue-<n>-<8 hex>`. */
export const WORKTREE_ID_FORMAT = /^issue-(\d+)-[0-9a-f]{8}$/;

/** A fresh id for a worktree of `issueNumber`. */
export function newWorktreeId(issueNumber: number): string {
  return `issue-${issueNumber}-${randomBytes(4).toString('hex')}`;
}

/** Folder names (and idle ids) of reusable worktrees: `slot-<8 hex>`, claiming no issue. */
export const SLOT_NAME_FORMAT = /^slot-[0-9a-f]{8}$/;

/** A fresh folder name for a reusable worktree. */
export function newSlotName(): string {
  return `slot-${randomBytes(4).toString('hex')}`;
}

/** The issue number an id of ours names, or null for any other string. */
export function issueOfWorktreeId(id: string): number | null {
  const issue = WORKTREE_ID_FORMAT.exec(id)?.[1];
  return issue === undefined ? null : Number(issue);
}

/** How many of `statuses` are in each status (every status present, zero when none). */
export function countByStatus(statuses: Iterable<WorktreeStatus>): Record<WorktreeStatus, number> {
  const counts = Object.fromEntries(WORKTREE_STATUSES.map((status) => [status, 0])) as Record<
    WorktreeStatus,
    number
  >;
  for (const status of statuses) counts[status]++;
  return counts;
}
