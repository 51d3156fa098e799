import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type {
  ArchiveInfo,
  RemovalClaim,
  RemoveResult,
  RemoveWorktreeOptions,
  WorktreeInfo,
} from '../core/types.js';
import { MiyabiError } from '../errors.js';
import { gitStderr, runGit } from '../git/run-git.js';
import { currentOwner } from '../state/owner.js';
import { type ManagerContext, releaseSlot } from './context.js';
import { recordFailure } from './record-failure.js';
import { archive } from './removal-archive.js';
import { type Assessment, assess, assessBranch } from './removal-assessment.js';
import { settleBranch } from './removal-branch-policy.js';
import { refuseIfBeingRemoved, setClaim } from './removal-claim.js';
import { deleteTrackedFilesOutsideLock } from './removal-files.js';
import { quickRemoval, relockAfterQuickRemoval } from './removal-quick.js';
import {
  linkedToGit,
  readEntryLock,
  refuseForeign,
  refuseLocked,
  refuseUnarchivable,
} from './removal-refusals.js';
import { stopStrayProcesses } from './stray-processes.js';
import { assertWorktreeId } from './validate.js';

/**
 * Removes a worktree without losing work: uncommitted changes and commits found in no base or
 * remote branch are first saved under `refs/miyabi/archive/<id>`; the branch is deleted only when
 * all its commits are merged or pushed (else kept, and archived). `force` skips the archive of
 * uncommitted files and the refusals, never the branch rule nor the archive of commits nothing else keeps.
 */
export async function removeWorktree(
  ctx: ManagerContext,
  id: string,
  options: RemoveWorktreeOptions = {},
): Promise<RemoveResult> {
  assertWorktreeId(id);
  const record = (await ctx.registry.read()).find((r) => r.id === id);
  if (!record) throw new MiyabiError('NOT_FOUND', `no worktree with id '${id}'`, { details: { id } });
  refuseIfBeingRemoved(record);
  // A claim whose process died: its archive was written, its files may be half deleted. A quick
  // removal's claim archived nothing: while git's link to the folder stands, it is read again.
  const reread = record.removal?.unverified === true && (await linkedToGit(record.path));
  if (reread) await relockAfterQuickRemoval(record);
  const takeover = reread ? undefined : record.removal;
  const force = options.force ?? false;
  const deleteBranch = options.deleteBranch ?? true;
  const started = performance.now();
  const eventBase = {
    worktreeId: id,
    issueNumber: record.issueNumber,
    branch: record.branchName,
    ...(options.batchId ? { batchId: options.batchId } : {}),
  };
  ctx.telemetry.record({ type: 'cleanup-start', ...eventBase });
  try {
    const lock = await readEntryLock(ctx, record);
    refuseForeign(ctx, record, lock);
    refuseLocked(record, lock, force);
    // A `run` that died hard leaves its agents running, and a task of ours may have left its group
    // (`setsid … &`): stop them before their work is measured and their folder deleted. One /proc
    // listing; the caller and its ancestors are never stopped.
    const stoppedProcesses = await stopStrayProcesses(ctx, id);
    if (!force && !record.removal) {
      const quick = await quickRemoval(ctx, record, { deleteBranch, signal: options.signal });
      if (quick) {
        releaseSlot(ctx, id);
        ctx.telemetry.record({
          type: 'cleanup-complete',
          ...eventBase,
          durationMs: Math.round(performance.now() - started),
          archived: quick.archived !== null,
          branchDeleted: quick.result.branchDeleted,
        });
        return {
          ...quick.result,
          forced: false,
          ...(stoppedProcesses.length > 0 ? { stoppedProcesses: [...stoppedProcesses] } : {}),
        };
      }
    }
    const assessment = takeover
      ? await assessBranch(ctx, record, options.signal)
      : await assess(ctx, record, { snapshot: !force, signal: options.signal });
    if (!force && !takeover) refuseUnarchivable(record, assessment);
    const token = randomUUID();
    const archived = await ctx.lock.run(async () => {
      // Under the lock, so that of two removers only one writes an archive and deletes.
      const current = (await ctx.registry.read()).find((r) => r.id === id);
      if (!current)
        throw new MiyabiError('NOT_FOUND', `worktree ${id} was removed meanwhile`, { details: { id } });
      refuseIfBeingRemoved(current);
      // An earlier removal's archive stands: the files may have been half deleted since.
      const saved =
        current.removal && !current.removal.unverified
          ? current.removal.archived
          : await archive(ctx, record, assessment, { commitsOnly: force });
      const claim: RemovalClaim = {
        owner: currentOwner(),
        token,
        startedAt: new Date().toISOString(),
        archived: saved,
      };
      await setClaim(ctx, id, () => claim);
      return saved;
    });
    const result = await finishRemoval(ctx, record, assessment, {
      deleteBranch,
      force,
      archived,
      stoppedProcesses,
    }).catch(async (error: unknown) => {
      // Not left claimed by a live process: the next removal takes over from the archive.
      await ctx.lock
        .run(() =>
          setClaim(ctx, id, (claim) =>
            claim?.token === token ? { ...claim, failed: String(error) } : claim,
          ),
        )
        .catch(() => {});
      throw error;
    });
    releaseSlot(ctx, id);
    ctx.telemetry.record({
      type: 'cleanup-complete',
      ...eventBase,
      durationMs: Math.round(performance.now() - started),
      archived: archived !== null,
      branchDeleted: result.branchDeleted,
    });
    return result;
  } catch (error) {
    throw recordFailure(ctx, 'cleanup', eventBase, started, error);
  }
}

/** Deletes the files, git's entry, the branch when safe, and the record (the archive is written). */
async function finishRemoval(
  ctx: ManagerContext,
  record: WorktreeInfo,
  assessment: Assessment,
  options: {
    deleteBranch: boolean;
    force: boolean;
    archived: ArchiveInfo | null;
    stoppedProcesses: readonly number[];
  },
): Promise<RemoveResult> {
  const { deleteBranch, force, archived, stoppedProcesses } = options;
  await deleteTrackedFilesOutsideLock(record);
  return ctx.lock.run(async () => {
    // The lock was checked above (ours, or forced); a second --force lets git remove a locked one.
    await runGit(['worktree', 'remove', '--force', '--force', record.path], {
      cwd: ctx.repo.root,
    }).catch(async (error: unknown) => {
      // A folder git no longer tracks is still ours to delete; anything else is a real failure.
      if (!/is not a working tree/.test(gitStderr(error))) throw error;
    });
    await rm(record.path, { recursive: true, force: true });
    const branch = await settleBranch(ctx, record, assessment, { deleteBranch });
    await ctx.registry.mutate((records) => records.filter((r) => r.id !== record.id));
    return {
      id: record.id,
      path: record.path,
      branchName: record.branchName,
      worktreeRemoved: !existsSync(record.path),
      ...branch,
      archived,
      forced: force,
      ...(stoppedProcesses.length > 0 ? { stoppedProcesses: [...stoppedProcesses] } : {}),
    } satisfies RemoveResult;
  });
}
