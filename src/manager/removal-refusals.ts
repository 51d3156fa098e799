import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { WorktreeInfo } from '../core/types.js';
import { MiyabiError } from '../errors.js';
import {
  isOwnLock,
  readAdminLockReason,
  readWorktreeLockReason,
  worktreeAdminDir,
} from '../git/worktree-admin.js';
import type { ManagerContext } from './context.js';
import type { Assessment } from './removal-assessment.js';
import { recordWorktreeDir } from './worktree-dir.js';
import { SLOT_NAME_FORMAT } from './worktree-id.js';

/** What git knows of a record's worktree entry: whether there is one, and its lock reason. */
export interface EntryLock {
  /** git still has an admin entry for it (its folder may be gone). */
  readonly known: boolean;
  /** The lock reason ('' for a lock without one); undefined when not locked. */
  readonly reason: string | undefined;
}

/** The folder's `.git` link still names an admin folder that git has. */
export async function linkedToGit(path: string): Promise<boolean> {
  const adminDir = await worktreeAdminDir(path);
  return adminDir !== undefined && existsSync(adminDir);
}

/** Reads the lock of a record's git entry from its admin folder, without spawning git. */
export async function readEntryLock(ctx: ManagerContext, record: WorktreeInfo): Promise<EntryLock> {
  const reason =
    (await readWorktreeLockReason(record.path)) ??
    (await readAdminLockReason(ctx.repo.commonDir, basename(record.path)));
  // Through the folder's `.git` link (a record naming someone else's worktree), or by our name.
  const linked = await worktreeAdminDir(record.path);
  const known =
    reason !== undefined ||
    (linked !== undefined && existsSync(linked)) ||
    existsSync(join(ctx.repo.commonDir, 'worktrees', basename(record.path)));
  return { known, reason };
}

/**
 * Why a registry record does not name a worktree of ours, or undefined when it does: its path is
 * not directly inside the worktree folder recorded when it was made (`.worktrees` for records
 * older than that field), or git's entry for it carries no lock at all (ours lock from birth).
 * Such a record may have been tampered with: nothing it names is deleted, archived or removed.
 */
export function foreignReason(
  ctx: ManagerContext,
  record: WorktreeInfo,
  lock: EntryLock | undefined,
): string | undefined {
  const folder = recordWorktreeDir(ctx.repo, record);
  if (
    resolve(record.path) !== record.path ||
    dirname(record.path) !== folder ||
    basename(record.path) !== (record.slot ?? record.id) ||
    (record.slot !== undefined && !SLOT_NAME_FORMAT.test(record.slot))
  ) {
    return `its path is not ${join(folder, record.slot ?? record.id)} (directly inside the worktree folder it was created in)`;
  }
  // A quick removal of ours drops the lock just before git checks the files (see removal-quick.ts).
  if (lock?.known && lock.reason === undefined && !record.removal?.unverified) {
    return 'its git worktree entry carries no lock (every worktree this tool creates is locked from birth)';
  }
  return undefined;
}

/** Throws `FOREIGN_WORKTREE` for a record that does not name a worktree of ours (see {@link foreignReason}). */
export function refuseForeign(ctx: ManagerContext, record: WorktreeInfo, lock: EntryLock): void {
  const reason = foreignReason(ctx, record, lock);
  if (reason === undefined) return;
  throw new MiyabiError(
    'FOREIGN_WORKTREE',
    `worktree ${record.id} (${record.path}) is not one this tool created: ${reason}`,
    {
      details: { id: record.id, path: record.path, reason },
    },
  );
}

/** Our own ownership lock is no reason to refuse; a lock someone else took is, unless forced. */
export function refuseLocked(record: WorktreeInfo, lock: EntryLock, force: boolean): void {
  const { reason } = lock;
  if (reason === undefined || isOwnLock(reason) || force) return;
  throw new MiyabiError('LOCKED', `worktree ${record.id} is locked${reason ? ` (${reason})` : ''}`, {
    hint: [
      `Unlock it with: git worktree unlock ${record.path} — or `,
      { option: 'force' },
      ' to remove it anyway.',
    ],
    details: { id: record.id, reason },
  });
}

/** Refuses a removal that would destroy work in a nested repository, which no archive can hold. */
export function refuseUnarchivable(record: WorktreeInfo, assessment: Assessment): void {
  if (assessment.unarchivable.length === 0) return;
  throw new MiyabiError(
    'WORKTREE_DIRTY',
    `worktree ${record.id} holds repositories whose work cannot be archived: ${assessment.unarchivable.join('; ')}`,
    {
      hint: [
        'Commit and push their work (or move them out of the worktree), then remove again; ',
        { option: 'force' },
        ' to remove them anyway.',
      ],
      details: { id: record.id, repositories: assessment.unarchivable },
    },
  );
}
