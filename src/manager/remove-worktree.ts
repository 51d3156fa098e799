import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { basename } from 'node:path';
import { MiyabiError, toError } from '../errors.js';
import { unarchivableRepositories } from '../git/nested-repositories.js';
import { gitStderr, runGit } from '../git/run-git.js';
import {
  countUnmergedCommits,
  readWorktreeState,
  snapshotWorktree,
  writeArchive,
} from '../git/work-snapshot.js';
import {
  isOwnLock,
  readAdminLockReason,
  readIndexEntryCount,
  readWorktreeLockReason,
} from '../git/worktree-admin.js';
import { safeLog } from '../log.js';
import { stopTaskProcesses } from '../process/task-processes.js';
import { currentOwner, isOwnerAlive } from '../state/owner.js';
import { type ManagerContext, releaseSlot } from './context.js';
import type {
  ArchiveInfo,
  RemovalClaim,
  RemoveResult,
  RemoveWorktreeOptions,
  WorktreeInfo,
} from './types.js';
import { assertWorktreeId } from './validate.js';

/** What removing a worktree would lose, measured before anything is touched. */
interface Assessment {
  readonly folderExists: boolean;
  readonly branchTip: string | undefined;
  /** Commits on the branch itself that neither the base nor a remote has. */
  readonly branchUnmergedCommits: number;
  /** Those plus commits only the worktree's detached HEAD reaches. */
  readonly unmergedCommits: number;
  readonly uncommittedPaths: readonly string[];
  /** The tree of the uncommitted state (only when there is some and we are not dry-running). */
  readonly snapshotTree: string | undefined;
  /** The worktree's HEAD when the snapshot was taken (the agent may have moved it off the branch). */
  readonly snapshotHead: string | undefined;
  /** The worktree's HEAD when it is off the branch with commits nothing else keeps. */
  readonly worktreeHead: string | undefined;
  /** Repositories inside it whose work an archive cannot hold ("path: why"). */
  readonly unarchivable: readonly string[];
}

/**
 * Removes a worktree without losing work: uncommitted changes and commits found in no base or
 * remote branch are first saved under `refs/miyabi/archive/<id>`; the branch is deleted only when
 * all its commits are merged or pushed (else kept, and archived). `force` skips the archive.
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
  // A claim whose process died: its archive was written, its files may be half deleted.
  const takeover = record.removal;
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
    const lockReason =
      (await readWorktreeLockReason(record.path)) ??
      (await readAdminLockReason(ctx.repo.commonDir, basename(record.path)));
    // Our own ownership lock is no reason to refuse; a lock someone else took is.
    if (lockReason !== undefined && !isOwnLock(lockReason) && !force) {
      throw new MiyabiError('LOCKED', `worktree ${id} is locked${lockReason ? ` (${lockReason})` : ''}`, {
        hint: `Unlock it with: git worktree unlock ${record.path} — or pass force to remove it anyway.`,
        details: { id, reason: lockReason },
      });
    }
    // A `run` that died hard leaves its agents running: stop them before their work is measured and
    // their folder deleted. This process's own tasks were stopped by their runner already.
    const stoppedProcesses = record.owner?.pid === process.pid ? [] : await stopTaskProcesses(id);
    if (stoppedProcesses.length > 0) {
      safeLog(
        ctx.logger,
        'warn',
        { worktreeId: id, pids: stoppedProcesses },
        'stopped processes of a task still running in the worktree',
      );
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
      const saved = current.removal
        ? current.removal.archived
        : force
          ? null
          : await archive(ctx, record, assessment);
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
    const failure = toError(error);
    ctx.telemetry.record({
      type: 'error',
      ...eventBase,
      operation: 'cleanup',
      message: failure.message,
      ...(failure instanceof MiyabiError ? { code: failure.code } : {}),
      durationMs: Math.round(performance.now() - started),
    });
    throw failure;
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
    const branch = await settleBranch(ctx, record, assessment, { deleteBranch, force, archived });
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

/** What `removeWorktree` would do, without changing anything (for `cleanupAll({ dryRun })`). */
export async function planRemoval(ctx: ManagerContext, record: WorktreeInfo): Promise<RemoveResult> {
  refuseIfBeingRemoved(record);
  // Taking over an interrupted removal: its archive is written, nothing more would be saved.
  const assessment = record.removal
    ? await assessBranch(ctx, record, undefined)
    : await assess(ctx, record, { snapshot: false });
  refuseUnarchivable(record, assessment);
  const wouldArchive = assessment.uncommittedPaths.length > 0 || assessment.unmergedCommits > 0;
  const keep = branchKeepReason(record, assessment, true);
  return {
    id: record.id,
    path: record.path,
    branchName: record.branchName,
    worktreeRemoved: false,
    branchDeleted: false,
    ...(keep ? { branchKeptReason: keep } : {}),
    archived: record.removal
      ? record.removal.archived
      : wouldArchive
        ? {
            ref: archiveRefName(record.id),
            commit: '',
            uncommittedPaths: assessment.uncommittedPaths,
            unmergedCommits: assessment.unmergedCommits,
          }
        : null,
    forced: false,
  };
}

// Below this many tracked files, `git worktree remove` deletes them under the lock faster than an
// extra git process would outside it.
const PRE_DELETE_MIN_FILES = 1000;
const EMPTY_TREE_SHA1 = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
const EMPTY_TREE_SHA256 = '6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321';

/**
 * Deletes a large worktree's tracked files before the lock is taken, so that removals run in
 * parallel and `git worktree remove` under the lock is quick. Runs after the archive, so nothing
 * of value is in them; git deletes about twice as fast as Node's `fs.rm`, touching only this
 * worktree's own index. A failure is harmless: `worktree remove` then deletes everything.
 */
async function deleteTrackedFilesOutsideLock(record: WorktreeInfo): Promise<void> {
  const tracked = await readIndexEntryCount(record.path);
  if (tracked === undefined || tracked < PRE_DELETE_MIN_FILES) return;
  const emptyTree = record.baseCommit.length === 64 ? EMPTY_TREE_SHA256 : EMPTY_TREE_SHA1;
  await runGit(['read-tree', '-u', '--reset', emptyTree], { cwd: record.path }).catch(() => undefined);
}

/** Rewrites the removal claim of one record (the caller holds the repository lock). */
async function setClaim(
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
function refuseIfBeingRemoved(record: WorktreeInfo): void {
  const claim = record.removal;
  if (!claim || claim.failed !== undefined || !isOwnerAlive(claim.owner)) return;
  throw new MiyabiError('LOCKED', `worktree ${record.id} is being removed by process ${claim.owner.pid}`, {
    hint: 'Wait for that removal to finish; if that process dies, removing it again takes over.',
    details: { id: record.id, owner: claim.owner },
  });
}

/** What a takeover needs to settle the branch: its tip and unmerged commits (the files may be gone). */
async function assessBranch(
  ctx: ManagerContext,
  record: WorktreeInfo,
  signal: AbortSignal | undefined,
): Promise<Assessment> {
  const branchTip = await readBranchTip(ctx, record.branchName);
  const baseRefs = [`refs/heads/${record.baseBranch}`, record.baseCommit];
  const unmerged =
    branchTip && branchTip !== record.baseCommit
      ? await countUnmergedCommits(ctx.repo.root, `refs/heads/${record.branchName}`, baseRefs, { signal })
      : 0;
  return {
    folderExists: existsSync(record.path),
    branchTip,
    branchUnmergedCommits: unmerged,
    unmergedCommits: unmerged,
    worktreeHead: undefined,
    unarchivable: [],
    uncommittedPaths: [],
    snapshotTree: undefined,
    snapshotHead: undefined,
  };
}

/** Refuses a removal that would destroy work in a nested repository, which no archive can hold. */
function refuseUnarchivable(record: WorktreeInfo, assessment: Assessment): void {
  if (assessment.unarchivable.length === 0) return;
  throw new MiyabiError(
    'WORKTREE_DIRTY',
    `worktree ${record.id} holds repositories whose work cannot be archived: ${assessment.unarchivable.join('; ')}`,
    {
      hint: 'Commit and push their work (or move them out of the worktree), then remove again; force removes them anyway.',
      details: { id: record.id, repositories: assessment.unarchivable },
    },
  );
}

export function archiveRefName(id: string): string {
  return `refs/miyabi/archive/${id}`;
}

async function assess(
  ctx: ManagerContext,
  record: WorktreeInfo,
  options: { snapshot: boolean; signal?: AbortSignal | undefined },
): Promise<Assessment> {
  const folderExists = existsSync(record.path);
  // One `git status` gives HEAD, branch and the dirty paths.
  const state = folderExists ? await readWorktreeState(record.path, options.signal) : undefined;
  const onBranch = state?.branch === record.branchName;
  const branchTip = state?.head && onBranch ? state.head : await readBranchTip(ctx, record.branchName);
  // The base commit too: the base branch may be gone, or have been a remote one.
  const baseRefs = [`refs/heads/${record.baseBranch}`, record.baseCommit];
  const { signal } = options;
  const [unmergedCommits, detachedCommits, snapshot] = await Promise.all([
    // A branch still at its start commit holds nothing new: skip the rev-list.
    branchTip && branchTip !== record.baseCommit
      ? countUnmergedCommits(ctx.repo.root, `refs/heads/${record.branchName}`, baseRefs, { signal })
      : 0,
    // An agent that detached HEAD (or switched away) may have commits that only this worktree's
    // HEAD reaches: its reflog goes with the worktree, so they count as unmerged too.
    state?.head && !onBranch && state.head !== branchTip
      ? countUnmergedCommits(ctx.repo.root, state.head, baseRefs, { signal, otherBranches: true })
      : 0,
    state && options.snapshot
      ? snapshotWorktree(record.path, { signal, state, unbornParent: branchTip ?? record.baseCommit })
      : null,
  ]);
  const unarchivable = state ? await unarchivableRepositories(record.path, state, signal) : [];
  return {
    folderExists,
    branchTip,
    branchUnmergedCommits: unmergedCommits,
    unmergedCommits: unmergedCommits + detachedCommits,
    worktreeHead: detachedCommits > 0 ? state?.head : undefined,
    unarchivable,
    uncommittedPaths: state?.uncommittedPaths ?? [],
    snapshotTree: snapshot?.tree,
    snapshotHead: snapshot?.head,
  };
}

async function readBranchTip(ctx: ManagerContext, branchName: string): Promise<string | undefined> {
  const tip = await runGit(['rev-parse', '--verify', '--quiet', `refs/heads/${branchName}^{commit}`], {
    cwd: ctx.repo.root,
    okExitCodes: [0, 1],
  });
  return tip.exitCode === 0 ? tip.stdout.trim() : undefined;
}

/** Saves what would be lost under refs/miyabi/archive/<id>; null when nothing would be. */
async function archive(
  ctx: ManagerContext,
  record: WorktreeInfo,
  assessment: Assessment,
): Promise<ArchiveInfo | null> {
  const head = assessment.snapshotHead ?? assessment.worktreeHead ?? assessment.branchTip;
  if (!head || (!assessment.snapshotTree && assessment.unmergedCommits === 0)) return null;
  const tree = assessment.snapshotTree ?? `${head}^{tree}`;
  const { ref, commit } = await writeArchive(ctx.repo.root, tree, {
    id: record.id,
    issueNumber: record.issueNumber,
    branchName: record.branchName,
    baseBranch: record.baseBranch,
    head,
    uncommittedPaths: assessment.uncommittedPaths,
    unmergedCommits: assessment.unmergedCommits,
    archivedAt: new Date().toISOString(),
  });
  return {
    ref,
    commit,
    uncommittedPaths: assessment.uncommittedPaths,
    unmergedCommits: assessment.unmergedCommits,
  };
}

/** Deletes the branch when nothing on it would be lost, else keeps it and says why. */
async function settleBranch(
  ctx: ManagerContext,
  record: WorktreeInfo,
  assessment: Assessment,
  options: { deleteBranch: boolean; force: boolean; archived: ArchiveInfo | null },
): Promise<{ branchDeleted: boolean; branchKeptReason?: string }> {
  if (!assessment.branchTip) return { branchDeleted: false, branchKeptReason: 'the branch no longer exists' };
  const keep = options.deleteBranch
    ? branchKeepReason(record, assessment, !options.force)
    : 'deleteBranch is false';
  if (keep) return { branchDeleted: false, branchKeptReason: keep };
  // Compare-and-swap: a commit made since the assessment keeps the branch.
  const deleted = await runGit(
    ['update-ref', '-d', `refs/heads/${record.branchName}`, assessment.branchTip],
    {
      cwd: ctx.repo.root,
    },
  ).then(
    () => true,
    () => false,
  );
  return deleted
    ? { branchDeleted: true }
    : { branchDeleted: false, branchKeptReason: 'the branch moved during removal' };
}

function branchKeepReason(record: WorktreeInfo, assessment: Assessment, safe: boolean): string | undefined {
  if (!safe) return undefined;
  if (record.reusedBranch) return 'the branch existed before this worktree';
  if (assessment.branchUnmergedCommits > 0) {
    return `${assessment.branchUnmergedCommits} commit(s) are in neither ${record.baseBranch} nor any remote branch`;
  }
  return undefined;
}
