import type { RemovalClaim, WorktreeInfo } from '../core/types.js';
import { isMiyabiError, MiyabiError } from '../errors.js';
import { isOwnerAlive } from '../state/owner.js';
import type { ManagerContext } from './context.js';

/** Rewrites the removal claim of one record (the caller holds the repository lock). */
export async function setClaim(
  ctx: ManagerContext,
  id: string,
  change: (claim: RemovalClaim | undefined) => RemovalClaim | undefined,
): Promise<void> {
  await ctx.registry.mutate((records) =>
    records.map((r) => {
      if (r.id !== id) return r;
      const { removal, ...rest } = r;
      const next = change(removal);
      return next ? { ...rest, removal: next } : rest;
    }),
  );
}

/** Leaves a worktree that a live process (this one included) is removing to that process. */
export function refuseIfBeingRemoved(record: WorktreeInfo): void {
  const claim = record.removal;
  if (!claim || claim.failed !== undefined || !isOwnerAlive(claim.owner)) return;
  throw new MiyabiError('LOCKED', `worktree ${record.id} is being removed by process ${claim.owner.pid}`, {
    hint: 'Wait for that removal to finish; if that process dies, removing it again takes over.',
    details: { id: record.id, owner: claim.owner, beingRemoved: true },
  });
}

/** True for the error of {@link refuseIfBeingRemoved}: another live removal handles it, nothing failed. */
export function isBeingRemovedError(error: unknown): error is MiyabiError {
  return isMiyabiError(error) && error.code === 'LOCKED' && error.details?.beingRemoved === true;
}
