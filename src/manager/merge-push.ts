import { existsSync } from 'node:fs';
import type {
  MergeResult,
  MergeWorktreeOptions,
  PushResult,
  PushWorktreeOptions,
  WorktreeInfo,
} from '../core/types.js';
import { isMiyabiError, MiyabiError } from '../errors.js';
import { mergeBranch } from '../git/merge.js';
import { pushBranch } from '../git/push.js';
import { assertValidBranchName } from '../git/repository.js';
import { safeLog } from '../log.js';
import type { ManagerContext } from './context.js';
import { recordFailure } from './record-failure.js';
import { foreignReason, readEntryLock } from './removal-refusals.js';
import { reclaimedAny } from './stale-locks.js';
import { assertWorktreeId } from './validate.js';
import { noLocalBranch } from './verify-targets.js';

/**
 * The record of a live worktree of ours (git knows it, its folder exists, it is not a foreign
 * record), read from the registry and git's admin folder without spawning git.
 */
export async function liveRecord(ctx: ManagerContext, id: string): Promise<WorktreeInfo> {
  assertWorktreeId(id);
  const record = (await ctx.registry.read()).find((r) => r.id === id);
  const lock = record && (await readEntryLock(ctx, record));
  if (!record || !lock?.known || !existsSync(record.path) || foreignReason(ctx, record, lock) !== undefined)
    throw new MiyabiError('NOT_FOUND', `no worktree with id '${id}'`, { details: { id } });
  return record;
}

/**
 * `mergeBranch`, where a target given as `into` that is no local branch is the caller's input,
 * refused like the pool's merge.into (found by the merge's own read of the tips: no extra git call).
 */
async function mergeIntoLocalBranch(
  options: Parameters<typeof mergeBranch>[0] & { readonly intoGiven: boolean },
): Promise<Awaited<ReturnType<typeof mergeBranch>>> {
  const { intoGiven, ...merge } = options;
  try {
    return await mergeBranch(merge);
  } catch (error) {
    if (intoGiven && isMiyabiError(error) && error.code === 'NOT_FOUND' && error.details?.into === merge.into)
      throw noLocalBranch(merge.into, 'into');
    throw error;
  }
}

/** Merges a worktree's branch back (see `WorktreeManager.mergeWorktree`). */
export async function mergeWorktree(
  ctx: ManagerContext,
  id: string,
  options: MergeWorktreeOptions = {},
): Promise<MergeResult> {
  const record = await liveRecord(ctx, id);
  const into = options.into ?? record.baseBranch;
  if (options.into !== undefined) await assertValidBranchName(options.into, 'into', ctx.repo.root);
  if (into === record.branchName) {
    throw new MiyabiError('INVALID_ARGUMENT', `cannot merge worktree ${id} into its own branch '${into}'`, {
      hint: 'Pass into: the branch that should receive the work, e.g. main.',
    });
  }
  const eventBase = eventBaseOf(record, options.batchId);
  return recordedMerge(ctx, eventBase, id, {
    source: record.branchName,
    into,
    intoGiven: options.into !== undefined,
    options,
  });
}

/**
 * The merge of `source` into `into` with its events (`merge-start`, then `merge-complete` or an
 * `error`) and log line: what `mergeWorktree` does, and a queue's submitter for a fetched branch.
 */
export async function recordedMerge(
  ctx: ManagerContext,
  eventBase: EventBase,
  id: string,
  merge: {
    readonly source: string;
    /** The branch `source` stands for, in the merge commit's message (a fetched branch's name). */
    readonly sourceName?: string;
    readonly into: string;
    /** `into` was the caller's: a missing target is refused as the caller's input. */
    readonly intoGiven: boolean;
    readonly options: MergeWorktreeOptions;
  },
): Promise<MergeResult> {
  const { source, into, options } = merge;
  const started = performance.now();
  ctx.telemetry.record({ type: 'merge-start', ...eventBase, into });
  const outcome = await recordingFailure(ctx, 'merge', eventBase, started, () =>
    mergeIntoLocalBranch({
      root: ctx.repo.root,
      source,
      ...(merge.sourceName !== undefined ? { sourceName: merge.sourceName } : {}),
      into,
      intoGiven: merge.intoGiven,
      ...(options.strategy ? { strategy: options.strategy } : {}),
      ...(options.message ? { message: options.message } : {}),
      signal: options.signal,
      withLock: ctx.lock.run,
      commonDir: ctx.repo.commonDir,
      reclaimStaleLocks: () => reclaimedAny(ctx),
    }),
  );
  const durationMs = Math.round(performance.now() - started);
  ctx.telemetry.record({
    type: 'merge-complete',
    ...eventBase,
    into: outcome.into,
    status: outcome.status,
    commit: outcome.commit,
    durationMs,
  });
  safeLog(
    ctx.logger,
    'info',
    {
      worktreeId: id,
      issueNumber: eventBase.issueNumber,
      branch: eventBase.branch,
      into,
      status: outcome.status,
      durationMs,
    },
    'merge',
  );
  return {
    id,
    branchName: eventBase.branch,
    into: outcome.into,
    strategy: outcome.strategy,
    status: outcome.status,
    commit: outcome.commit,
    previousCommit: outcome.previousCommit,
    updatedCheckout: outcome.updatedCheckout,
    changedFiles: outcome.changedFiles,
  };
}

/** Pushes a worktree's branch (see `WorktreeManager.pushWorktree`). */
export async function pushWorktree(
  ctx: ManagerContext,
  id: string,
  options: PushWorktreeOptions = {},
): Promise<PushResult> {
  const record = await liveRecord(ctx, id);
  const remote = options.remote ?? 'origin';
  const started = performance.now();
  const eventBase = eventBaseOf(record, options.batchId);
  ctx.telemetry.record({ type: 'push-start', ...eventBase, remote });
  const pushed = await recordingFailure(ctx, 'push', eventBase, started, () =>
    pushBranch({
      cwd: record.path,
      branch: record.branchName,
      remote,
      signal: options.signal,
      withLock: ctx.lock.run,
    }),
  );
  ctx.telemetry.record({
    type: 'push-complete',
    ...eventBase,
    remote,
    commit: pushed.commit,
    durationMs: Math.round(performance.now() - started),
  });
  safeLog(
    ctx.logger,
    'info',
    {
      worktreeId: id,
      issueNumber: record.issueNumber,
      branch: record.branchName,
      remote,
      durationMs: Math.round(performance.now() - started),
    },
    'push',
  );
  return { id, remote, branchName: record.branchName, commit: pushed.commit, upstream: pushed.upstream };
}

/** What every event of one task's merge or push carries. */
export interface EventBase {
  readonly worktreeId: string;
  readonly issueNumber: number;
  readonly branch: string;
  readonly batchId?: string;
}

function eventBaseOf(record: WorktreeInfo, batchId: string | undefined): EventBase {
  return {
    worktreeId: record.id,
    issueNumber: record.issueNumber,
    branch: record.branchName,
    ...(batchId !== undefined ? { batchId } : {}),
  };
}

/** Runs a step; its failure becomes an `error` event and is rethrown. */
async function recordingFailure<T>(
  ctx: ManagerContext,
  operation: 'merge' | 'push',
  eventBase: EventBase,
  started: number,
  step: () => Promise<T>,
): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw recordFailure(ctx, operation, eventBase, started, error);
  }
}
