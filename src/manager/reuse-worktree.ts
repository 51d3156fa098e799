import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import type {
  IdleResult,
  IdleWorktreeOptions,
  RemovalClaim,
  StaleBranch,
  WorktreeInfo,
} from '../core/types.js';
import { MiyabiError } from '../errors.js';
import { type BaseBranchRef, baseAtTip } from '../git/base-tip.js';
import type { BaseRef } from '../git/repository.js';
import { gitStderr, runGit } from '../git/run-git.js';
import { readWorktreeState } from '../git/work-snapshot.js';
import { safeLog } from '../log.js';
import { WORKTREE_ID_VAR } from '../process/task-processes.js';
import { currentOwner } from '../state/owner.js';
import { type ManagerContext, releaseSlot } from './context.js';
import { allocatePorts } from './port-blocks.js';
import { recordFailure } from './record-failure.js';
import { archive } from './removal-archive.js';
import { assess } from './removal-assessment.js';
import { settleBranch } from './removal-branch-policy.js';
import { refuseIfBeingRemoved, setClaim } from './removal-claim.js';
import { readEntryLock, refuseForeign, refuseLocked, refuseUnarchivable } from './removal-refusals.js';
import { removeWorktree } from './remove-worktree.js';
import { stopStrayProcesses } from './stray-processes.js';
import { assertWorktreeId } from './validate.js';

/**
 * Hands a finished task's reusable worktree back as `idle`: its work is saved exactly as removal
 * saves it (archive of uncommitted files and unmerged commits, then the branch policy), its files
 * are reset to its base commit (detached; `keepPaths` stay), and its record becomes an idle one
 * (`slot-<8 hex>`). A worktree that is not reusable, or one beyond `maxIdle`, is removed instead.
 * A crash half-way leaves a removal claim: the next removal (cleanup) takes over from the archive.
 */
export async function idleWorktree(
  ctx: ManagerContext,
  id: string,
  options: IdleWorktreeOptions = {},
): Promise<IdleResult> {
  assertWorktreeId(id);
  const record = (await ctx.registry.read()).find((r) => r.id === id);
  if (!record) throw new MiyabiError('NOT_FOUND', `no worktree with id '${id}'`, { details: { id } });
  const { signal } = options;
  const maxIdle = options.maxIdle ?? ctx.config.config.maxIdle ?? ctx.slots.capacity;
  const removeInstead = async (): Promise<IdleResult> => {
    const removed = await removeWorktree(ctx, id, {
      ...(signal ? { signal } : {}),
      ...(options.batchId !== undefined ? { batchId: options.batchId } : {}),
    });
    return {
      idle: null,
      removed,
      archived: removed.archived,
      branchDeleted: removed.branchDeleted,
      ...(removed.branchKeptReason !== undefined ? { branchKeptReason: removed.branchKeptReason } : {}),
      ...(removed.stoppedProcesses ? { stoppedProcesses: removed.stoppedProcesses } : {}),
    };
  };
  if (!record.slot || record.status === 'idle' || maxIdle === 0) return removeInstead();
  refuseIfBeingRemoved(record);
  const keepPaths = options.keepPaths ?? ctx.config.config.keepPaths;
  const started = performance.now();
  const eventBase = {
    worktreeId: id,
    issueNumber: record.issueNumber,
    branch: record.branchName,
    ...(options.batchId ? { batchId: options.batchId } : {}),
  };
  const lock = await readEntryLock(ctx, record);
  refuseForeign(ctx, record, lock);
  refuseLocked(record, lock, false);
  // Processes the task left behind would write into the next task's files.
  const stoppedProcesses = await stopStrayProcesses(ctx, id);
  const assessment = await assess(ctx, record, { snapshot: true, signal });
  refuseUnarchivable(record, assessment);
  const token = randomUUID();
  // One section decides (cap) and saves: the archive, and a claim that makes a crash a removal.
  const decision = await ctx.lock.run(async () => {
    const records = await ctx.registry.read();
    const current = records.find((r) => r.id === id);
    if (!current)
      throw new MiyabiError('NOT_FOUND', `worktree ${id} was removed meanwhile`, { details: { id } });
    refuseIfBeingRemoved(current);
    const idleCount = records.filter((r) => r.status === 'idle' && r.id !== id).length;
    if (idleCount >= maxIdle) return 'full' as const;
    const archived = await archive(ctx, record, assessment);
    const claim: RemovalClaim = {
      owner: currentOwner(),
      token,
      startedAt: new Date().toISOString(),
      archived,
    };
    await ctx.registry.mutate((all) =>
      all.map((r) =>
        r.id === id ? { ...r, status: 'idle', updatedAt: claim.startedAt, removal: claim } : r,
      ),
    );
    return { archived };
  });
  if (decision === 'full') return removeInstead();
  const { archived } = decision;
  releaseSlot(ctx, id);
  ctx.telemetry.record({ type: 'cleanup-start', ...eventBase });
  try {
    // Detached at the base: the branch is free for the policy below and for any later worktree.
    await runGit(['checkout', '--quiet', '--force', '--detach', record.baseCommit], {
      cwd: record.path,
      signal,
      env: { [WORKTREE_ID_VAR]: id },
    });
    await cleanWorktree(record.path, keepPaths, signal);
    const idle = await ctx.lock.run(async () => {
      const branch = await settleBranch(ctx, record, assessment, { deleteBranch: true });
      const now = new Date().toISOString();
      const slot = record.slot as string;
      const next: WorktreeInfo = {
        id: slot,
        issueNumber: 0,
        path: record.path,
        branchName: '',
        baseBranch: record.baseBranch,
        baseCommit: record.baseCommit,
        reusedBranch: false,
        createdAt: now,
        status: 'idle',
        updatedAt: now,
        owner: currentOwner(),
        ...(record.worktreeDir !== undefined ? { worktreeDir: record.worktreeDir } : {}),
        slot,
        ...(record.reuses !== undefined ? { reuses: record.reuses } : {}),
        ...(record.ports ? { ports: record.ports } : {}),
      };
      await ctx.registry.mutate((all) => [...all.filter((r) => r.id !== id && r.id !== slot), next]);
      return { next, branch };
    });
    ctx.telemetry.record({
      type: 'cleanup-complete',
      ...eventBase,
      durationMs: Math.round(performance.now() - started),
      archived: archived !== null,
      branchDeleted: idle.branch.branchDeleted,
    });
    return {
      idle: idle.next,
      removed: null,
      archived,
      ...idle.branch,
      ...(stoppedProcesses.length > 0 ? { stoppedProcesses } : {}),
    };
  } catch (error) {
    // The archive is written: the next removal takes over from it at once.
    await ctx.lock
      .run(() =>
        setClaim(ctx, id, (claim) => (claim?.token === token ? { ...claim, failed: String(error) } : claim)),
      )
      .catch(() => {});
    throw recordFailure(ctx, 'cleanup', eventBase, started, error);
  }
}

/** What a claim needs to know about the task taking the worktree. */
export interface ClaimPlan {
  readonly id: string;
  readonly issueNumber: number;
  readonly branchName: string;
  /** Its commit is read under the lock as the worktree is claimed: the tip when the task starts. */
  readonly base: BaseBranchRef;
  readonly keepPaths: readonly string[];
  readonly signal: AbortSignal | undefined;
  /** Applies the create's policy to an existing branch (restart a stale one, or keep it); under the lock. */
  readonly inspectExistingBranch: (base: BaseRef) => Promise<StaleBranch | undefined>;
}

/**
 * Takes an idle worktree for a task and switches it to the task's branch from the task's own base
 * commit, then deletes every untracked and ignored file but `keepPaths`: the task finds what a fresh
 * worktree holds. An idle worktree whose folder vanished or whose files changed while idle is
 * removed (archiving any change) and the next one tried. Undefined when none is left.
 */
export async function claimIdleWorktree(
  ctx: ManagerContext,
  plan: ClaimPlan,
): Promise<WorktreeInfo | undefined> {
  for (;;) {
    plan.signal?.throwIfAborted();
    const candidate = (await ctx.registry.read()).find(isClaimable);
    if (!candidate) return undefined;
    if (!(await isPristine(candidate, plan.signal))) {
      safeLog(
        ctx.logger,
        'warn',
        { worktreeId: candidate.id, path: candidate.path },
        'idle worktree changed or vanished while idle: archived and removed instead of reused',
      );
      await removeWorktree(ctx, candidate.id, {}).catch((error: unknown) => {
        safeLog(ctx.logger, 'warn', { worktreeId: candidate.id, err: String(error) }, 'could not remove it');
      });
      continue;
    }
    // An existing branch is checked out as it is (as a fresh create does), never reset: it may hold work.
    const branchExists =
      (
        await runGit(['rev-parse', '--verify', '--quiet', `refs/heads/${plan.branchName}`], {
          cwd: ctx.repo.root,
          okExitCodes: [0, 1],
        })
      ).exitCode === 0;
    const now = new Date().toISOString();
    const info: Omit<WorktreeInfo, 'baseCommit'> = {
      id: plan.id,
      issueNumber: plan.issueNumber,
      path: candidate.path,
      branchName: plan.branchName,
      baseBranch: plan.base.name,
      reusedBranch: branchExists,
      createdAt: now,
      status: 'active',
      updatedAt: now,
      owner: currentOwner(),
      ...(candidate.worktreeDir !== undefined ? { worktreeDir: candidate.worktreeDir } : {}),
      ...(candidate.slot !== undefined ? { slot: candidate.slot } : {}),
      reuses: (candidate.reuses ?? 0) + 1,
      ...(candidate.ports ? { ports: candidate.ports } : {}),
    };
    const claimed = await ctx.lock.run(async () => {
      // Ports stay with the folder across tasks; one made before `ports` was configured gets a block now.
      const records = await ctx.registry.read();
      const current = records.find((r) => r.id === candidate.id);
      if (!current || !isClaimable(current)) return undefined;
      const ports = info.ports ?? (await allocatePorts(ctx, records));
      // As a fresh create does: the base's tip now, never one read earlier (a merge may have moved it).
      const base = await baseAtTip(ctx.repo, plan.base);
      const staleBranch = branchExists ? await plan.inspectExistingBranch(base) : undefined;
      const taken: WorktreeInfo = {
        ...info,
        baseCommit: base.commit,
        ...(ports ? { ports } : {}),
        ...(staleBranch ? { staleBranch } : {}),
      };
      await ctx.registry.mutate((all) =>
        all.map((r) => (r.id === candidate.id && isClaimable(r) ? taken : r)),
      );
      return taken;
    });
    // Another process took it first: try the next one.
    if (!claimed) continue;
    try {
      await switchToTask(claimed, plan, branchExists);
      return claimed;
    } catch (error) {
      // The record is the task's now: removing it archives whatever the half reset left.
      await removeWorktree(ctx, info.id, { deleteBranch: !branchExists }).catch(() => {});
      if (/is already (checked out|used by worktree)|already checked out at/i.test(gitStderr(error))) {
        throw new MiyabiError(
          'BRANCH_IN_USE',
          `branch '${plan.branchName}' is already checked out in another worktree`,
          { cause: error, details: { branchName: plan.branchName } },
        );
      }
      throw error;
    }
  }
}

function isClaimable(record: WorktreeInfo): boolean {
  return (
    record.status === 'idle' && record.slot !== undefined && record.id === record.slot && !record.removal
  );
}

/** True when an idle worktree is as its release left it: detached at its base, nothing changed. */
async function isPristine(record: WorktreeInfo, signal: AbortSignal | undefined): Promise<boolean> {
  if (!existsSync(record.path)) return false;
  const state = await readWorktreeState(record.path, signal).catch(() => undefined);
  return (
    state !== undefined &&
    state.branch === undefined &&
    state.head === record.baseCommit &&
    state.uncommittedPaths.length === 0
  );
}

/** `checkout -f` to the task's branch (new from its base commit, or the existing one), then clean. */
async function switchToTask(info: WorktreeInfo, plan: ClaimPlan, branchExists: boolean): Promise<void> {
  const env = { [WORKTREE_ID_VAR]: info.id, GIT_LFS_SKIP_SMUDGE: '1' };
  // `-b`, not `-B`: a branch made meanwhile by someone else fails here instead of being reset.
  const args = branchExists
    ? ['checkout', '--quiet', '--force', info.branchName]
    : ['checkout', '--quiet', '--force', '--no-track', '-b', info.branchName, info.baseCommit];
  await runGit(args, { cwd: info.path, signal: plan.signal, env, timeoutMs: 30 * 60_000 });
  await cleanWorktree(info.path, plan.keepPaths, plan.signal);
}

/** Deletes every untracked and ignored file but `keepPaths` (anchored at the root). */
async function cleanWorktree(
  path: string,
  keepPaths: readonly string[],
  signal: AbortSignal | undefined,
): Promise<void> {
  const keep = keepPaths.flatMap((keepPath) => ['-e', `/${keepPath}`]);
  await runGit(['clean', '-ffdxq', ...keep], { cwd: path, signal, timeoutMs: 30 * 60_000 });
}
