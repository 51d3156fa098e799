import { readdir, rmdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { CleanupOptions, CleanupReport, RemoveResult, WorktreeInfo } from '../core/types.js';
import { isMiyabiError } from '../errors.js';
import { baseAtTip } from '../git/base-tip.js';
import { runGit } from '../git/run-git.js';
import { ownLockCreatedBranch, ownLockOwner } from '../git/worktree-admin.js';
import type { GitWorktreeEntry } from '../git/worktree-list.js';
import { safeLog } from '../log.js';
import { currentOwner, isOwnerAlive } from '../state/owner.js';
import { notMergedReason, resolveFilter, tooYoung } from './cleanup-filters.js';
import type { ManagerContext } from './context.js';
import { readWorktrees, reconcileVanished, warnForeign } from './list-worktrees.js';
import { deleteMergedBranches } from './merged-branches.js';
import { planRemoval } from './plan-removal.js';
import { isBeingRemovedError } from './removal-claim.js';
import { removeWorktree } from './remove-worktree.js';
import { reclaimStaleLocks } from './stale-locks.js';
import { IN_REPO_WORKTREE_DIR } from './worktree-dir.js';
import { issueOfWorktreeId, SLOT_NAME_FORMAT, WORKTREE_ID_FORMAT } from './worktree-id.js';

/** A folder name this tool gives: a task's worktree, or a reusable one. */
const isOurFolderName = (name: string) => WORKTREE_ID_FORMAT.test(name) || SLOT_NAME_FORMAT.test(name);

/**
 * Removes every worktree this tool created (archiving whatever would be lost), reconciles vanished
 * ones and reclaims what a crashed process left in our folder (an unrecorded worktree is archived
 * and removed like the others; its branch is kept unless this tool created it and it holds
 * nothing of its own). Worktrees of live processes that are still
 * `active`, and worktrees this tool did not create, are left alone. `dryRun` reports only.
 * `merged` / `olderThan` take only the worktrees that match (the others are `skipped`, with why).
 */
export async function cleanupAll(ctx: ManagerContext, options: CleanupOptions = {}): Promise<CleanupReport> {
  const dryRun = options.dryRun ?? false;
  const deleteBranch = options.deleteBranch ?? true;
  // Checked before anything is read or changed: bad input leaves the repository as it was.
  const filter = resolveFilter(options);
  const { live, vanished, foreign, git } = await readWorktrees(ctx, options.signal);
  const entryAt = new Map(git.map((entry) => [entry.path, entry]));
  // Why the filter leaves a worktree alone (undefined: it is taken).
  const filteredOut = async (record: WorktreeInfo | undefined, entry: GitWorktreeEntry | undefined) => {
    if (!filter) return undefined;
    if (!record)
      return 'not in the registry, so its age and base are unknown: a cleanup without filters reclaims it';
    const young = tooYoung(filter, record.createdAt);
    if (young) return young;
    if (!filter.merged) return undefined;
    if (!entry) return 'git does not list it';
    return notMergedReason(ctx.repo.root, entry, record.baseBranch, options.signal);
  };
  warnForeign(ctx, foreign);
  const removed: RemoveResult[] = [];
  const skipped: { id: string; path: string; reason: string }[] = [];
  const failed: { id: string; path: string; reason: string; code?: string }[] = [];
  const fail = (target: { id: string; path: string }, error: unknown) =>
    // Another live process is removing it: left to that process, as an active one is.
    isBeingRemovedError(error)
      ? skipped.push({ id: target.id, path: target.path, reason: error.message })
      : failed.push({
          id: target.id,
          path: target.path,
          reason: isMiyabiError(error) ? `${error.code}: ${error.message}` : String(error),
          ...(isMiyabiError(error) ? { code: error.code } : {}),
        });
  const gone = !dryRun && vanished.length > 0 ? await reconcileVanished(ctx, vanished) : vanished;
  const reconciled = gone.map(({ record, reason }) => ({ id: record.id, path: record.path, reason }));

  for (const record of live) {
    options.signal?.throwIfAborted();
    // Another live process is working in it right now; its own cleanup will handle it.
    if (record.status === 'active' && record.owner.pid !== process.pid && isOwnerAlive(record.owner)) {
      skipped.push({
        id: record.id,
        path: record.path,
        reason: `active in live process ${record.owner.pid}`,
      });
      continue;
    }
    const leftAlone = await filteredOut(record, entryAt.get(record.path));
    if (leftAlone) {
      skipped.push({ id: record.id, path: record.path, reason: leftAlone });
      continue;
    }
    try {
      removed.push(
        dryRun
          ? await planRemoval(ctx, record, { deleteBranch })
          : await removeWorktree(ctx, record.id, { deleteBranch }),
      );
    } catch (error) {
      fail(record, error);
    }
  }

  // Admin entries in our folder with no record: a process died between `worktree add` and the
  // registry write, or the registry was lost. Ours by name and by the lock `worktree add` leaves:
  // our ownership lock (they may hold work, so they are archived and removed as ours are), or
  // git's `initializing` one (a create killed inside `worktree add`: a partial checkout, no work).
  // A user's own worktree that merely has a name like ours carries neither and is left alone.
  const known = new Set([...live, ...[...vanished, ...foreign].map((v) => v.record)].map((r) => r.path));
  const orphans = git.filter(
    (entry) =>
      !entry.isMain &&
      ourFolders(ctx).some(
        (folder) =>
          entry.path.startsWith(`${folder}/`) && isOurFolderName(entry.path.slice(folder.length + 1)),
      ) &&
      !known.has(entry.path),
  );
  for (const entry of orphans) {
    options.signal?.throwIfAborted();
    if (interruptedAdd(entry)) {
      if (dryRun || (await reclaimInterruptedAdd(ctx, entry.path))) {
        reconciled.push({ id: basename(entry.path), path: entry.path, reason: INTERRUPTED_ADD_REASON });
      }
      continue;
    }
    if (ownLockOwner(entry.locked) === undefined) continue;
    const orphanLeftAlone = await filteredOut(undefined, entry);
    if (orphanLeftAlone) {
      skipped.push({ id: basename(entry.path), path: entry.path, reason: orphanLeftAlone });
      continue;
    }
    const adopted = await adoptOrphan(ctx, entry, dryRun);
    if (adopted === 'recorded') continue;
    if (typeof adopted === 'string') {
      skipped.push({ id: basename(entry.path), path: entry.path, reason: adopted });
      continue;
    }
    try {
      const result = dryRun
        ? await planRemoval(ctx, adopted, { deleteBranch: deleteBranch && !adopted.reusedBranch })
        : await removeWorktree(ctx, adopted.id, { deleteBranch: deleteBranch && !adopted.reusedBranch });
      // A branch our lock says `worktree add -b` created goes when it holds nothing, as any of ours.
      removed.push(
        result.branchDeleted || !adopted.reusedBranch || !deleteBranch
          ? result
          : { ...result, branchKeptReason: ORPHAN_BRANCH_KEPT },
      );
    } catch (error) {
      fail(adopted, error);
    }
  }
  if (!dryRun) await removeEmptyStrays(ctx);
  // Under our lock no process of ours writes metadata; a live git process in any checkout keeps them.
  const findLocks = () => reclaimStaleLocks(ctx, { dryRun, worktrees: git });
  const staleLocks = dryRun ? await findLocks() : await ctx.lock.run(findLocks);
  const notOurs = foreign.map(({ record, reason }) => ({ id: record.id, path: record.path, reason }));
  // Branches of worktrees removed before (a run without merge) that were merged since.
  const deletedBranches =
    filter?.merged && deleteBranch
      ? await deleteMergedBranches(ctx, { dryRun, worktrees: git, signal: options.signal })
      : [];
  return { dryRun, removed, deletedBranches, skipped, failed, foreign: notOurs, reconciled, staleLocks };
}

const ORPHAN_BRANCH_KEPT = 'the worktree had no registry record, so its branch may not be ours to delete';
// The lock reason `git worktree add` holds until it has finished (without --reason of ours).
const INTERRUPTED_ADD_LOCK = 'initializing';

/**
 * An entry a create killed inside `git worktree add` left: git's own `initializing` lock, or ours
 * (git writes a given reason from the start) on an entry whose HEAD was never written, by a
 * creator that is gone. No agent ever ran in it, so there is no work to archive.
 */
function interruptedAdd(entry: GitWorktreeEntry): boolean {
  if (entry.locked === INTERRUPTED_ADD_LOCK) return true;
  const creator = ownLockOwner(entry.locked);
  const headWritten = entry.head !== undefined && !/^0+$/.test(entry.head);
  return creator !== undefined && !headWritten && (creator.pid === process.pid || !isOwnerAlive(creator));
}
const INTERRUPTED_ADD_REASON = 'left by a create killed inside git worktree add (no registry record)';

/**
 * Removes what a create killed inside `git worktree add` left (git needs `-f -f` for its
 * `initializing` lock); its branch is kept. False when a create in flight elsewhere recorded it
 * meanwhile (it records under the same lock as its `worktree add`, so the registry is read again).
 */
async function reclaimInterruptedAdd(ctx: ManagerContext, path: string): Promise<boolean> {
  return ctx.lock.run(async () => {
    if ((await ctx.registry.read()).some((record) => record.path === path)) return false;
    await runGit(['worktree', 'remove', '--force', '--force', path], { cwd: ctx.repo.root }).catch(
      (error: unknown) =>
        safeLog(ctx.logger, 'warn', { path, err: String(error) }, 'could not reclaim an interrupted create'),
    );
    return true;
  });
}

/**
 * Takes an unrecorded worktree of our folder into the registry (status `failed`, branch treated as
 * not ours unless our lock says `worktree add -b` created it), so that removing it archives its work like any other. Returns the record; 'recorded'
 * when a create in flight elsewhere recorded it meanwhile (it records under the same lock as its
 * `worktree add`, so the registry is read again once the lock is ours); or why it is left alone.
 */
async function adoptOrphan(
  ctx: ManagerContext,
  entry: GitWorktreeEntry,
  dryRun: boolean,
): Promise<WorktreeInfo | 'recorded' | string> {
  const adopt = async (): Promise<WorktreeInfo | 'recorded' | string> => {
    if ((await ctx.registry.read()).some((record) => record.path === entry.path)) return 'recorded';
    const creator = ownLockOwner(entry.locked);
    if (creator && creator.pid !== process.pid && isOwnerAlive(creator)) {
      return `not in the registry, but process ${creator.pid} that created it is still running`;
    }
    const id = basename(entry.path);
    // A reusable worktree is idle detached at its base: removing it archives what changed there.
    const slot = SLOT_NAME_FORMAT.test(id) ? id : undefined;
    if (!entry.branch?.startsWith('refs/heads/') && !slot) {
      return 'not in the registry and not on a branch: left for you to inspect';
    }
    // Its start is unknown: the base's tip now (commits only its branch has still count as unmerged).
    const base = await baseAtTip(ctx.repo, ctx.defaultBase).catch(() => undefined);
    if (!base)
      return `not in the registry, and the base branch ${ctx.defaultBase.name} is gone: left for you to inspect`;
    const now = new Date().toISOString();
    const record: WorktreeInfo = {
      id,
      issueNumber: issueOfWorktreeId(id) ?? 0,
      path: entry.path,
      branchName: entry.branch?.slice('refs/heads/'.length) ?? '',
      baseBranch: base.name,
      baseCommit: base.commit,
      // Ours only when our lock says `worktree add -b` created it; else it may be the user's. A
      // reusable folder's lock speaks of its first task's branch, not of the one it holds now.
      reusedBranch: slot !== undefined || !ownLockCreatedBranch(entry.locked),
      ...(slot ? { slot } : {}),
      createdAt: now,
      // Today's folder, or `.worktrees` for one an earlier version made.
      worktreeDir: dirname(entry.path),
      status: 'failed',
      updatedAt: now,
      // Its creator (dead, checked above): removal then stops any git it left running there.
      owner: creator ?? currentOwner(),
    };
    if (!dryRun) await ctx.registry.mutate((records) => [...records, record]);
    return record;
  };
  return dryRun ? adopt() : ctx.lock.run(adopt);
}

/** Folders in our worktree dir that git does not know and that are empty (a crash before `add`). */
async function removeEmptyStrays(ctx: ManagerContext): Promise<void> {
  for (const folder of ourFolders(ctx)) {
    const names = await readdir(folder).catch(() => [] as string[]);
    for (const name of names) {
      if (!isOurFolderName(name)) continue;
      const path = join(folder, name);
      const inside = await readdir(path).catch(() => null);
      if (inside && inside.length === 0) await rmdir(path).catch(() => {});
    }
  }
}

/** Where our worktrees may be: today's folder, and `.worktrees`, the default of earlier versions. */
function ourFolders(ctx: ManagerContext): string[] {
  const legacy = join(ctx.repo.root, IN_REPO_WORKTREE_DIR);
  return legacy === ctx.worktreeDir ? [ctx.worktreeDir] : [ctx.worktreeDir, legacy];
}
