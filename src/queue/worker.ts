import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { DelayedError, type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { assertOptionInRange } from '../core/limits.js';
import { MiyabiError } from '../errors.js';
import { runGit } from '../git/run-git.js';
import { type Logger, safeLog, silentLogger } from '../log.js';
import { WorktreeManager } from '../manager/worktree-manager.js';
import { endedEarly } from '../pool/ended-early.js';
import { describeError } from '../pool/task-outcome.js';
import { WorktreePool } from '../pool/worktree-pool.js';
import type { PrepareSettings } from '../setup/prepare-worktree.js';
import type { WorktreeEvent } from '../telemetry/events.js';
import { cancelChannel, cancelledReason, parseCancel } from './cancel-channel.js';
import { commandExecutor } from './command-executor.js';
import { checkRedisUrl, closeRedis, connectRedis } from './connection.js';
import { finishHandBack, handBackPool, prepareHandBack } from './hand-back-job.js';
import { JobPause, PausedWorktrees } from './job-pause.js';
import { jobPrepareSettings, refuseOutsideAllow } from './job-prepare.js';
import { withJobVariant } from './job-variant.js';
import { keepOrphanedWork } from './keep-orphaned-work.js';
import { batchGoneForMs, DEFAULT_ORPHAN_TIMEOUT_MS, orphanedError, watchOrphans } from './orphan-watch.js';
import { parseQueueJob, type QueueJobPayload } from './payload.js';
import { pushKeptBranch } from './push-kept-branch.js';
import { readPausedJob } from './queue-pause.js';
import { type ReclaimedWorktree, reclaimClone, removeBatchBases } from './reclaim-clone.js';
import { DEFAULT_REFUSAL_TIMEOUT_MS, REFUSAL_RETRY_MS, recordRefusal } from './refusals.js';
import { archiveRemoteBranch, ensureClone, fetchBase, followRemoteBranch } from './remote-git.js';
import { remoteQueue } from './remote-queue.js';
import { type OutputSender, sendTaskOutput } from './send-output.js';
import { placeArchives } from './share-archives.js';
import { checkQueueSecret, openJob } from './sign-job.js';
import { DEFAULT_QUEUE_NAME } from './types.js';
import { encodeFailure, type WireProgress, type WireResult } from './wire.js';
import { openCloneManager, openWorkerClone } from './worker-clone.js';

export interface QueueWorkerOptions {
  /** Redis URL of the queue. */
  readonly connection: string;
  /** Folder of this worker's clone of the batches' remote: cloned on start (from `remote`) when it does not exist. */
  readonly repo: string;
  /**
   * The shared remote this worker serves (a URL, or a path resolved against the current folder):
   * needed when `repo` does not exist yet; when it does, its `origin` must be this remote
   * (`REMOTE_MISMATCH`). @default the `origin` of the existing clone at `repo`
   */
  readonly remote?: string;
  /**
   * The queue's base name: the worker serves `<queueName>:<first 8 hex of sha1(remote URL)>`, the
   * queue of its clone's remote, so it only sees jobs it can serve. @default 'miyabi'
   */
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
  /**
   * A job of a batch whose submitter has been gone longer than this (its heartbeat in Redis
   * stopped) is cancelled: its process group killed, its work pushed to the remote's task branch,
   * the job failed with `BATCH_ORPHANED`; such a batch's waiting jobs are not started. `run
   * --resume` at the submitter continues the batch. @default 600_000 (10 minutes)
   */
  readonly orphanTimeoutMs?: number;
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
      /** The task's status, or `paused`: the job waits on the queue for a usage limit's reset. */
      readonly status: string;
      readonly code?: string;
    }
  | {
      /**
       * A job this worker would not run (untrusted, another version, a program outside `allow`, a
       * base it cannot fetch). `delayed`: left to the other workers; `failed`: every connected
       * worker refused it, or it waited past the queue timeout, or it is untrusted (never retried).
       */
      readonly kind: 'refused';
      readonly jobId: string;
      readonly code: string;
      readonly message: string;
      readonly outcome: 'delayed' | 'failed';
    };

export interface QueueWorker {
  readonly name: string;
  readonly host: string;
  /** The queue it serves: `<queueName>:<hash of its remote>`. */
  readonly queue: string;
  /** The remote its clone serves. */
  readonly remote: string;
  /** What a killed predecessor left in the clone, archived and removed on start (as `cleanupAll` does). */
  readonly reclaimed: readonly ReclaimedWorktree[];
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
  const concurrency = options.concurrency ?? 1;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
    throw new MiyabiError('INVALID_ARGUMENT', `concurrency must be a positive integer, got ${concurrency}`);
  }
  const host = hostname();
  const name = options.name ?? `${host}-${process.pid}`;
  const logger = options.logger ?? silentLogger;
  const allow = options.allow;
  const secret = checkQueueSecret(options.secret, 'secret');
  const orphanTimeoutMs = options.orphanTimeoutMs ?? DEFAULT_ORPHAN_TIMEOUT_MS;
  assertOptionInRange('orphanTimeoutMs', orphanTimeoutMs);
  const redis = await connectRedis(url, { logger });
  const subscriber = await connectRedis(url, { logger }).catch(async (error: unknown) => {
    await closeRedis(redis);
    throw error;
  });
  let remote: string;
  let manager: WorktreeManager | undefined;
  let reclaimed: ReclaimedWorktree[];
  try {
    remote = await openWorkerClone(repo, options.remote, process.cwd());
    manager = await openCloneManager(repo, concurrency, logger);
    // Before any job: a killed predecessor's agents and `active` worktrees would otherwise stay.
    reclaimed = manager ? await reclaimClone(manager, logger) : [];
  } catch (error) {
    await closeRedis(subscriber);
    await closeRedis(redis);
    throw error;
  }
  const target = remoteQueue(options.queueName ?? DEFAULT_QUEUE_NAME, remote);
  const queueName = target.id;
  // Only to see which workers are connected (for refusals): this worker's jobs come from `worker`.
  const peers = new Queue(target.bullName, { connection: redis, prefix: target.prefix });
  peers.on('error', () => undefined);
  const running = new Map<string, string>();
  const kept = new PausedWorktrees();
  // Jobs cancelled because their batch's submitter is gone: they fail BATCH_ORPHANED, their work kept.
  const orphaned = new Map<string, MiyabiError>();
  let gitTurn: Promise<unknown> = Promise.resolve();
  // One clone, fetch or ref update at a time in this worker's repository.
  const serial = <T>(step: () => Promise<T>): Promise<T> => {
    const next = gitTurn.then(step, step);
    gitTurn = next.catch(() => undefined);
    return next;
  };

  const processor = async (job: Job, token?: string, signal?: AbortSignal): Promise<WireResult> => {
    // A job this worker cannot serve is left to the others (delayed), and fails once all refused it.
    const refuse = async (error: unknown, timeoutMs = DEFAULT_REFUSAL_TIMEOUT_MS): Promise<never> => {
      const code = error instanceof MiyabiError ? error.code : 'QUEUE_PAYLOAD';
      const message = error instanceof Error ? error.message : String(error);
      const final =
        code === 'QUEUE_UNTRUSTED'
          ? error
          : await recordRefusal(redis, peers, target, job, { worker: name, host, code, message }, timeoutMs);
      safeLog(logger, 'warn', { jobId: job.id, code, outcome: final ? 'failed' : 'delayed' }, message);
      options.onJob?.({
        kind: 'refused',
        jobId: job.id ?? '',
        code,
        message,
        outcome: final ? 'failed' : 'delayed',
      });
      if (final) throw new UnrecoverableError(encodeFailure(final, name, host));
      await job.moveToDelayed(Date.now() + REFUSAL_RETRY_MS, token);
      throw new DelayedError();
    };
    let payload: QueueJobPayload;
    try {
      payload = parseQueueJob(openJob(job.data, secret));
    } catch (error) {
      return refuse(error, looseQueueTimeout(job.data));
    }
    const refusalTimeout = payload.queueTimeoutMs ?? DEFAULT_REFUSAL_TIMEOUT_MS;
    try {
      refuseOutsideAllow(payload.argv[0] ?? '', allow, 'the command');
    } catch (error) {
      await refuse(error, refusalTimeout);
    }
    let pause: JobPause;
    try {
      pause = await JobPause.open(
        {
          redis,
          queueId: queueName,
          job,
          token,
          payload,
          worker: name,
          repo,
          logger,
          kept,
          send: (event) => {
            send({ kind: 'event', worker: name, host, event });
            return sending.then(() => undefined);
          },
        },
        await readPausedJob(redis, queueName, job.id ?? ''),
      );
    } catch (error) {
      if (error instanceof DelayedError) throw error;
      return refuse(error, refusalTimeout);
    }
    const jobId = job.id ?? '';
    // A batch nobody waits for any more: its job ends before it touches the repository.
    const goneFor = await batchGoneForMs(redis, queueName, payload.batchId).catch(() => undefined);
    if (goneFor !== undefined && goneFor > orphanTimeoutMs) {
      const error = orphanedError(payload.batchId, goneFor, orphanTimeoutMs);
      options.onJob?.({
        kind: 'end',
        jobId,
        issueNumber: payload.issueNumber,
        status: 'failed',
        code: error.code,
      });
      throw new UnrecoverableError(encodeFailure(error, name, host));
    }
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
          ? {
              ...endedEarly({
                issueNumber: payload.issueNumber,
                status: 'cancelled',
                error: describeError(error, controller.signal),
                durationMs: Math.round(performance.now() - takenAt),
              }),
              worker: name,
              host,
            }
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
          await ensureClone(repo, payload.remote, controller.signal);
          await fetchBase(repo, payload.baseSha, payload.batchId, controller.signal);
          await runGit(['update-ref', `refs/heads/${baseBranch}`, payload.baseSha], { cwd: repo });
          // A hand-back continues the task's pushed branch; `continue` builds on the task's branch as
          // the remote has it; else an earlier one is archived there.
          if (payload.handBack) {
            await prepareHandBack(repo, payload, payload.handBack, controller.signal);
          } else if (pause.resumed) {
            // A paused task continues its own work (see JobPause.prepareWorktree), not the remote's branch.
          } else if (payload.existingBranches === 'continue') {
            await followRemoteBranch(repo, payload.branchName, controller.signal);
          } else {
            await archiveRemoteBranch(
              repo,
              payload.branchName,
              payload.batchId,
              payload.issueNumber,
              controller.signal,
            );
          }
        });
      } catch (error) {
        // Cancelled before any worktree existed: the task ends cancelled, not failed (and is not retried).
        const cancelled = cancelledBefore(error);
        if (cancelled) return cancelled;
        if (error instanceof MiyabiError && (error.code === 'REMOTE_MISMATCH' || error.code === 'NOT_FOUND'))
          await refuse(error, refusalTimeout);
        throw new Error(encodeFailure(error, name, host));
      }
      let prepare: Required<PrepareSettings>;
      try {
        prepare = await jobPrepareSettings(repo, payload, allow, controller.signal);
      } catch (error) {
        const cancelled = cancelledBefore(error);
        if (cancelled) return cancelled;
        // No attempt could run it: a setup outside --allow, or a configuration at the base that is invalid.
        return await refuse(error, refusalTimeout);
      }
      // The base is the job's own ref: a clone with no branch yet (a dangling remote HEAD) opens on it.
      manager ??= await WorktreeManager.open({
        repoPath: repo,
        maxConcurrency: concurrency,
        logger,
        baseBranch,
      });
      output = sendTaskOutput({
        redis,
        queueName,
        batchId: payload.batchId,
        issueNumber: payload.issueNumber,
        variant: payload.variant?.variant,
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
      // Every line travels through the batch's output stream (the live view takes its last ones there).
      const command = commandExecutor(payload.argv, {
        ...(payload.env ? { env: payload.env } : {}),
        ...(payload.pause?.resumeCommand ? { resumeCommand: payload.pause.resumeCommand } : {}),
      });
      const jobManager = manager;
      await kept.sweep({ redis, queueId: queueName, worker: name, logger }, jobManager);
      await serial(() => pause.prepareWorktree(jobManager, baseBranch, controller.signal));
      const handBack = payload.handBack
        ? handBackPool(payload, payload.handBack, command, manager)
        : undefined;
      const pool = new WorktreePool(manager, {
        maxConcurrency: concurrency,
        timeoutMs: pause.timeoutMs,
        // A hand-back's resolver waits out a limit in place, as before: it is no job of its own to delay.
        ...(payload.handBack ? {} : pause.poolOptions),
        ...(payload.maxMemory !== undefined ? { maxMemory: payload.maxMemory } : {}),
        push: { remote: 'origin' },
        autoCleanup: true,
        // The submitter's `reuse` (version 3); older submitters' jobs reuse worktrees, as workers did then.
        ...(payload.v >= 3
          ? {
              reuse: payload.reuse !== undefined,
              ...(payload.reuse
                ? { keepPaths: payload.reuse.keepPaths, maxIdle: payload.reuse.maxIdle }
                : {}),
            }
          : { reuse: true, maxIdle: concurrency }),
        existingBranches: pause.resumed ? 'continue' : (payload.existingBranches ?? 'restart'),
        prepare,
        ...handBack?.options,
      });
      const executor = withJobVariant(handBack?.executor ?? pause.executor(command), payload.variant);
      const batch = await pool.executeParallel(
        [
          {
            issueNumber: payload.issueNumber,
            ...(payload.variant ? { variant: payload.variant.variant } : {}),
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
      const first = batch.results[0];
      if (!first) throw new Error('the local pool returned no result');
      const orphan = orphaned.get(jobId);
      if (orphan) {
        const pushed = await keepOrphanedWork(repo, first, payload);
        options.onJob?.({
          kind: 'end',
          jobId,
          issueNumber: payload.issueNumber,
          status: 'failed',
          code: orphan.code,
        });
        const where = pushed
          ? `: its work is on the remote's ${pushed.ref} (${pushed.commit.slice(0, 12)})`
          : '';
        throw new UnrecoverableError(
          encodeFailure(
            new MiyabiError(orphan.code, `${orphan.message}${where}`, { hint: orphan.hintParts }),
            name,
            host,
          ),
        );
      }
      // At a usage limit the job waits on the queue from here (DelayedError), its work pushed.
      const ran = payload.handBack
        ? first
        : await pause.settle(first).catch((error: unknown) => {
            if (error instanceof DelayedError) {
              options.onJob?.({ kind: 'end', jobId, issueNumber: payload.issueNumber, status: 'paused' });
            }
            throw error;
          });
      const result = payload.handBack
        ? await finishHandBack(repo, manager, payload, ran)
        : payload.keep || ran.error?.code === 'USAGE_LIMIT'
          ? await pushKeptBranch(repo, ran, payload.baseSha, controller.signal)
          : ran;
      options.onJob?.({
        kind: 'end',
        jobId,
        issueNumber: payload.issueNumber,
        status: result.status,
        ...(result.error?.code ? { code: result.error.code } : {}),
      });
      await sending;
      const placed = await placeArchives(
        result,
        { worker: name, host, repo },
        payload.shareArchives === true,
        logger,
      );
      return { ...placed, worker: name, host } as WireResult;
    } finally {
      // Before the result is returned: the submitter closes a task's log once its output is all there.
      await output?.finish();
      signal?.removeEventListener('abort', onAbort);
      if (onEvent) manager?.off('event', onEvent);
      running.delete(jobId);
      orphaned.delete(jobId);
      // The batch's base branches go once no job of it runs here (a later one makes them again).
      await serial(() =>
        [...running.values()].includes(payload.batchId)
          ? Promise.resolve()
          : removeBatchBases(repo, payload.batchId),
      ).catch(() => undefined);
      await manager?.flush().catch(() => undefined);
    }
  };

  const worker = new Worker(target.bullName, processor, {
    connection: redis,
    prefix: target.prefix,
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
      if (batchId !== message.batchId) continue;
      if (message.jobIds === undefined || message.jobIds.includes(jobId))
        worker.cancelJob(jobId, message.reason);
    }
  });
  const orphans = watchOrphans({
    redis,
    queueId: queueName,
    timeoutMs: orphanTimeoutMs,
    batches: () => running.values(),
    onOrphaned: (batchId, goneForMs) => {
      const error = orphanedError(batchId, goneForMs, orphanTimeoutMs);
      for (const [jobId, runningBatch] of running) {
        if (runningBatch !== batchId || orphaned.has(jobId)) continue;
        safeLog(logger, 'warn', { batchId, jobId, goneForMs }, error.message);
        orphaned.set(jobId, error);
        worker.cancelJob(jobId, error.message);
      }
    },
  });
  void worker
    .run()
    .catch((error: unknown) => safeLog(logger, 'error', { error: String(error) }, 'queue worker stopped'));
  await worker.waitUntilReady();
  return {
    name,
    host,
    queue: queueName,
    remote,
    reclaimed,
    async close(closeOptions = {}) {
      orphans.stop();
      if (closeOptions.cancelRunning) worker.cancelAllJobs('the worker is stopping');
      await worker.close();
      await peers.close().catch(() => undefined);
      await closeRedis(subscriber);
      await closeRedis(redis);
    },
  };
}

export type { Redis };

/** The `queueTimeoutMs` of a job this worker cannot read (another version), when it says one. */
function looseQueueTimeout(data: unknown): number {
  const value =
    typeof data === 'object' && data !== null
      ? (data as { queueTimeoutMs?: unknown }).queueTimeoutMs
      : undefined;
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0
    ? value
    : DEFAULT_REFUSAL_TIMEOUT_MS;
}
