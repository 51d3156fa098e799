import { randomBytes } from 'node:crypto';
import { sameAttempt } from '../core/attempt.js';
import type { WorktreeManager } from '../manager/worktree-manager.js';
import { currentBatchOwner } from '../state/batch-owner.js';
import {
  type AttemptJudgement,
  type BatchOptions,
  type BatchRecord,
  type MergeIntent,
  updateBatchRecord,
} from '../state/batch-records.js';
import type { Overlap } from '../telemetry/events.js';
import type { PoolPullRequestOptions, TaskResult, WorktreeTask } from './types.js';
import type { ResolvedPoolConfig } from './worktree-pool.js';

/** Keeps a batch's record on disk as its tasks end: what every count of the batch derives from. */
export interface BatchRecorder {
  /** Adds one task's result (best effort: a record that cannot be written never fails the task). */
  taskEnded(result: TaskResult): Promise<void>;
  /** Records what the gate and the score said of a variant's attempt (`run --resume` keeps it). */
  attemptJudged(key: string, judgement: AttemptJudgement): Promise<void>;
  /** Records, on disk before it returns, that a task's merge is about to move its target. */
  mergeIntent(intent: MergeIntent): Promise<void>;
  /** Writes the final record and returns it (in memory as well, should the write fail). */
  finish(
    results: readonly TaskResult[],
    overlaps: readonly Overlap[],
    totalDurationMs: number,
  ): Promise<BatchRecord>;
}

/** A new batch's id: `batch-<time, base 36>-<6 hex>`, for local and queue batches alike. */
export function newBatchId(): string {
  return `batch-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/**
 * Writes the record of a batch that starts (`endedAt` absent) and returns its recorder. With
 * `resume`, takes over that record instead (`run --resume`): its finished results stay, this
 * process becomes its owner, and the tasks run now replace only their own results.
 */
export async function startBatchRecord(
  manager: WorktreeManager,
  batchId: string,
  tasks: readonly WorktreeTask[],
  config: ResolvedPoolConfig,
  startedAt: Date = new Date(),
  plan: { readonly command?: readonly string[]; readonly resume?: BatchRecord } = {},
): Promise<BatchRecorder> {
  const base = manager.baseBranch;
  const prior = plan.resume;
  const issues = prior ? [...prior.issues] : tasks.map((task) => task.issueNumber);
  const rerun = new Set(tasks.map((task) => task.issueNumber));
  const { endedAt: _ended, totalDurationMs: _total, ...kept } = prior ?? ({} as Partial<BatchRecord>);
  let record: BatchRecord = prior
    ? {
        ...(kept as BatchRecord),
        owner: currentBatchOwner(),
        // A variant's attempt that ended keeps its result: only its unfinished siblings run again.
        results: prior.results.filter(
          (result) =>
            !rerun.has(result.issueNumber) || (result.variant !== undefined && result.status !== 'cancelled'),
        ),
        resumes: [...(prior.resumes ?? []), { at: new Date().toISOString(), pid: process.pid }],
        updatedAt: new Date().toISOString(),
      }
    : {
        version: 1,
        id: batchId,
        startedAt: startedAt.toISOString(),
        owner: currentBatchOwner(),
        base: { branch: base },
        target: {
          ...(config.merge ? { merge: config.merge.into ?? base } : {}),
          ...(config.push ? { push: config.push.remote ?? 'origin' } : {}),
        },
        options: batchOptions(config),
        issues,
        tasks: tasks.map(plainTask),
        ...(plan.command ? { command: [...plan.command] } : {}),
        results: [],
        overlaps: [],
        updatedAt: new Date().toISOString(),
      };
  const save = (change: (current: BatchRecord) => BatchRecord) => {
    record = change(record);
    return updateBatchRecord(manager.stateDir, batchId, (onDisk) => change(onDisk ?? record)).then(
      (written) => {
        if (written) record = written;
      },
      () => {},
    );
  };
  // On disk before any task starts: `logs -f <issue>` waits on the running batch's issues.
  await save((current) => (prior ? record : current));
  // Writes in the order tasks end; one at a time.
  let chain: Promise<void> = Promise.resolve();
  const order = (results: readonly TaskResult[]) =>
    [...results].sort((a, b) => issues.indexOf(a.issueNumber) - issues.indexOf(b.issueNumber));
  return {
    taskEnded(result) {
      chain = chain.then(() =>
        save((current) =>
          current.results.some((r) => sameAttempt(r, result))
            ? current
            : { ...current, results: order([...current.results, result]) },
        ),
      );
      return chain;
    },
    attemptJudged(key, judgement) {
      chain = chain.then(() =>
        save((current) => ({ ...current, judgements: { ...current.judgements, [key]: judgement } })),
      );
      return chain;
    },
    mergeIntent(intent) {
      chain = chain.then(() =>
        save((current) => ({
          ...current,
          mergeIntents: [
            ...(current.mergeIntents ?? []).filter((i) => i.issueNumber !== intent.issueNumber),
            stickyCreatedBranch(current.mergeIntents, intent),
          ],
        })),
      );
      return chain;
    },
    async finish(results, overlaps, totalDurationMs) {
      chain = chain.then(() =>
        save((current) => ({
          ...current,
          endedAt: new Date().toISOString(),
          // A later `merge` in another process may already have settled a task: keep what it wrote.
          results: order([
            // A resumed batch keeps the results of the tasks it did not run again.
            ...current.results.filter((r) => !results.some((result) => result.issueNumber === r.issueNumber)),
            ...results.map(
              (result) =>
                current.results.find((r) => r.issueNumber === result.issueNumber && r.settledLater) ?? result,
            ),
          ]),
          overlaps: prior ? [...prior.overlaps, ...overlaps] : overlaps,
          totalDurationMs: (prior?.totalDurationMs ?? 0) + totalDurationMs,
        })),
      );
      await chain;
      return record;
    },
  };
}

/** A task as plain JSON data (its issue text kept: a resumed task gets the same context). */
function plainTask(task: WorktreeTask): WorktreeTask {
  try {
    return JSON.parse(JSON.stringify(task)) as WorktreeTask;
  } catch {
    // Metadata that is no JSON data (a cycle, a BigInt) is left out rather than lose the record.
    const { metadata: _dropped, ...rest } = task;
    return JSON.parse(JSON.stringify(rest)) as WorktreeTask;
  }
}

function batchOptions(config: ResolvedPoolConfig): BatchOptions {
  const merge = config.merge;
  return {
    maxConcurrency: config.maxConcurrency,
    timeoutMs: config.timeoutMs,
    failFast: config.failFast,
    autoCleanup: config.autoCleanup,
    reuse: config.reuse,
    existingBranches: config.existingBranches,
    onConflict: typeof config.onConflict === 'object' ? 'resolve' : config.onConflict,
    ...(merge
      ? {
          merge: {
            ...(merge.into !== undefined ? { into: merge.into } : {}),
            ...(merge.strategy !== undefined ? { strategy: merge.strategy } : {}),
          },
        }
      : {}),
    ...(config.push ? { push: { remote: config.push.remote ?? 'origin' } } : {}),
    pullRequest: config.pullRequest !== undefined,
    ...(config.pullRequest ? { pullRequestTo: pullRequestTo(config.pullRequest) } : {}),
    ...(config.queue
      ? {
          queue: config.queue.name ?? 'miyabi',
          queueAt: {
            connection: withoutPassword(config.queue.connection),
            remote: config.queue.remote ?? 'origin',
            ...(config.queue.queueTimeoutMs !== undefined
              ? { queueTimeoutMs: config.queue.queueTimeoutMs }
              : {}),
            ...(config.queue.shareArchives === true ? { shareArchives: true as const } : {}),
          },
        }
      : {}),
    ...variantOptions(config),
    // What a resumed batch must land with: a landing resumed without its check would land unchecked.
    ...(config.check
      ? {
          check: {
            command: [...config.check.command],
            timeoutMs: config.check.timeoutMs,
            batch: config.check.batch,
          },
          onCheckFail: typeof config.onCheckFail === 'object' ? 'agent' : config.onCheckFail,
          ...(config.allowRedBase ? { allowRedBase: true } : {}),
        }
      : {}),
  };
}

/** The variants a batch ran with, as plain data: none when each issue ran once. */
function variantOptions(
  config: ResolvedPoolConfig,
): Pick<BatchOptions, 'variants' | 'score' | 'variantsStopAt'> {
  const only = config.variants.length === 1 ? config.variants[0] : undefined;
  const plain = config.variants.length === 1 && only?.command === undefined && only?.env === undefined;
  return {
    ...(plain ? {} : { variants: JSON.parse(JSON.stringify(config.variants)) as BatchOptions['variants'] }),
    ...(config.score
      ? { score: { command: [...config.score.command], timeoutMs: config.score.timeoutMs } }
      : {}),
    ...(config.variantsStopAt !== undefined ? { variantsStopAt: config.variantsStopAt } : {}),
  };
}

/** Where the batch opens its pull requests, as plain data (no client, no token). */
function pullRequestTo(options: PoolPullRequestOptions): NonNullable<BatchOptions['pullRequestTo']> {
  const repo = typeof options.repo === 'string' ? options.repo : `${options.repo.owner}/${options.repo.repo}`;
  const baseUrl = options.client?.baseUrl ?? options.baseUrl;
  return {
    repo,
    ...(baseUrl !== undefined ? { baseUrl } : {}),
    ...(options.draft !== undefined ? { draft: options.draft } : {}),
    ...(options.reviewers?.length ? { reviewers: [...options.reviewers] } : {}),
    ...(options.labels?.length ? { labels: [...options.labels] } : {}),
  };
}

/** A Redis URL as a record may keep it: its password left out. */
function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === '') return url;
    parsed.password = '';
    return parsed.toString();
  } catch {
    return '';
  }
}

/** A resumed task checks its first run's branch out as an existing one: that it was the batch's stays known. */
function stickyCreatedBranch(earlier: readonly MergeIntent[] | undefined, intent: MergeIntent): MergeIntent {
  const created = earlier?.some(
    (i) => i.issueNumber === intent.issueNumber && i.branch === intent.branch && i.createdBranch === true,
  );
  return created ? { ...intent, createdBranch: true } : intent;
}
