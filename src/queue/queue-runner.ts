import { type Job, Queue, QueueEvents } from 'bullmq';
import { expandBranchPattern } from '../config/config-types.js';
import { formatDuration } from '../config/duration.js';
import { type Attempt, attemptName } from '../core/attempt.js';
import { type BaseBranchRef, baseAtTip } from '../git/base-tip.js';
import { resolveBaseBranch } from '../git/repository.js';
import { runGit } from '../git/run-git.js';
import type { WorktreeManager } from '../manager/worktree-manager.js';
import { endedEarly } from '../pool/ended-early.js';
import type { PauseGate } from '../pool/pause-gate.js';
import { taskLogFile } from '../pool/task-log-hooks.js';
import { abortMessage, describeError } from '../pool/task-outcome.js';
import type { RunnerTask, TaskRunner } from '../pool/task-runner.js';
import type { PoolMergeOptions, TaskResult, WorktreeTask } from '../pool/types.js';
import type { PrepareSettings } from '../setup/prepare-worktree.js';
import type { MergeIntent } from '../state/batch-records.js';
import { activeTraceparent } from '../telemetry/otel-spans.js';
import { taskCostFields } from '../telemetry/task-cost-fields.js';
import { afterRemoteTask, type RemoteTaskContext } from './after-remote-task.js';
import { publishCancel } from './cancel-channel.js';
import { closeRedis, connectRedis } from './connection.js';
import type { QueueHandBack } from './hand-back.js';
import { type IssueLease, takeIssueLease } from './issue-lease.js';
import { keepHeldAttempt, landedVariants } from './keep-held-attempt.js';
import { gitTurns, landAtSubmitter, type SubmitterLanding } from './land-at-submitter.js';
import { mergeAtSubmitter, pushTargets } from './merge-at-submitter.js';
import { QUEUE_PAYLOAD_VERSION, type QueueJobPayload } from './payload.js';
import { honourBatchPause } from './queue-pause.js';
import { mergedBeforeResume, reattachJob } from './reattach-batch.js';
import { refusalNote } from './refusals.js';
import { ensureBaseOnRemote, remoteUrl } from './remote-git.js';
import { type RemoteOutput, readRemoteOutput } from './remote-output.js';
import { remoteQueue } from './remote-queue.js';
import { fetchSharedArchives } from './share-archives.js';
import { SIGNED_JOB_TTL_MS, signJob } from './sign-job.js';
import { DEFAULT_QUEUE_NAME, type PoolQueueOptions } from './types.js';
import { attemptJobId, attemptOf, type PlannedVariant, stoppedBy, variantJob } from './variant-jobs.js';
import { decodeFailure, type WireProgress, type WireResult } from './wire.js';

/** What the pool hands over to run its batch's tasks on the queue. */
export interface QueueRunnerOptions {
  readonly manager: WorktreeManager;
  readonly queue: PoolQueueOptions;
  readonly batchId: string;
  /** The batch's issues: leased in Redis for as long as the batch runs (`ISSUE_BUSY` for another batch). */
  readonly issueNumbers: readonly number[];
  /** The command, placeholders unexpanded: the worker expands them against its worktree. */
  readonly argv: readonly string[];
  /** The command's extra environment (`commandExecutor`'s `env`), as a local run gives it. */
  readonly env: Readonly<Record<string, string>> | undefined;
  readonly timeoutMs: number;
  /** Bytes: travels in each job; the worker's pool stops the task above it. */
  readonly maxMemory: number | undefined;
  readonly merge: PoolMergeOptions | undefined;
  /** The pool's `reuse`, applied by each worker's pool. */
  readonly reuse: { readonly keepPaths: readonly string[]; readonly maxIdle: number } | undefined;
  /** The pool's `prepare` option as given: each worker puts it on the configuration at the job's base. */
  readonly prepare: PrepareSettings | undefined;
  /** The pool's `existingBranches`: with `continue` each worker builds on the remote's task branch. */
  readonly existingBranches: 'restart' | 'continue';
  /** What the submitter does after each task: keep it here, open its pull request, hand a conflict back. */
  readonly followUps: Pick<RemoteTaskContext, 'autoCleanup' | 'onConflict' | 'pullRequest' | 'logDir'>;
  /** The batch's signal (fail-fast, the caller's abort): workers are told to stop its running jobs. */
  readonly signal: AbortSignal;
  /** The pool's pause gate: a worker's usage limit closes it here for the program (no job of it released). */
  readonly gate: PauseGate;
  /** The pool's usage-limit settings, carried in each job (`resumeCommand`: the executor's). */
  readonly pause: {
    readonly pauseOn: readonly RegExp[];
    readonly pauseMaxMs: number;
    readonly resumeCommand: readonly string[] | undefined;
  };
  /** Written to the batch record before a merge here moves its target (so a resume never merges twice). */
  readonly recordIntent?: (intent: MergeIntent) => Promise<void>;
  /**
   * `run --resume` of this batch: each task's job the killed submitter left is re-attached to (see
   * `reattachJob`); tasks run again continue their remote branch with `MIYABI_RESUMED=1`. `merged`:
   * the tasks whose merge landed before the kill. `mergedInto`: a target the batch merged into
   * before, pushed at the end even when no task merges now.
   */
  readonly resumed?: { readonly merged: ReadonlySet<number>; readonly mergedInto?: string };
  /** With a check: each task landed here (checked, then compare-and-swap) instead of merged unchecked. */
  readonly landing?: Pick<SubmitterLanding, 'landing' | 'prepare'> | undefined;
  /**
   * With variants: an attempt whose landing waits for its issue's verdict. Its job runs as any, then
   * its pushed branch is kept here (a worktree of it) for the gate, the score and the landing here.
   */
  readonly held?: (task: WorktreeTask) => boolean;
  /** With variants: the attempt's variant (its own command and environment travel in its job). */
  readonly variantOf?: (task: WorktreeTask) => PlannedVariant | undefined;
}

/** How often the submitter counts connected workers (for "waiting for workers"). */
const WORKER_POLL_MS = 1_000;

/** States of a job no worker has taken yet: such a job can be taken off the queue. */
const WAITING = ['waiting', 'prioritized', 'delayed', 'waiting-children'];

/** Never sent to a worker: it would let the job's command sign jobs of its own. */
const NEVER_TRAVELS = new Set(['MIYABI_QUEUE_SECRET']);

/**
 * Opens the queue for one batch (Redis first: an unreachable queue fails before the remote is written
 * to) and returns the runner that sends each task as one job: the base branch's tip read as the task
 * is dispatched (pushed where workers can fetch it when the remote lacks it), the job enqueued, its
 * result awaited, and a success merged here (one merge at a time). `finish` pushes the merged targets
 * with a lease and closes the connection.
 */
export async function openQueueRunner(options: QueueRunnerOptions): Promise<TaskRunner> {
  const { manager, batchId, signal: batchSignal } = options;
  const queueOptions = options.queue;
  const root = manager.repoPath;
  const remoteName = queueOptions.remote ?? 'origin';
  const remote = await remoteUrl(root, remoteName, batchSignal);
  // One queue per remote: only workers whose clone serves it see the batch.
  const target = remoteQueue(queueOptions.name ?? DEFAULT_QUEUE_NAME, remote);
  const queueName = target.id;
  const redis = await connectRedis(queueOptions.connection);
  const eventsRedis = await connectRedis(queueOptions.connection).catch(async (error: unknown) => {
    await closeRedis(redis);
    throw error;
  });
  const queue = new Queue(target.bullName, { connection: redis, prefix: target.prefix });
  const events = new QueueEvents(target.bullName, { connection: eventsRedis, prefix: target.prefix });
  // Connection drops (a Redis restart) are retried by the clients: not the batch's failure.
  queue.on('error', () => undefined);
  events.on('error', () => undefined);
  // Each job awaited adds a 'closing' listener to the queue until it ends (BullMQ's waitUntilFinished):
  // a batch of more than ten jobs in flight is normal, not a leak for Node to warn about.
  queue.setMaxListeners(0);
  const cleanups: (() => void)[] = [];
  let closed: Promise<void> | undefined;
  let lease: IssueLease | undefined;
  let output: RemoteOutput | undefined;
  const close = () => {
    closed ??= (async () => {
      for (const cleanup of cleanups) cleanup();
      await output?.close();
      await lease?.release();
      await events.close().catch(() => undefined);
      await queue.close().catch(() => undefined);
      await closeRedis(eventsRedis);
      await closeRedis(redis);
    })();
    return closed;
  };

  const jobIdOf = (attempt: Attempt) => attemptJobId(batchId, attempt);
  // Keyed by attempt (`42`, `42/v2`): an issue's variants are jobs of their own.
  const attemptOfJob = new Map<string, Attempt>();
  const takenBy = new Map<string, { worker: string; host: string }>();
  // A task's job, and how to settle it from here (taken off the queue) before its worker ends it.
  const live = new Map<
    string,
    { attempt: Attempt; job: Job; settle: (result: TaskResult) => void; enqueuedAt: number }
  >();
  const merged = new Map<number, string>();
  // Tasks whose job waits on the queue for a usage limit's reset: taken, so no queue timeout applies.
  const paused = new Set<string>();
  const program = options.argv[0] ?? '';
  let mergeTurn: Promise<unknown> = Promise.resolve();
  try {
    // Before the remote is written to: another live batch on these issues refuses this one.
    lease = await takeIssueLease(redis, queueName, options.issueNumbers, batchId);
    const commonDir = (
      await runGit(['rev-parse', '--path-format=absolute', '--git-common-dir'], { cwd: root })
    ).stdout.trim();
    await events.waitUntilReady();
    // Every line of each task's output lands in its log here; the live view takes its last lines.
    const taskLogs = await readRemoteOutput({
      connection: queueOptions.connection,
      redis,
      queueName,
      batchId,
      stateDir: manager.stateDir,
      logDir: options.followUps.logDir,
      ...(queueOptions.onProgress ? { onProgress: queueOptions.onProgress } : {}),
    });
    output = taskLogs;
    const onJobProgress = (attempt: Attempt, update: WireProgress) => {
      const { issueNumber } = attempt;
      if (update.kind === 'taken') {
        takenBy.set(attemptOf(attempt), { worker: update.worker, host: update.host });
        queueOptions.onProgress?.({ ...attempt, worker: update.worker, host: update.host });
      } else if (update.kind === 'line') {
        queueOptions.onProgress?.({
          ...attempt,
          worker: update.worker,
          host: update.host,
          line: update.line,
        });
      } else if (update.kind === 'event' && update.event.type !== 'task-complete') {
        // The worker's events join this batch's journal; the task's end is recorded here, after the merge.
        const { timestamp: _t, pid: _p, ...event } = update.event;
        manager.recordEvent({ ...event, batchId } as Parameters<WorktreeManager['recordEvent']>[0]);
        // A task paused at a usage limit: no job of its program is released until the reset.
        if (update.event.type === 'task-paused') {
          paused.add(attemptOf(attempt));
          options.gate.pause(program, Date.parse(update.event.until), {
            worktreeId: update.event.worktreeId,
            issueNumber,
            ...(update.event.branch !== undefined ? { branch: update.event.branch } : {}),
          });
        } else if (update.event.type === 'task-resumed') paused.delete(attemptOf(attempt));
      }
    };
    events.on('progress', ({ jobId, data }) => {
      const attempt = attemptOfJob.get(jobId);
      if (attempt === undefined || typeof data !== 'object' || data === null) return;
      onJobProgress(attempt, data as WireProgress);
    });

    /** Takes a job no worker has taken off the queue and settles its task; false when a worker has it. */
    const takeOff = async (attempt: Attempt, make: (waitedMs: number) => TaskResult): Promise<boolean> => {
      const entry = live.get(attemptOf(attempt));
      if (!entry || !WAITING.includes(await entry.job.getState())) return false;
      // An active job is locked by its worker: removing it fails, and the worker is told instead.
      const removed = await entry.job.remove().then(
        () => true,
        () => false,
      );
      if (removed) entry.settle(make(Date.now() - entry.enqueuedAt));
      return removed;
    };
    let cancelling: Promise<void> | undefined;
    const onBatchAbort = () => {
      const reason = abortMessage(batchSignal.reason);
      cancelling ??= (async () => {
        await publishCancel(redis, queueName, { batchId, reason }).catch(() => undefined);
        for (const { attempt } of [...live.values()]) {
          await takeOff(attempt, (durationMs) =>
            endedEarly({
              ...attempt,
              status: 'cancelled',
              error: { message: reason, code: 'CANCELLED' },
              durationMs,
            }),
          );
        }
      })();
    };
    batchSignal.addEventListener('abort', onBatchAbort, { once: true });
    cleanups.push(() => batchSignal.removeEventListener('abort', onBatchAbort));

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

    const bases = dispatchBases({ root, commonDir, remoteName, batchId });
    // The submitter's active span, so that each task's span on a worker is its child.
    const traceparent = activeTraceparent();
    const attempts = queueOptions.attempts ?? 2;
    const secret = queueOptions.secret;
    const env = travellingEnv(options.resumed ? { ...options.env, MIYABI_RESUMED: '1' } : options.env);

    /**
     * Enqueues one job of a task (its own, or a follow-up such as its hand-back) and waits for its
     * result; fail-fast, cancel and `queueTimeoutMs` take it off the queue while no worker has it.
     */
    const awaitJob = async (
      payload: QueueJobPayload,
      jobId: string,
      elapsed: () => number,
      /** The task's own stop (a sibling variant reached `variantsStopAt`): this job only is stopped. */
      stop?: AbortSignal,
    ): Promise<TaskResult> => {
      const attempt: Attempt = { issueNumber: payload.issueNumber, variant: payload.variant?.variant };
      const key = attemptOf(attempt);
      attemptOfJob.set(jobId, attempt);
      // Valid while a worker may still take the job: the wait for one, then every attempt's run.
      // A job paused at usage limits waits up to pauseMax on the queue, and is taken again after it.
      const expiresAt =
        Date.now() +
        (queueOptions.queueTimeoutMs ?? SIGNED_JOB_TTL_MS) +
        attempts * options.timeoutMs +
        options.pause.pauseMaxMs;
      // A resumed batch awaits the job its killed submitter left, when there is one to await.
      const left = options.resumed ? await reattachJob(queue, jobId) : undefined;
      const job =
        left ??
        (await queue.add(
          attemptName(attempt),
          secret !== undefined ? signJob(payload, secret, expiresAt) : payload,
          {
            jobId,
            attempts,
            removeOnComplete: { age: 86_400 },
            removeOnFail: { age: 86_400 },
          },
        ));
      const fromQueue = new Promise<TaskResult>((settle) =>
        live.set(key, { attempt, job, settle, enqueuedAt: Date.now() }),
      );
      // Aborted while this job was being enqueued: the batch's cancel may have missed it.
      if (batchSignal.aborted) {
        const reason = abortMessage(batchSignal.reason);
        onBatchAbort();
        void cancelling?.then(() =>
          takeOff(attempt, (durationMs) =>
            endedEarly({
              ...attempt,
              status: 'cancelled',
              error: { message: reason, code: 'CANCELLED' },
              durationMs,
            }),
          ),
        );
      }
      const onStop = () => {
        if (batchSignal.aborted || !stop) return;
        const reason = abortMessage(stop.reason);
        void (async () => {
          const taken = await takeOff(attempt, (durationMs) =>
            endedEarly({
              ...attempt,
              status: 'cancelled',
              error: { message: reason, code: 'CANCELLED' },
              durationMs,
            }),
          );
          // A worker has it: that worker alone is told to stop it (the batch goes on).
          if (!taken)
            await publishCancel(redis, queueName, { batchId, reason, jobIds: [jobId] }).catch(() => {});
        })();
      };
      if (stop?.aborted) onStop();
      else stop?.addEventListener('abort', onStop, { once: true });
      let timer: NodeJS.Timeout | undefined;
      const queueTimeoutMs = queueOptions.queueTimeoutMs;
      if (queueTimeoutMs !== undefined) {
        timer = setTimeout(() => {
          if (paused.has(key)) return;
          const message = `no worker took the task within ${formatDuration(queueTimeoutMs)} (--queue-timeout)`;
          void (async () => {
            // A task workers refused says who and why, not only that none took it.
            const refused = await refusalNote(redis, queueName, jobId);
            await takeOff(attempt, (durationMs) =>
              endedEarly({
                ...attempt,
                status: 'timeout',
                error: { message: `${message}${refused}`, code: 'TIMEOUT' },
                durationMs,
              }),
            );
          })();
        }, queueTimeoutMs);
      }
      const fromJob = job.waitUntilFinished(events).then(
        (value: WireResult) => fromWire(value),
        (error: unknown) => {
          const failure = decodeFailure(error instanceof Error ? error.message : String(error));
          const who = takenBy.get(key);
          const { worker, host, ...taskError } = failure;
          return endedEarly({
            ...attempt,
            status: taskError.code === 'CANCELLED' ? 'cancelled' : 'failed',
            error: taskError,
            durationMs: elapsed(),
            worker: worker ?? who?.worker,
            host: host ?? who?.host,
          });
        },
      );
      return Promise.race([fromQueue, fromJob])
        .then(stoppedBy(stop, batchSignal))
        .finally(() => {
          stop?.removeEventListener('abort', onStop);
          clearTimeout(timer);
          live.delete(key);
        });
    };

    // A successful task merged here with `merge`, one at a time; its target pushed at `finish`.
    const mergeHere = async (
      done: TaskResult,
      baseBranch: string,
      back: QueueHandBack,
    ): Promise<TaskResult> => {
      if (options.landing) return landHere(done, baseBranch, back, options.landing);
      if (!options.merge || done.status !== 'success') return done;
      const into = options.merge.into ?? baseBranch;
      const merging = mergeTurn.then(async () => {
        await recordIntent(done, into);
        return mergeAtSubmitter({
          manager,
          remote: remoteName,
          batchId,
          result: done,
          into,
          merge: options.merge ?? {},
          signal: batchSignal,
        });
      });
      mergeTurn = merging;
      return mergedInto(await merging, into);
    };
    // On disk before the ref moves: a resume finds the commit in the target and never merges it again.
    const recordIntent = async (done: TaskResult, into: string): Promise<void> => {
      if (!done.branchName || !done.push?.commit) return;
      await options.recordIntent?.({
        issueNumber: done.issueNumber,
        branch: done.branchName,
        commit: done.push.commit,
        into,
        at: new Date().toISOString(),
      });
    };
    const mergedInto = (result: TaskResult, into: string): TaskResult => {
      if (result.status === 'success' && result.merge && result.merge.status !== 'up-to-date') {
        merged.set(result.issueNumber, into);
      }
      return result;
    };
    const landingGit = gitTurns();
    // With a check: landed here through the manager's landing queue (one at a time per target).
    const landHere = async (
      done: TaskResult,
      baseBranch: string,
      back: QueueHandBack,
      landing: NonNullable<QueueRunnerOptions['landing']>,
    ): Promise<TaskResult> => {
      if (done.status === 'success' && options.merge) await recordIntent(done, back.into);
      const result = await landAtSubmitter(done, {
        ...landing,
        manager,
        remote: remoteName,
        batchId,
        baseBranch,
        merge: options.merge,
        logFile: taskLogFile(options.followUps.logDir, batchId, done),
        signal: batchSignal,
        handBack: back,
        autoCleanup: options.followUps.autoCleanup,
        onConflict: options.followUps.onConflict,
        gitTurn: landingGit,
      });
      return mergedInto(result, back.into);
    };
    let followUpJobs = 0;

    const run = async ({ task, signal }: RunnerTask): Promise<TaskResult> => {
      const { issueNumber } = task;
      const attempt: Attempt = { issueNumber, variant: task.variant };
      const started = performance.now();
      const elapsed = () => Math.round(performance.now() - started);
      if (signal.aborted) {
        const message = `not started: ${abortMessage(signal.reason)}`;
        return endedEarly({
          ...attempt,
          status: 'cancelled',
          error: { message, code: 'CANCELLED' },
          durationMs: 0,
        });
      }
      const baseBranch = task.baseBranch ?? manager.baseBranch;
      let payload: QueueJobPayload;
      try {
        // A pause a worker set that this side has not heard of yet holds this task as the gate does.
        await honourBatchPause({ redis, queueId: queueName, batchId }, options.gate, program, signal);
        if (signal.aborted) throw signal.reason;
        // The tip now, as this task is dispatched: the merges of the tasks before it are in its base.
        const baseSha = await bases.tipOnRemote(baseBranch, signal);
        payload = jobPayload(task, { baseSha, baseBranch });
      } catch (error) {
        const status = signal.aborted ? 'cancelled' : 'failed';
        return endedEarly({
          ...attempt,
          status,
          error: describeError(error, signal),
          durationMs: elapsed(),
        });
      }
      // Merged before its submitter was killed and its job gone from BullMQ: nothing to run or merge again.
      if (options.resumed?.merged.has(issueNumber) && !(await queue.getJob(jobIdOf(attempt)))) {
        return mergedBeforeResume(issueNumber, payload.branchName);
      }
      let result = await awaitJob(payload, jobIdOf(attempt), elapsed, signal);
      await taskLogs.caughtUp();
      // Archives the worker shared are fetched here, so `restore <id>` works at this side.
      result = await fetchSharedArchives(root, remoteName, result, batchSignal);
      const handBack: QueueHandBack = {
        payload,
        into: options.merge?.into ?? baseBranch,
        run: (back) => awaitJob(back, `${jobIdOf(attempt)}-${++followUpJobs}`, elapsed),
        merge: (back) => mergeHere(back, baseBranch, handBack),
      };
      // A variant waits for its issue's verdict: its branch kept here for the gate, the score and the landing.
      if (options.held?.(task)) {
        const context = { ...options.followUps, manager, remote: remoteName, batchId, task, baseBranch };
        return taskLogs.ended(await keepHeldAttempt(result, { ...context, signal: batchSignal }));
      }
      result = await mergeHere(result, baseBranch, handBack);
      result = await afterRemoteTask(result, {
        ...options.followUps,
        manager,
        remote: remoteName,
        batchId,
        task,
        baseBranch,
        signal: batchSignal,
        handBack,
        ...(options.landing ? { check: options.landing.landing.check } : {}),
      });
      // Its log ends now, unless the targets' push at the end of the batch may still change its result.
      return options.merge ? result : taskLogs.ended(result);
    };

    const jobPayload = (
      task: WorktreeTask,
      base: { baseSha: string; baseBranch: string },
    ): QueueJobPayload => ({
      v: QUEUE_PAYLOAD_VERSION,
      batchId,
      remote,
      baseSha: base.baseSha,
      baseBranch: base.baseBranch,
      issueNumber: task.issueNumber,
      branchName: task.branchName ?? expandBranchPattern(manager.branchPattern, task.issueNumber),
      ...(task.description !== undefined ? { description: task.description } : {}),
      ...variantJob(options.variantOf?.(task), options.argv, env),
      ...(task.context ? { context: { ...task.context, labels: [...task.context.labels] } } : {}),
      timeoutMs: options.timeoutMs,
      ...(options.maxMemory !== undefined ? { maxMemory: options.maxMemory } : {}),
      ...(options.followUps.autoCleanup ? {} : { keep: true }),
      ...(options.reuse
        ? { reuse: { keepPaths: [...options.reuse.keepPaths], maxIdle: options.reuse.maxIdle } }
        : {}),
      ...(options.prepare ? { prepare: plainPrepare(options.prepare) } : {}),
      // A resumed task goes on from its remote branch: the work an orphaned job pushed there.
      ...(options.existingBranches === 'continue' || options.resumed
        ? { existingBranches: 'continue' as const }
        : {}),
      ...(queueOptions.shareArchives === true ? { shareArchives: true } : {}),
      ...(queueOptions.queueTimeoutMs !== undefined ? { queueTimeoutMs: queueOptions.queueTimeoutMs } : {}),
      pause: {
        pauseOn: options.pause.pauseOn.map((pattern) => ({ source: pattern.source, flags: pattern.flags })),
        pauseMaxMs: options.pause.pauseMaxMs,
        ...(options.pause.resumeCommand ? { resumeCommand: [...options.pause.resumeCommand] } : {}),
      },
      ...(traceparent !== undefined ? { traceparent } : {}),
    });

    return {
      run,
      async finish(results) {
        try {
          await cancelling;
          const targets = new Map<string, number[]>();
          // What the killed submitter merged here may not have been pushed yet.
          const before = options.resumed?.mergedInto;
          if (before !== undefined) targets.set(before, []);
          for (const [issueNumber, into] of merged) {
            const index = results.findIndex((result) => result.issueNumber === issueNumber);
            if (index >= 0) targets.set(into, [...(targets.get(into) ?? []), index]);
          }
          // A variant that won landed here as its issue was settled: its target is pushed as any.
          for (const [index, into] of landedVariants(results)) {
            targets.set(into, [...(targets.get(into) ?? []), index]);
          }
          const pushed = await pushTargets({
            manager,
            remote: remoteName,
            targets,
            results,
            signal: undefined,
          });
          const final = options.merge
            ? await Promise.all(pushed.map((result) => taskLogs.ended(result)))
            : pushed;
          for (const result of final) recordTaskComplete(manager, batchId, result);
          return final;
        } finally {
          await close();
        }
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * The tip of a base branch as each task is dispatched, made fetchable by the workers: the first look
 * fetches the remote; a tip no remote-tracking branch holds (a merge made here) is pushed under the
 * batch's refs. One look at a time, so two dispatches never push the same commit twice.
 */
function dispatchBases(at: { root: string; commonDir: string; remoteName: string; batchId: string }) {
  const refs = new Map<string, Promise<BaseBranchRef>>();
  const onRemote = new Set<string>();
  let fetched = false;
  let turn: Promise<unknown> = Promise.resolve();
  return {
    tipOnRemote(name: string, signal: AbortSignal): Promise<string> {
      const look = turn.then(async () => {
        let ref = refs.get(name);
        if (!ref) {
          ref = resolveBaseBranch(at.root, name);
          refs.set(name, ref);
        }
        const tip = await baseAtTip({ root: at.root, commonDir: at.commonDir }, await ref, signal);
        if (!onRemote.has(tip.commit)) {
          await ensureBaseOnRemote(at.root, at.remoteName, tip.commit, at.batchId, signal, {
            fetch: !fetched,
          });
          fetched = true;
          onRemote.add(tip.commit);
        }
        return tip.commit;
      });
      turn = look.catch(() => undefined);
      return look;
    },
  };
}

/** The command's extra environment without what must stay here; undefined when nothing is left. */
function travellingEnv(
  env: Readonly<Record<string, string>> | undefined,
): Record<string, string> | undefined {
  if (!env) return undefined;
  const kept = Object.entries(env).filter(([name]) => !NEVER_TRAVELS.has(name));
  return kept.length > 0 ? Object.fromEntries(kept) : undefined;
}

function plainPrepare(prepare: PrepareSettings): NonNullable<QueueJobPayload['prepare']> {
  return {
    ...(prepare.include !== undefined ? { include: prepare.include } : {}),
    ...(prepare.setup !== undefined ? { setup: prepare.setup.map((argv) => [...argv]) } : {}),
    ...(prepare.setupTimeoutMs !== undefined ? { setupTimeoutMs: prepare.setupTimeoutMs } : {}),
    ...(prepare.share !== undefined
      ? { share: prepare.share.map((entry) => ({ path: entry.path, mode: entry.mode })) }
      : {}),
  };
}

/** A worker's result as this side's: its local paths mean nothing here. */
function fromWire(value: WireResult): TaskResult {
  const { worktreePath: _path, logFile: _log, ...rest } = value;
  if (rest.status === 'success') return { ...rest, status: 'success' };
  return {
    ...rest,
    status: rest.status,
    stage: rest.stage ?? 'execute',
    error: rest.error ?? { message: 'failed' },
  };
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
    ...taskCostFields(result),
    ...(result.host ? { host: result.host } : {}),
  });
}
