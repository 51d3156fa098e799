import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { MiyabiError } from '../errors.js';
import { runGit } from '../git/run-git.js';
import { type Logger, safeLog, silentLogger } from '../log.js';
import { WorktreeManager } from '../manager/worktree-manager.js';
import { describeError } from '../pool/task-outcome.js';
import { WorktreePool } from '../pool/worktree-pool.js';
import type { WorktreeEvent } from '../telemetry/events.js';
import { cancelChannel, cancelledReason, parseCancel } from './cancel-channel.js';
import { commandExecutor } from './command-executor.js';
import { checkRedisUrl, closeRedis, connectRedis } from './connection.js';
import { parseQueueJob, type QueueJobPayload } from './payload.js';
import { archiveRemoteBranch, ensureClone, fetchBase } from './remote-git.js';
import { type OutputSender, sendTaskOutput } from './send-output.js';
import { checkQueueSecret, openJob } from './sign-job.js';
import { DEFAULT_QUEUE_NAME } from './types.js';
import { encodeFailure, type WireProgress, type WireResult } from './wire.js';

export interface QueueWorkerOptions {
  /** Redis URL of the queue. */
  readonly connection: string;
  /** Folder of this worker's clone of the batches' remote: cloned on the first job when it does not exist. */
  readonly repo: string;
  /** The BullMQ queue's name. @default 'miyabi' */
  readonly queueName?: string;
  /** Jobs at once. @default 1 */
  readonly concurrency?: number;
  /** This worker's name, unique per process (shown on each task it runs). @default '<host>-<pid>' */
  readonly name?: string;
  /** Programs (argv[0], exactly) this worker runs; others fail with `COMMAND_NOT_ALLOWED`. @default any */
  readonly allow?: readonly string[];
  /**
   * Shared secret of the trusted submitters (their pool's `queue.secret`): a job not signed with it,
   * or expired, fails `QUEUE_UNTRUSTED` before any repository is touched, and is not retried.
   * @default undefined (any job is run: whoever can write to Redis can run commands here)
   */
  readonly secret?: string;
  /**
   * How long a job's lock lasts without renewal (renewed every half of it while the worker lives):
   * a dead worker's job is free again after this. Shorter finds dead workers sooner; too short
   * and a worker starved of CPU loses jobs it is still running. @default 30_000
   */
  readonly lockDurationMs?: number;
  /** How often this worker looks for stalled jobs (dead workers' jobs) and hands them out again. @default 30_000 */
  readonly stalledIntervalMs?: number;
  /** Times a job may stall (its worker died) before it fails. @default 2 */
  readonly maxStalledCount?: number;
  readonly logger?: Logger;
  /** Told of each job this worker takes and how it ended. */
  readonly onJob?: (activity: WorkerActivity) => void;
}

export type WorkerActivity =
  | {
      readonly kind: 'start';
      readonly jobId: string;
      readonly issueNumber: number;
      readonly argv: readonly string[];
    }
  | {
      readonly kind: 'end';
      readonly jobId: string;
      readonly issueNumber: number;
      readonly status: string;
      readonly code?: string;
    }
  | {
      /** A job this worker would not run (untrusted, another version, a program outside `allow`): failed, not retried. */
      readonly kind: 'refused';
      readonly jobId: string;
      readonly code: string;
      readonly message: string;
    };

export interface QueueWorker {
  readonly name: string;
  readonly host: string;
  /** Stops taking jobs; running ones are cancelled when `cancelRunning`, else awaited. */
  close(options?: { cancelRunning?: boolean }): Promise<void>;
}

/**
 * Starts a worker: takes jobs from the queue, runs each in a worktree of its own clone (fetched
 * first) through a local pool, pushes the task branch to the remote and returns the task's result.
 * Fails with `QUEUE_UNAVAILABLE` within 5 s when Redis does not answer.
 */
export async function startWorker(options: QueueWorkerOptions): Promise<QueueWorker> {
  const url = checkRedisUrl(options.connection, 'connection');
  const repo = resolve(options.repo);
  const queueName = options.queueName ?? DEFAULT_QUEUE_NAME;
  const concurrency = options.concurrency ?? 1;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
    throw new MiyabiError('INVALID_ARGUMENT', `concurrency must be a positive integer, got ${concurrency}`);
  }
  const host = hostname();
  const name = options.name ?? `${host}-${process.pid}`;
  const logger = options.logger ?? silentLogger;
  const allow = options.allow;
  const secret = checkQueueSecret(options.secret, 'secret');
  const redis = await connectRedis(url, { logger });
  const subscriber = await connectRedis(url, { logger }).catch(async (error: unknown) => {
    await closeRedis(redis);
    throw error;
  });
  const running = new Map<string, string>();
  let manager: WorktreeManager | undefined;
  let gitTurn: Promise<unknown> = Promise.resolve();
  // One clone, fetch or ref update at a time in this worker's repository.
  const serial = <T>(step: () => Promise<T>): Promise<T> => {
    const next = gitTurn.then(step, step);
    gitTurn = next.catch(() => undefined);
    return next;
  };

  const processor = async (job: Job, _token?: string, signal?: AbortSignal): Promise<WireResult> => {
    const refuse = (error: unknown): never => {
      const code = error instanceof MiyabiError ? error.code : 'QUEUE_PAYLOAD';
      const message = error instanceof Error ? error.message : String(error);
      safeLog(logger, 'warn', { jobId: job.id, code }, message);
      options.onJob?.({ kind: 'refused', jobId: job.id ?? '', code, message });
      throw new UnrecoverableError(encodeFailure(error, name, host));
    };
    let payload: QueueJobPayload;
    try {
      payload = parseQueueJob(openJob(job.data, secret));
    } catch (error) {
      return refuse(error);
    }
    const program = payload.argv[0] ?? '';
    if (allow && !allow.includes(program)) {
      refuse(
        new MiyabiError(
          'COMMAND_NOT_ALLOWED',
          `this worker does not run '${program}' (allowed: ${allow.join(', ') || 'nothing'})`,
        ),
      );
    }
    const jobId = job.id ?? '';
    const takenAt = performance.now();
    running.set(jobId, payload.batchId);
    options.onJob?.({ kind: 'start', jobId, issueNumber: payload.issueNumber, argv: payload.argv });
    let sending: Promise<unknown> = Promise.resolve();
    const send = (update: WireProgress) => {
      sending = sending.then(() => job.updateProgress(update as unknown as object)).catch(() => undefined);
    };
    send({ kind: 'taken', worker: name, host });
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let onEvent: ((event: WorktreeEvent) => void) | undefined;
    let output: OutputSender | undefined;
    try {
      const cancelled = await cancelledReason(redis, queueName, payload.batchId);
      if (cancelled !== undefined) controller.abort(new Error(cancelled));
      const cancelledBefore = (error: unknown): WireResult | undefined =>
        controller.signal.aborted
          ? ({
              issueNumber: payload.issueNumber,
              worktreeId: '',
              durationMs: Math.round(performance.now() - takenAt),
              cleanedUp: false,
              status: 'cancelled',
              stage: 'create',
              error: describeError(error, controller.signal),
              worker: name,
              host,
            } as WireResult)
          : undefined;
      // A batch cancelled before this job was taken: end it without touching the repository.
      if (controller.signal.aborted) {
        return cancelledBefore(new MiyabiError('CANCELLED', cancelled ?? 'cancelled')) as WireResult;
      }
      // One ref per base commit: jobs of one batch on other bases never move it under each other, so
      // the worktree starts from, and records, exactly the job's base.
      const baseBranch = `miyabi-base/${payload.batchId}-${payload.baseSha.slice(0, 12)}`;
      try {
        await serial(async () => {
          await mkdir(dirname(repo), { recursive: true });
          await ensureClone(repo, payload.remote, controller.signal);
          await fetchBase(repo, payload.baseSha, payload.batchId, controller.signal);
          await runGit(['update-ref', `refs/heads/${baseBranch}`, payload.baseSha], { cwd: repo });
          await archiveRemoteBranch(
            repo,
            payload.branchName,
            payload.batchId,
            payload.issueNumber,
            controller.signal,
          );
        });
      } catch (error) {
        // Cancelled before any worktree existed: the task ends cancelled, not failed (and is not retried).
        const cancelled = cancelledBefore(error);
        if (cancelled) return cancelled;
        if (error instanceof MiyabiError && (error.code === 'REMOTE_MISMATCH' || error.code === 'NOT_FOUND'))
          refuse(error);
        throw new Error(encodeFailure(error, name, host));
      }
      manager ??= await WorktreeManager.open({ repoPath: repo, maxConcurrency: concurrency, logger });
      output = sendTaskOutput({
        redis,
        queueName,
        batchId: payload.batchId,
        issueNumber: payload.issueNumber,
        // Started, not failed, attempts: a job restarted after its worker died is a new attempt too.
        attempt: Math.max(0, job.attemptsStarted - 1),
        worker: name,
        host,
        stateDir: manager.stateDir,
        logger,
      });
      const taskOutput = output;
      onEvent = (event: WorktreeEvent) => {
        if (event.issueNumber === payload.issueNumber && event.branch === payload.branchName) {
          send({ kind: 'event', worker: name, host, event });
          taskOutput.onEvent(event);
        }
      };
      manager.on('event', onEvent);
      const pool = new WorktreePool(manager, {
        maxConcurrency: concurrency,
        timeoutMs: payload.timeoutMs,
        push: { remote: 'origin' },
        autoCleanup: true,
        // Idle worktrees are switched to the next task's branch instead of made and removed each time.
        reuse: true,
        maxIdle: concurrency,
        existingBranches: 'restart',
      });
      // Every line travels through the batch's output stream (the live view takes its last ones there).
      const executor = commandExecutor(payload.argv);
      const batch = await pool.executeParallel(
        [
          {
            issueNumber: payload.issueNumber,
            branchName: payload.branchName,
            baseBranch,
            ...(payload.description !== undefined ? { description: payload.description } : {}),
            ...(payload.context !== undefined ? { context: payload.context } : {}),
            ...(payload.traceparent !== undefined ? { traceparent: payload.traceparent } : {}),
          },
        ],
        executor,
        { signal: controller.signal },
      );
      const result = batch.results[0];
      if (!result) throw new Error('the local pool returned no result');
      options.onJob?.({
        kind: 'end',
        jobId,
        issueNumber: payload.issueNumber,
        status: result.status,
        ...(result.error?.code ? { code: result.error.code } : {}),
      });
      await sending;
      return { ...result, worker: name, host } as WireResult;
    } finally {
      // Before the result is returned: the submitter closes a task's log once its output is all there.
      await output?.finish();
      signal?.removeEventListener('abort', onAbort);
      if (onEvent) manager?.off('event', onEvent);
      running.delete(jobId);
      await manager?.flush().catch(() => undefined);
    }
  };

  const worker = new Worker(queueName, processor, {
    connection: redis,
    concurrency,
    name,
    lockDuration: options.lockDurationMs ?? 30_000,
    stalledInterval: options.stalledIntervalMs ?? 30_000,
    maxStalledCount: options.maxStalledCount ?? 2,
    autorun: false,
  });
  worker.on('error', (error) => safeLog(logger, 'warn', { error: error.message }, 'queue worker error'));
  await subscriber.subscribe(cancelChannel(queueName));
  subscriber.on('message', (_channel: string, text: string) => {
    const message = parseCancel(text);
    if (!message) return;
    for (const [jobId, batchId] of running) {
      if (batchId === message.batchId) worker.cancelJob(jobId, message.reason);
    }
  });
  void worker
    .run()
    .catch((error: unknown) => safeLog(logger, 'error', { error: String(error) }, 'queue worker stopped'));
  await worker.waitUntilReady();
  return {
    name,
    host,
    async close(closeOptions = {}) {
      if (closeOptions.cancelRunning) worker.cancelAllJobs('the worker is stopping');
      await worker.close();
      await closeRedis(subscriber);
      await closeRedis(redis);
    },
  };
}

export type { Redis };
