import { appendFile } from 'node:fs/promises';
import type { WorktreeTask } from '../core/task.js';
import type { TaskResult } from '../core/task-result.js';
import type { WorktreeInfo } from '../core/types.js';
import { MiyabiError } from '../errors.js';
import { runGit } from '../git/run-git.js';
import type { WorktreeManager } from '../manager/worktree-manager.js';
import { commandExecutor } from '../queue/command-executor.js';
import { isBatchOwnerAlive } from '../state/batch-owner.js';
import { type BatchRecord, readBatchRecord, readBatchRecords } from '../state/batch-records.js';
import { reclaimStaleGitLocks } from '../state/stale-git-locks.js';
import type { BatchRecorder } from './batch-recorder.js';
import type { TaskExecutor } from './types.js';

/** What `resumeBatch` runs: the batch's record, the tasks to run again, and how. */
export interface ResumePlan<T> {
  readonly record: BatchRecord;
  readonly tasks: readonly WorktreeTask[];
  readonly executor: TaskExecutor<T>;
  /** Tasks whose merge the killed runner already made (their intent's commit is in the target). */
  readonly merged: ReadonlySet<number>;
}

/** What a queue runner needs to take a killed submitter's batch over (see `QueueRunnerOptions.resumed`). */
export interface QueueResume {
  readonly merged: ReadonlySet<number>;
  readonly mergedInto?: string;
}

/** A resumed queue batch: the tasks merged before the kill, and the target to push when any was. */
export function resumedQueue(record: BatchRecord, merged: ReadonlySet<number>): QueueResume {
  const into = record.mergeIntents?.[0]?.into ?? record.target.merge;
  return { merged, ...((record.mergeIntents?.length ?? 0) > 0 && into ? { mergedInto: into } : {}) };
}

/**
 * The batch `resumeBatch` continues (`batchId`, else the newest unfinished one), checked: it exists
 * here, it did not finish, it ran where this pool runs (`queue`: on a queue; else locally), its
 * runner is gone. Its tasks without a result (they were running or waiting) or cancelled (Ctrl-C)
 * run again; a cancelled local task's archived worktree is restored first, so it continues where it
 * stood (a queue task continues its remote branch on a worker).
 *
 * @throws MiyabiError `INVALID_ARGUMENT` for each of those, before anything is touched.
 */
export async function planResume<T>(
  manager: WorktreeManager,
  batchId: string | undefined,
  executor: TaskExecutor<T> | undefined,
  check?: unknown,
  queue = false,
): Promise<ResumePlan<T>> {
  const record = await findResumableBatch(manager, batchId);
  if ((record.options.queue !== undefined) !== queue) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      queue
        ? `batch ${record.id} ran here, not on a queue: resume it with a pool without queue`
        : `batch ${record.id} ran on queue ${record.options.queue}: resume it with a pool whose queue is that Redis`,
      {
        hint: queue
          ? `resumeBatch('${record.id}') on a pool without the queue option`
          : `resumeBatch('${record.id}') on a pool with queue: { connection: '${record.options.queueAt?.connection ?? 'redis://…'}' }`,
        details: { batchId: record.id },
      },
    );
  }
  if (record.options.check && check === undefined) {
    // Its landings would go in unchecked: the target would take what no check passed.
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `batch ${record.id} landed with a check (${record.options.check.command.join(' ')}): resume it with one`,
      {
        hint: `Create the pool with check: ${JSON.stringify(record.options.check.command)}, then resumeBatch('${record.id}').`,
      },
    );
  }
  await reclaimLeftLocks(manager);
  const run = executor ?? (record.command ? (commandExecutor(record.command) as TaskExecutor<T>) : undefined);
  if (!run) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `batch ${record.id} ran a function, not a command: pass the executor to resume it`,
      { hint: `resumeBatch('${record.id}', executor)` },
    );
  }
  const again = unfinished(record);
  const planned = record.tasks ?? record.issues.map((issueNumber) => ({ issueNumber }));
  const tasks = planned.filter((task) => again.includes(task.issueNumber));
  if (!queue) {
    await restoreArchived(
      manager,
      record.results.filter((result) => again.includes(result.issueNumber)),
    );
  }
  return { record, tasks, executor: run, merged: await mergedAlready(manager, record, again) };
}

/**
 * The batch `batchId` names (else the newest unfinished one), if it can be resumed: here, local,
 * unfinished, its runner gone.
 *
 * @throws MiyabiError `INVALID_ARGUMENT` saying why not.
 */
export async function findResumableBatch(
  manager: WorktreeManager,
  batchId: string | undefined,
): Promise<BatchRecord> {
  const record = batchId === undefined ? await newestUnfinished(manager) : await named(manager, batchId);
  if (record.endedAt === undefined && isBatchOwnerAlive(record.owner)) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `batch ${record.id} is still running (pid ${record.owner.pid} on ${record.owner.host})`,
      {
        hint: 'Wait for it to end, or stop that process; then resume it.',
        details: { pid: record.owner.pid },
      },
    );
  }
  if (unfinished(record).length === 0) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `batch ${record.id} finished: every task has its result, nothing to resume`,
    );
  }
  return record;
}

/** Batches (local or queue) that did not finish and whose runner is gone, oldest first (`status` lists them). */
export async function unfinishedBatches(manager: WorktreeManager): Promise<BatchRecord[]> {
  return (await readBatchRecords(manager.stateDir)).filter(resumable);
}

function resumable(record: BatchRecord): boolean {
  return !isBatchOwnerAlive(record.owner) && unfinishedRecord(record);
}

/** Killed before it ended, or ended with tasks cancelled (Ctrl-C, fail-fast). */
function unfinishedRecord(record: BatchRecord): boolean {
  return (
    unfinished(record).length > 0 &&
    (record.endedAt === undefined || record.results.some((r) => r.status === 'cancelled'))
  );
}

/** The issues whose merge intent's commit the target already contains: merged before the runner died. */
async function mergedAlready(
  manager: WorktreeManager,
  record: BatchRecord,
  issues: readonly number[],
): Promise<Set<number>> {
  const merged = new Set<number>();
  for (const intent of record.mergeIntents ?? []) {
    if (!issues.includes(intent.issueNumber)) continue;
    const contained = await runGit(
      ['merge-base', '--is-ancestor', intent.commit, `refs/heads/${intent.into}`],
      { cwd: manager.repoPath, okExitCodes: [0, 1, 128] },
    );
    if (contained.exitCode === 0) merged.add(intent.issueNumber);
  }
  return merged;
}

/** Before a task's merge moves its target: the branch tip and target, on disk in the batch record. */
export async function recordMergeIntent(
  recorder: BatchRecorder,
  worktree: WorktreeInfo,
  into: string | undefined,
): Promise<void> {
  const tip = await runGit(['rev-parse', '--verify', '-q', `refs/heads/${worktree.branchName}^{commit}`], {
    cwd: worktree.path,
    okExitCodes: [0, 1, 128],
  });
  if (tip.exitCode !== 0) return;
  await recorder.mergeIntent({
    issueNumber: worktree.issueNumber,
    branch: worktree.branchName,
    commit: tip.stdout.trim(),
    into: into ?? shortBranch(worktree.baseBranch),
    createdBranch: !worktree.reusedBranch,
    at: new Date().toISOString(),
  });
}

/** The executor of a task whose merge already landed: says so in its log, runs nothing. */
export const alreadyMerged: TaskExecutor = async (_worktree, task, ctx) => {
  await appendFile(
    ctx.logFile,
    `# miyabi-worktree: issue ${task.issueNumber}'s merge landed before its run was killed; the command is not run again\n`,
  );
  return undefined;
};

function shortBranch(base: string): string {
  return base
    .replace(/^refs\/heads\//, '')
    .replace(/^refs\/remotes\/[^/]+\//, '')
    .replace(/^origin\//, '');
}

/** The issues to run again: no result yet, or cancelled. */
export function unfinishedIssues(record: BatchRecord): number[] {
  return unfinished(record);
}

/** The issues to run again: no result yet, or cancelled (a variant's attempt's result is not its issue's). */
function unfinished(record: BatchRecord): number[] {
  return record.issues.filter((issue) => {
    const result = record.results.find((r) => r.issueNumber === issue && r.variant === undefined);
    return result === undefined || result.status === 'cancelled';
  });
}

async function named(manager: WorktreeManager, batchId: string): Promise<BatchRecord> {
  const record = await readBatchRecord(manager.stateDir, batchId);
  if (!record) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `no batch ${batchId} in this repository (${manager.repoPath})`,
      {
        hint: 'listBatches() lists the batches of this repository.',
        details: { batchId },
      },
    );
  }
  return record;
}

async function newestUnfinished(manager: WorktreeManager): Promise<BatchRecord> {
  // A running one is the newest too: refused below, naming its pid.
  const candidates = (await readBatchRecords(manager.stateDir)).filter(unfinishedRecord);
  const newest = candidates.at(-1);
  if (!newest) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `no unfinished batch to resume in this repository (${manager.repoPath})`,
      {
        hint: 'listBatches() lists the batches of this repository.',
      },
    );
  }
  return newest;
}

/**
 * Deletes the `*.lock` files the killed runner's git processes left (kill -9, a reboot): a stale
 * `index.lock` in a kept worktree would fail its resumed agent's first commit. Only stale ones,
 * while no git process runs in the repository (`reclaimStaleGitLocks`).
 */
async function reclaimLeftLocks(manager: WorktreeManager): Promise<void> {
  const common = await runGit(['rev-parse', '--path-format=absolute', '--git-common-dir'], {
    cwd: manager.repoPath,
  });
  const commonDir = common.stdout.trim();
  const worktrees = (await manager.listWorktrees()).map((worktree) => worktree.path);
  await reclaimStaleGitLocks(commonDir, {
    repoFolders: [manager.repoPath, commonDir, ...worktrees],
    dryRun: false,
  });
}

/** Brings back the worktrees cancelled tasks had archived, so they run again where they stood (best effort). */
async function restoreArchived(manager: WorktreeManager, results: readonly TaskResult[]): Promise<void> {
  const kept = new Set((await manager.listWorktrees()).map((worktree) => worktree.issueNumber));
  for (const result of results) {
    if (!result.archiveRef || result.worktreeId === '' || kept.has(result.issueNumber)) continue;
    // No archive (or a clash): the task starts on its branch, or fresh.
    const restored = await manager.restoreWorktree(result.worktreeId).catch(() => undefined);
    // Kept, not in use: the resumed task continues in it (as in a worktree a killed run left).
    if (restored) await manager.updateStatus(restored.id, 'failed').catch(() => undefined);
  }
}
