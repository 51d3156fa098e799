import { type Job, Queue, QueueEvents } from 'bullmq';
import { expandBranchPattern } from '../config/config-types.js';
import { formatDuration } from '../config/duration.js';
import { runGit } from '../git/run-git.js';
import type { WorktreeManager } from '../manager/worktree-manager.js';
import { summarise } from '../pool/summarise.js';
import type {
  ExecuteOptions,
  PoolExecutionResult,
  PoolMergeOptions,
  TaskResult,
  WorktreeTask,
} from '../pool/types.js';
import { activeTraceparent } from '../telemetry/otel-spans.js';
import { publishCancel } from './cancel-channel.js';
import { closeRedis, connectRedis } from './connection.js';
import { mergeAtSubmitter, pushTargets } from './merge-at-submitter.js';
import { QUEUE_PAYLOAD_VERSION, type QueueJobPayload } from './payload.js';
import { ensureBaseOnRemote, remoteUrl } from './remote-git.js';
import { type RemoteOutput, readRemoteOutput } from './remote-output.js';
import { SIGNED_JOB_TTL_MS, signJob } from './sign-job.js';
import { DEFAULT_QUEUE_NAME, type PoolQueueOptions } from './types.js';
import { decodeFailure, type WireProgress, type WireResult } from './wire.js';

/** What the pool hands over to run a batch on the queue. */
export interface QueueBatch {
  readonly manager: WorktreeManager;
  readonly queue: PoolQueueOptions;
  readonly tasks: readonly WorktreeTask[];
  readonly argv: readonly string[];
  readonly timeoutMs: number;
  readonly failFast: boolean;
  readonly merge: PoolMergeOptions | undefined;
  /** The batch's id, chosen by the pool (its record and log folder are named by it). */
  readonly batchId: string;
  /** The pool's `logDir`, resolved: each task's output lands in `<logDir>/<batchId>/issue-<n>.log`. */
  readonly logDir: string;
  /** Called once the batch is about to be enqueued (Redis answered, the base is on the remote). */
  readonly onStart?: () => Promise<void>;
}

/** How often the submitter counts connected workers (for "waiting for workers"). */
const WORKER_POLL_MS = 1_000;

/**
 * Runs a batch on the queue: pushes the base where workers can fetch it, enqueues one job per task,
 * waits for their results (bounded by `queueTimeoutMs` while no worker takes a task), merges each
 * success here with `merge`, then pushes the targets with a lease. Fail-fast and the caller's signal
 * take waiting jobs off the queue and tell workers to stop running ones. Results in input order.
 */
export async function executeOnQueue<T>(
  batch: QueueBatch,
  options: ExecuteOptions,
): Promise<PoolExecutionResult<T>> {
  const { manager, queue: queueOptions, tasks } = batch;
  const started = performance.now();
  const root = manager.repoPath;
  const signal = options.signal;
  const queueName = queueOptions.name ?? DEFAULT_QUEUE_NAME;
  const remoteName = queueOptions.remote ?? 'origin';
  const remote = await remoteUrl(root, remoteName, signal);
  // Redis first: an unreachable queue fails before the remote is written to.
  const redis = await connectRedis(queueOptions.connection);
  const eventsRedis = await connectRedis(queueOptions.connection).catch(async (error: unknown) => {
    await closeRedis(redis);
    throw error;
  });
  const batchId = batch.batchId;
  const queue = new Queue(queueName, { connection: redis });
  const events = new QueueEvents(queueName, { connection: eventsRedis });
  // Connection drops (a Redis restart) are retried by the clients: not the batch's failure.
  queue.on('error', () => undefined);
  events.on('error', () => undefined);
  const cleanups: (() => void)[] = [];
  let output: RemoteOutput | undefined;
  try {
    const bases = new Map<string, string>();
    for (const task of tasks) {
      const base = task.baseBranch ?? manager.baseBranch;
      if (!bases.has(base)) {
        const { stdout } = await runGit(['rev-parse', '--verify', `${base}^{commit}`], { cwd: root, signal });
        bases.set(base, stdout.trim());
      }
    }
    for (const sha of new Set(bases.values()))
      await ensureBaseOnRemote(root, remoteName, sha, batchId, signal);
    await events.waitUntilReady();

    const issueOfJob = new Map<string, number>();
    const jobIdOf = (issueNumber: number) => `${batchId}-${issueNumber}`;
    const takenBy = new Map<number, { worker: string; host: string }>();
    events.on('progress', ({ jobId, data }) => {
      const issueNumber = issueOfJob.get(jobId);
      if (issueNumber === undefined || typeof data !== 'object' || data === null) return;
      const update = data as WireProgress;
      if (update.kind === 'taken') {
        takenBy.set(issueNumber, { worker: update.worker, host: update.host });
        queueOptions.onProgress?.({ issueNumber, worker: update.worker, host: update.host });
      } else if (update.kind === 'line') {
        queueOptions.onProgress?.({
          issueNumber,
          worker: update.worker,
          host: update.host,
          line: update.line,
        });
      } else if (update.kind === 'event' && update.event.type !== 'task-complete') {
        // The worker's events join this batch's journal; the task's end is recorded here, after the merge.
        const { timestamp: _t, pid: _p, ...event } = update.event;
        manager.recordEvent({ ...event, batchId } as Parameters<WorktreeManager['recordEvent']>[0]);
      }
    });

    // The submitter's active span, so that each task's span on a worker is its child.
    const traceparent = activeTraceparent();
    const payloads = tasks.map(
      (task): QueueJobPayload => ({
        v: QUEUE_PAYLOAD_VERSION,
        batchId,
        remote,
        baseSha: bases.get(task.baseBranch ?? manager.baseBranch) ?? '',
        baseBranch: task.baseBranch ?? manager.baseBranch,
        issueNumber: task.issueNumber,
        branchName: task.branchName ?? expandBranchPattern(manager.branchPattern, task.issueNumber),
        ...(task.description !== undefined ? { description: task.description } : {}),
        argv: [...batch.argv],
        ...(task.context ? { context: { ...task.context, labels: [...task.context.labels] } } : {}),
        timeoutMs: batch.timeoutMs,
        ...(traceparent !== undefined ? { traceparent } : {}),
      }),
    );
    for (const payload of payloads) issueOfJob.set(jobIdOf(payload.issueNumber), payload.issueNumber);
    const attempts = queueOptions.attempts ?? 2;
    // Valid while a worker may still take the job: the wait for one, then every attempt's run.
    const expiresAt =
      Date.now() + (queueOptions.queueTimeoutMs ?? SIGNED_JOB_TTL_MS) + attempts * batch.timeoutMs;
    const secret = queueOptions.secret;
    await batch.onStart?.();
    // Every line of each task's output lands in its log here; the live view takes its last lines.
    output = await readRemoteOutput({
      connection: queueOptions.connection,
      redis,
      queueName,
      batchId,
      stateDir: manager.stateDir,
      logDir: batch.logDir,
      ...(queueOptions.onProgress ? { onProgress: queueOptions.onProgress } : {}),
    });
    const taskLogs = output;
    const jobs = await queue.addBulk(
      payloads.map((payload) => ({
        name: `issue-${payload.issueNumber}`,
        data: secret !== undefined ? signJob(payload, secret, expiresAt) : payload,
        opts: {
          jobId: jobIdOf(payload.issueNumber),
          attempts,
          removeOnComplete: { age: 86_400 },
          removeOnFail: { age: 86_400 },
        },
      })),
    );

    // A task settles once: from its job's end, or here when it is taken off the queue.
    const settlers = new Map<number, (result: TaskResult) => void>();
    const settled = new Set<number>();
    const enqueuedAt = Date.now();
    const offQueue = (
      issueNumber: number,
      status: 'cancelled' | 'timeout',
      code: string,
      message: string,
    ): TaskResult =>
      ({
        issueNumber,
        worktreeId: '',
        durationMs: Date.now() - enqueuedAt,
        cleanedUp: false,
        status,
        stage: 'create',
        error: { message, code },
      }) as TaskResult;
    const takeOff = async (
      status: 'cancelled' | 'timeout',
      code: string,
      message: string,
      onlyWaiting: boolean,
    ) => {
      for (const job of jobs) {
        const issueNumber = issueOfJob.get(job.id ?? '') ?? 0;
        if (settled.has(issueNumber)) continue;
        if (onlyWaiting && !['waiting', 'prioritized', 'delayed'].includes(await job.getState())) continue;
        // An active job is locked by its worker: removing it fails, and the worker is told instead.
        const removed = await job.remove().then(
          () => true,
          () => false,
        );
        if (removed) settlers.get(issueNumber)?.(offQueue(issueNumber, status, code, message));
      }
    };
    let cancelling: Promise<void> | undefined;
    const cancel = (reason: string) => {
      cancelling ??= (async () => {
        await publishCancel(redis, queueName, { batchId, reason });
        await takeOff('cancelled', 'CANCELLED', reason, false);
      })();
      return cancelling;
    };
    const onAbort = () => void cancel('batch aborted by the caller');
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    cleanups.push(() => signal?.removeEventListener('abort', onAbort));
    if (queueOptions.queueTimeoutMs !== undefined) {
      const timer = setTimeout(() => {
        void takeOff(
          'timeout',
          'TIMEOUT',
          `no worker took the task within ${formatDuration(queueOptions.queueTimeoutMs ?? 0)} (--queue-timeout)`,
          true,
        );
      }, queueOptions.queueTimeoutMs);
      cleanups.push(() => clearTimeout(timer));
    }
    let connected = -1;
    const countWorkers = async () => {
      const count = await queue.getWorkersCount().catch(() => connected);
      if (count !== connected) {
        connected = count;
        queueOptions.onWorkers?.(count);
      }
    };
    await countWorkers();
    const poll = setInterval(() => void countWorkers(), WORKER_POLL_MS);
    cleanups.push(() => clearInterval(poll));

    const mergeTargets = new Map<string, number[]>();
    let mergeTurn: Promise<unknown> = Promise.resolve();
    const results = await Promise.all(
      jobs.map(async (job: Job, index): Promise<TaskResult> => {
        const payload = payloads[index] as QueueJobPayload;
        const { issueNumber } = payload;
        const fromQueue = new Promise<TaskResult>((resolve) => settlers.set(issueNumber, resolve));
        const fromJob = job.waitUntilFinished(events).then(
          (value: WireResult) => fromWire(value),
          (error: unknown) => {
            const failure = decodeFailure(error instanceof Error ? error.message : String(error));
            const who = takenBy.get(issueNumber);
            const { worker, host, ...taskError } = failure;
            return {
              issueNumber,
              worktreeId: '',
              durationMs: Date.now() - enqueuedAt,
              cleanedUp: false,
              status: taskError.code === 'CANCELLED' ? 'cancelled' : 'failed',
              stage: 'create',
              error: taskError,
              ...((worker ?? who?.worker) ? { worker: worker ?? who?.worker } : {}),
              ...((host ?? who?.host) ? { host: host ?? who?.host } : {}),
            } as TaskResult;
          },
        );
        let result = await Promise.race([fromQueue, fromJob]);
        settled.add(issueNumber);
        await taskLogs.caughtUp();
        if (batch.merge && result.status === 'success') {
          const into = batch.merge.into ?? payload.baseBranch;
          const toMerge = result;
          const merged = mergeTurn.then(() =>
            mergeAtSubmitter({
              manager,
              remote: remoteName,
              batchId,
              result: toMerge,
              into,
              merge: batch.merge ?? {},
              signal,
            }),
          );
          mergeTurn = merged;
          result = (await merged) as TaskResult;
          if (result.status === 'success' && result.merge && result.merge.status !== 'up-to-date') {
            mergeTargets.set(into, [...(mergeTargets.get(into) ?? []), index]);
          }
        }
        if (batch.failFast && (result.status === 'failed' || result.status === 'timeout')) {
          void cancel(`fail-fast: issue ${issueNumber} ended ${result.status}`);
        }
        // Its log ends now, unless the targets' push at the end of the batch may still change its result.
        return batch.merge ? result : await taskLogs.ended(result);
      }),
    );
    await cancelling;
    const pushed = await pushTargets({ manager, remote: remoteName, targets: mergeTargets, results, signal });
    const final = await Promise.all(pushed.map((result) => taskLogs.ended(result)));
    for (const result of final) recordTaskComplete(manager, batchId, result);
    return summarise(batchId, final as TaskResult<T>[], Math.round(performance.now() - started));
  } finally {
    for (const cleanup of cleanups) cleanup();
    await output?.close();
    await events.close().catch(() => undefined);
    await queue.close().catch(() => undefined);
    await closeRedis(eventsRedis);
    await closeRedis(redis);
  }
}

/** A worker's result as this side's: its local paths mean nothing here. */
function fromWire(value: WireResult): TaskResult {
  const { worktreePath: _path, logFile: _log, ...rest } = value;
  return rest as TaskResult;
}

function recordTaskComplete(manager: WorktreeManager, batchId: string, result: TaskResult): void {
  // A task no worker took has no worktree, so no lifecycle events: its result says why.
  if (result.worktreeId === '') return;
  manager.recordEvent({
    type: 'task-complete',
    worktreeId: result.worktreeId,
    issueNumber: result.issueNumber,
    ...(result.branchName ? { branch: result.branchName } : {}),
    batchId,
    durationMs: result.durationMs,
    status: result.status,
    ...(result.status !== 'success'
      ? { stage: result.stage, ...(result.error.code ? { code: result.error.code } : {}) }
      : {}),
    ...(result.worker ? { worker: result.worker } : {}),
    ...(result.host ? { host: result.host } : {}),
  });
}
