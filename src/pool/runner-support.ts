import { DEFAULT_ABORT_GRACE_MS } from '../core/limits.js';
import { MiyabiError } from '../errors.js';
import type { PoolCreateOptions } from './types.js';

/**
 * Whether the queue runner honours one pool option. A refused option given with `queue` fails the
 * batch before anything starts, unless `accepts` says its value is what the queue does anyway.
 */
export type QueueSupport =
  | { readonly queue: 'honoured'; readonly how: string }
  | {
      readonly queue: 'refused';
      /** Said after "<option>: "; starts "with queue, ". */
      readonly why: string;
      readonly accepts?: (value: unknown, options: PoolCreateOptions) => boolean;
    };

const REUSE_ONLY = 'with queue, workers make a fresh worktree for each job: there is no reuse it applies to';
const NO_RADAR = 'with queue, the conflict radar does not run (the task branches are on the workers)';

/**
 * Every option of `WorktreePool.create` (and so every `run` flag, which maps to one): honoured by
 * the queue runner, or refused with it. Typed over every key, so a new option cannot be left out.
 */
export const QUEUE_SUPPORT: { readonly [K in keyof Required<PoolCreateOptions>]: QueueSupport } = {
  cwd: { queue: 'honoured', how: 'finds the submitter’s repository' },
  repoPath: { queue: 'honoured', how: 'the submitter’s repository' },
  config: { queue: 'honoured', how: 'the submitter’s configuration file' },
  logger: { queue: 'honoured', how: 'the submitter’s log' },
  baseBranch: { queue: 'honoured', how: 'the base travels in each job' },
  branchPattern: { queue: 'honoured', how: 'each job carries its branch name' },
  queue: { queue: 'honoured', how: 'the queue itself' },
  timeoutMs: { queue: 'honoured', how: 'travels in each job; the worker enforces it' },
  failFast: { queue: 'honoured', how: 'the submitter takes waiting jobs off and stops running ones' },
  merge: { queue: 'honoured', how: 'each task’s pushed branch is fetched and merged here' },
  worktreeDir: {
    queue: 'refused',
    why: 'with queue, worktrees are made on the workers, in their own folders',
  },
  maxConcurrency: {
    queue: 'refused',
    why: "with queue, each worker's own concurrency bounds the tasks it runs; the batch does not bound its jobs in flight",
  },
  abortGraceMs: {
    queue: 'refused',
    why: "with queue, each worker's own grace applies",
    accepts: (value) => value === DEFAULT_ABORT_GRACE_MS,
  },
  autoCleanup: {
    queue: 'refused',
    why: 'with queue, worktrees live on the workers, which remove each one as its task ends',
    accepts: (value) => value === true,
  },
  push: {
    queue: 'refused',
    why: "with queue, workers push each task's branch to the queue's remote, not to another",
    // The branches reach the queue's remote anyway: pushing there is what the queue does.
    accepts: (value, options) =>
      ((value as { remote?: string } | undefined)?.remote ?? 'origin') ===
      (options.queue?.remote ?? 'origin'),
  },
  prepare: {
    queue: 'refused',
    why: "with queue, each worker prepares worktrees from its own clone's configuration",
  },
  reuse: {
    queue: 'refused',
    why: 'with queue, workers make a fresh worktree for each job',
    accepts: (value) => value === false,
  },
  keepPaths: { queue: 'refused', why: REUSE_ONLY },
  maxIdle: { queue: 'refused', why: REUSE_ONLY },
  existingBranches: {
    queue: 'refused',
    why: "with queue, each task's branch starts afresh from its base on a worker",
    accepts: (value) => value === 'restart',
  },
  onConflict: {
    queue: 'refused',
    why: "with queue, a conflicting task's branch stays on the remote: there is no worktree here to keep, remove or hand back",
  },
  logRetention: { queue: 'refused', why: 'with queue, no task logs are written here to prune' },
  logDir: { queue: 'refused', why: "with queue, task output stays in the workers' logs" },
  pullRequest: { queue: 'refused', why: 'with queue, pull requests are not opened' },
  radarIntervalMs: { queue: 'refused', why: NO_RADAR, accepts: (value) => value === 0 },
  radarStatusIntervalMs: { queue: 'refused', why: NO_RADAR, accepts: (value) => value === 0 },
  onOverlap: { queue: 'refused', why: `${NO_RADAR}, and it acts on the radar's findings` },
  pauseOn: { queue: 'refused', why: 'with queue, usage-limit pauses are not yet carried to the workers' },
  pauseMaxMs: { queue: 'refused', why: 'with queue, usage-limit pauses are not yet carried to the workers' },
};

/**
 * With `queue`, the first given option the queue runner does not honour (see {@link QUEUE_SUPPORT})
 * as `INVALID_ARGUMENT` naming it; an option left out (its default) is never refused.
 */
export function refuseUnsupportedOnQueue(options: PoolCreateOptions): void {
  if (options.queue === undefined) return;
  for (const [option, support] of Object.entries(QUEUE_SUPPORT) as [
    keyof PoolCreateOptions,
    QueueSupport,
  ][]) {
    const value = options[option];
    if (value === undefined || support.queue === 'honoured' || support.accepts?.(value, options)) continue;
    throw new MiyabiError('INVALID_ARGUMENT', `${option}: ${support.why}`, {
      hint: `Leave ${option} out, or run the batch without queue.`,
      details: { option, queue: 'refused' },
    });
  }
}
