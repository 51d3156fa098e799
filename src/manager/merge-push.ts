import { MiyabiError } from '../errors.js';
import { mergeBranch } from '../git/merge.js';
import { pushBranch } from '../git/push.js';
import { assertValidBranchName } from '../git/repository.js';
import { safeLog } from '../log.js';
import type { ManagerContext } from './context.js';
import { readWorktrees } from './list-worktrees.js';
import { recordFailure } from './record-failure.js';
import type {
  MergeResult,
  MergeWorktreeOptions,
  PushResult,
  PushWorktreeOptions,
  WorktreeInfo,
} from './types.js';
import { assertWorktreeId } from './validate.js';
import { assertLocalBranch } from './verify-targets.js';

export async function liveRecord(ctx: ManagerContext, id: string): Promise<WorktreeInfo> {
  assertWorktreeId(id);
  const { live } = await readWorktrees(ctx);
  const record = live.find((r) => r.id === id);
  if (!record) throw new MiyabiError('NOT_FOUND', `no worktree with id '${id}'`, { details: { id } });
  return record;
}

/** Merges a worktree's branch back (see `WorktreeManager.mergeWorktree`). */
export async function mergeWorktree(
  ctx: ManagerContext,
  id: string,
  options: MergeWorktreeOptions = {},
): Promise<MergeResult> {
  const record = await liveRecord(ctx, id);
  const into = options.into ?? record.baseBranch;
  if (options.into !== undefined) {
    await assertValidBranchName(options.into, 'into', ctx.repo.root);
    // A target that is no local branch is the caller's input, refused like the pool's merge.into.
    await assertLocalBranch(ctx.repo.root, options.into, 'into', options.signal);
  }
  if (into === record.branchName) {
    throw new MiyabiError('INVALID_ARGUMENT', `cannot merge worktree ${id} into its own branch '${into}'`, {
      hint: 'Pass into: the branch that should receive the work, e.g. main.',
    });
  }
  const started = performance.now();
  const eventBase = eventBaseOf(record, options.batchId);
  ctx.telemetry.record({ type: 'merge-start', ...eventBase, into });
  const outcome = await recordingFailure(ctx, 'merge', eventBase, started, () =>
    mergeBranch({
      root: ctx.repo.root,
      source: record.branchName,
      into,
      ...(options.strategy ? { strategy: options.strategy } : {}),
      ...(options.message ? { message: options.message } : {}),
      signal: options.signal,
      withLock: ctx.lock.run,
    }),
  );
  ctx.telemetry.record({
    type: 'merge-complete',
    ...eventBase,
    into: outcome.into,
    status: outcome.status,
    commit: outcome.commit,
    durationMs: Math.round(performance.now() - started),
  });
  safeLog(
    ctx.logger,
    'info',
    {
      worktreeId: id,
      issueNumber: record.issueNumber,
      branch: record.branchName,
      into,
      status: outcome.status,
      durationMs: Math.round(performance.now() - started),
    },
    'merge',
  );
  return {
    id,
    branchName: record.branchName,
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

interface EventBase {
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
