import { DEFAULT_ABORT_GRACE_MS } from '../core/limits.js';
import { MiyabiError } from '../errors.js';
import { commandOf } from '../queue/command-executor.js';
import type { CheckFailPolicy, PoolCreateOptions } from './types.js';

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
    queue: 'honoured',
    how: "the batch's jobs in flight at once (left out: all of them; each worker's own concurrency bounds what it runs)",
  },
  abortGraceMs: {
    queue: 'refused',
    why: "with queue, each worker's own grace applies",
    accepts: (value) => value === DEFAULT_ABORT_GRACE_MS,
  },
  autoCleanup: {
    queue: 'honoured',
    how: "false: each task's pushed branch gets a worktree here, kept as a local task's (see afterRemoteTask)",
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
    queue: 'honoured',
    how: "travels in each job; the worker puts it on the configuration at the job's base commit",
  },
  reuse: {
    queue: 'honoured',
    how: "travels in each job; the worker's pool takes and hands back idle worktrees",
  },
  keepPaths: { queue: 'honoured', how: 'travels in each job with reuse' },
  maxIdle: { queue: 'honoured', how: "travels in each job with reuse; bounds the worker's idle worktrees" },
  existingBranches: {
    queue: 'honoured',
    how: "travels in each job; with 'continue' the worker builds on the task's branch as the remote has it",
  },
  onConflict: {
    queue: 'honoured',
    how: "'keep' and 'remove' apply here; a hand-back ({ resolve }: a commandExecutor) is a job on a worker",
  },
  logRetention: {
    queue: 'honoured',
    how: "the remote tasks' logs here are pruned as a local batch's are",
  },
  logDir: {
    queue: 'honoured',
    how: "each task's output travels from its worker into its log here, under logDir",
  },
  pullRequest: {
    queue: 'honoured',
    how: 'opened here for each successful task, from the branch its worker pushed',
  },
  radarIntervalMs: { queue: 'refused', why: NO_RADAR, accepts: (value) => value === 0 },
  radarStatusIntervalMs: { queue: 'refused', why: NO_RADAR, accepts: (value) => value === 0 },
  onOverlap: { queue: 'refused', why: `${NO_RADAR}, and it acts on the radar's findings` },
  maxMemory: { queue: 'honoured', how: "travels in each job; the worker's pool stops a task above it" },
  minFreeMemory: {
    queue: 'refused',
    why: "with queue, tasks start on the workers' machines, whose free memory the submitter cannot see",
  },
  check: {
    queue: 'honoured',
    how: "each task's pushed branch is landed here: a worktree of it, the candidate checked, then compare-and-swap",
  },
  onCheckFail: {
    queue: 'honoured',
    how: "'keep' and 'remove' apply here; a fix ({ fix }: a commandExecutor) is a job on a worker, then the landing here again",
  },
  allowRedBase: { queue: 'honoured', how: 'the base is checked here before any job is sent' },
  pauseOn: {
    queue: 'honoured',
    how: 'travels in each job; a worker that meets a limit delays the job until the reset and pauses the program here',
  },
  pauseMaxMs: {
    queue: 'honoured',
    how: 'travels in each job; a task whose paused time would pass it ends USAGE_LIMIT, kept here',
  },
  variants: {
    queue: 'honoured',
    how: "each attempt is one job (any worker takes it); the gate, the score and the winner's landing happen here, on the fetched attempt branches",
  },
  score: { queue: 'honoured', how: "runs here, in each passing attempt's worktree of its fetched branch" },
  variantsStopAt: {
    queue: 'honoured',
    how: "the issue's other jobs are taken off the queue, or stopped on their workers",
  },
};

/**
 * With `queue`, a failing check is handed back to a worker as a command: `onCheckFail: { fix }`
 * must be a `commandExecutor` (its argv travels in the job), as `onConflict`'s `resolve` must.
 */
function refuseFunctionFixOnQueue(policy: CheckFailPolicy | undefined): void {
  if (typeof policy !== 'object' || policy === null || typeof policy.fix !== 'function') return;
  if (commandOf(policy.fix)) return;
  throw new MiyabiError(
    'INVALID_ARGUMENT',
    'onCheckFail: a pool with queue hands failing checks back to workers as commands, not functions',
    {
      hint: "Pass onCheckFail: { fix: commandExecutor(['claude', '-p', '…']) }: its argv travels in the job.",
      details: { option: 'onCheckFail' },
    },
  );
}

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
  refuseFunctionFixOnQueue(options.onCheckFail);
}
