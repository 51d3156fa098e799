import { DelayedError, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { DEFAULT_PAUSE_MAX_MS } from '../core/limits.js';
import type { TaskPause } from '../core/task-result.js';
import { MiyabiError } from '../errors.js';
import { type Logger, safeLog } from '../log.js';
import type { WorktreeManager } from '../manager/worktree-manager.js';
import type { TaskExecutor, TaskResult } from '../pool/types.js';
import { usageLimitOf } from '../pool/usage-limit-pauses.js';
import { type UsageLimitHit, usageLimitBackoffMs } from '../process/usage-limits.js';
import type { WorktreeEvent } from '../telemetry/events.js';
import { commandOf, markCommand } from './command-executor.js';
import { dropPausedWork, pausedWorkRef, pushPausedWork, restorePausedWork } from './paused-work.js';
import type { QueueJobPayload } from './payload.js';
import {
  clearPausedJob,
  type PausedJob,
  readBatchPause,
  readPausedJob,
  savePausedJob,
  setBatchPause,
} from './queue-pause.js';

/** Where a worker runs one job, as its usage-limit pause needs it. */
export interface JobPauseContext {
  readonly redis: Redis;
  readonly queueId: string;
  readonly job: Job;
  readonly token: string | undefined;
  readonly payload: QueueJobPayload;
  readonly worker: string;
  readonly repo: string;
  readonly logger: Logger;
  /** The worktrees this worker keeps for its paused jobs. */
  readonly kept: PausedWorktrees;
  /** Sends one of the task's events to the submitter (its live view, journal and pause gate); resolves once sent. */
  readonly send: (event: WorktreeEvent) => Promise<void>;
}

/**
 * The worktrees a worker kept for the jobs it paused. One whose job another worker took up (or
 * finished) is no longer the task's: it goes at this worker's next job, its work archived as any
 * removal archives it (and already on the remote), so a later job of the issue here is not refused.
 */
export class PausedWorktrees {
  /** worktree id → job id */
  readonly #kept = new Map<string, string>();

  add(worktreeId: string, jobId: string): void {
    this.#kept.set(worktreeId, jobId);
  }

  /** The job ended here: its worktree is the pool's again (removed or kept as the task ended). */
  forget(jobId: string): void {
    for (const [id, job] of this.#kept) if (job === jobId) this.#kept.delete(id);
  }

  /** Removes the kept worktrees whose job no longer waits to resume in them. */
  async sweep(
    at: { readonly redis: Redis; readonly queueId: string; readonly worker: string; readonly logger: Logger },
    manager: WorktreeManager,
  ): Promise<void> {
    for (const [id, jobId] of [...this.#kept]) {
      const state = await readPausedJob(at.redis, at.queueId, jobId).catch(() => null);
      // Redis did not answer: nothing is known, nothing is removed.
      if (state === null) continue;
      if (state && state.worker === at.worker && state.worktreeId === id) continue;
      this.#kept.delete(id);
      await manager.removeWorktree(id).catch((error: unknown) => {
        safeLog(
          at.logger,
          'warn',
          { worktreeId: id, error: String(error) },
          'cannot remove a paused worktree',
        );
      });
    }
  }
}

/**
 * One job's usage-limit pauses on a worker. A command that exits non-zero with a provider's limit in
 * its last lines (the local pause's recogniser) ends the pool's run with `USAGE_LIMIT`, its worktree
 * kept; then the job pushes the work (commits, and uncommitted files as a snapshot commit) under
 * `refs/miyabi/paused/…`, sets the batch's pause of the program in Redis, and waits on the queue as a
 * delayed job until the reset. Whoever takes it then continues: this worker in the worktree it kept,
 * another in a worktree restored from the pushed work. A reset beyond `pauseMax` (the task's paused
 * time in all) ends the task `failed` with `USAGE_LIMIT` instead, its work kept.
 */
export class JobPause {
  readonly #ctx: JobPauseContext;
  readonly #state: PausedJob | undefined;
  readonly #patterns: RegExp[];
  /** The task's pauses up to this attempt, paused time included (undefined: it never paused). */
  readonly #before: TaskPause | undefined;
  #hit: UsageLimitHit | undefined;

  private constructor(ctx: JobPauseContext, state: PausedJob | undefined) {
    this.#ctx = ctx;
    this.#state = state;
    this.#patterns = (ctx.payload.pause?.pauseOn ?? []).map((p) => {
      try {
        return new RegExp(p.source, p.flags);
      } catch (error) {
        throw new MiyabiError(
          'QUEUE_PAYLOAD',
          `job payload is malformed: pause.pauseOn: ${(error as Error).message}`,
        );
      }
    });
    this.#before = state
      ? {
          count: state.count,
          totalMs: state.totalMs + Math.max(0, Date.now() - state.pausedAt),
          until: new Date(state.until).toISOString(),
        }
      : undefined;
  }

  /**
   * The job's pause state, read as a worker takes it. A job not yet started while its batch's
   * program is paused waits on the queue until the reset (throws `DelayedError`).
   *
   * @throws MiyabiError `QUEUE_PAYLOAD` for a `pauseOn` pattern that is no regular expression here.
   */
  static async open(ctx: JobPauseContext, pausedJob: PausedJob | undefined): Promise<JobPause> {
    const pause = new JobPause(ctx, pausedJob);
    const program = ctx.payload.argv[0] ?? '';
    if (!pausedJob && !ctx.payload.handBack && ctx.payload.pause) {
      const held = await readBatchPause(ctx.redis, ctx.queueId, ctx.payload.batchId, program);
      if (held) {
        safeLog(ctx.logger, 'info', { jobId: ctx.job.id, until: held.until }, 'held: its program is paused');
        await ctx.job.moveToDelayed(held.until, ctx.token);
        throw new DelayedError();
      }
    }
    return pause;
  }

  /** The job continues a paused task (in its kept or restored worktree), rather than starting it. */
  get resumed(): boolean {
    return this.#state !== undefined;
  }

  /** The pool's `timeoutMs` for this attempt: what earlier attempts left of the task's budget. */
  get timeoutMs(): number {
    return Math.max(1, this.#ctx.payload.timeoutMs - (this.#state?.spentMs ?? 0));
  }

  /** For the worker's pool: the job's patterns, and no wait in place (the queue waits instead). */
  get poolOptions(): { pauseOn: RegExp[]; pauseMaxMs: number } {
    return { pauseOn: this.#patterns, pauseMaxMs: 0 };
  }

  /**
   * Before a resumed job's pool runs: the worktree to continue in. This worker's own kept worktree
   * of the task's branch when it has one (the one it paused in), else one restored from the pushed
   * work. Says so to the submitter (`task-resumed`).
   */
  async prepareWorktree(manager: WorktreeManager, baseBranch: string, signal: AbortSignal): Promise<void> {
    const state = this.#state;
    if (!state) return;
    const { payload } = this.#ctx;
    // Only the very worktree this worker paused the task in: another kept one of the branch is not its work.
    const kept =
      state.worker === this.#ctx.worker
        ? (await manager.listWorktrees()).find(
            (w) => w.id === state.worktreeId && w.branchName === payload.branchName && w.status === 'failed',
          )
        : undefined;
    const worktree =
      kept ??
      (await restorePausedWork(
        this.#ctx.repo,
        manager,
        {
          ref: pausedWorkRef(payload.batchId, payload.issueNumber),
          head: state.head,
          snapshot: state.snapshot,
          issueNumber: payload.issueNumber,
          branchName: payload.branchName,
          baseBranch,
        },
        signal,
      ));
    await this.#ctx.send({
      type: 'task-resumed',
      worktreeId: worktree.id,
      issueNumber: payload.issueNumber,
      branch: payload.branchName,
      batchId: payload.batchId,
      timestamp: new Date().toISOString(),
      durationMs: Math.max(0, Date.now() - state.pausedAt),
      attempt: state.count + 1,
    });
  }

  /**
   * The job's command, made to end at a usage limit with `USAGE_LIMIT` (the pool then keeps its
   * worktree); a resumed job's gets `MIYABI_RESUMED=1` and `MIYABI_ATTEMPT` (its `resumeCommand`
   * runs then).
   */
  executor<T>(command: TaskExecutor<T>): TaskExecutor<T> {
    const attempt = this.#state ? this.#state.count + 1 : undefined;
    const executor: TaskExecutor<T> = async (worktree, task, ctx) => {
      const env =
        attempt === undefined
          ? ctx.env
          : { ...ctx.env, MIYABI_RESUMED: '1', MIYABI_ATTEMPT: String(attempt) };
      try {
        return await command(worktree, task, { ...ctx, env });
      } catch (error) {
        if (ctx.signal.aborted) throw error;
        const hit = await usageLimitOf(error, ctx.logFile, this.#patterns, Date.now());
        if (!hit) throw error;
        this.#hit = hit;
        throw new MiyabiError('USAGE_LIMIT', `usage limit (${hit.source}: ${hit.text})`, { cause: error });
      }
    };
    const argv = commandOf(command);
    return argv ? markCommand(executor, argv) : executor;
  }

  /**
   * After the pool's run. At a usage limit within `pauseMax`: the work pushed, the pause set, the job
   * delayed until the reset (throws `DelayedError`). Otherwise the task's result, with its pauses
   * (`pause`) and its whole time (`durationMs`, paused time included).
   */
  async settle(result: TaskResult): Promise<TaskResult> {
    const { payload, redis, queueId } = this.#ctx;
    const jobId = this.#ctx.job.id ?? '';
    const ref = pausedWorkRef(payload.batchId, payload.issueNumber);
    const hit = this.#hit;
    this.#ctx.kept.forget(jobId);
    if (hit === undefined || result.status === 'success' || result.error.code !== 'USAGE_LIMIT') {
      await clearPausedJob(redis, queueId, jobId).catch(() => undefined);
      if (!this.#state) return result;
      // The task's branch holds its work now; a task that did not succeed keeps the paused ref.
      if (result.status === 'success') await dropPausedWork(this.#ctx.repo, ref);
      return this.#withPauses(result, this.#before);
    }
    const now = Date.now();
    const count = (this.#before?.count ?? 0) + 1;
    const totalMs = this.#before?.totalMs ?? 0;
    const until = hit.resetAt ?? now + usageLimitBackoffMs(count);
    const pause: TaskPause = { count, totalMs, until: new Date(until).toISOString() };
    const worktreePath = result.worktreePath;
    // A job of an older submitter says none: the local default.
    const pauseMaxMs = payload.pause?.pauseMaxMs ?? DEFAULT_PAUSE_MAX_MS;
    const pushed = worktreePath
      ? await pushPausedWork(this.#ctx.repo, worktreePath, ref).catch((error: unknown) => {
          safeLog(this.#ctx.logger, 'warn', { jobId, error: String(error) }, 'cannot push the paused work');
          return undefined;
        })
      : undefined;
    if (totalMs + (until - now) > pauseMaxMs || !pushed) {
      await clearPausedJob(redis, queueId, jobId).catch(() => undefined);
      const why = pushed
        ? "beyond the batch's pauseMax"
        : 'and its work could not be pushed for another worker';
      return this.#withPauses(
        {
          ...result,
          error: {
            message: `usage limit (${hit.source}: ${hit.text}) resets at ${pause.until}, ${why}`,
            code: 'USAGE_LIMIT',
            hint: `Its work was kept (the branch, and ${pushed ? ref : 'its worktree on the worker'}); run the task again after the reset.`,
          },
        },
        pause,
      );
    }
    const state: PausedJob = {
      count,
      totalMs,
      spentMs: (this.#state?.spentMs ?? 0) + result.durationMs,
      pausedAt: now,
      until,
      head: pushed.head,
      snapshot: pushed.snapshot,
      worker: this.#ctx.worker,
      worktreeId: result.worktreeId,
    };
    await savePausedJob(redis, queueId, jobId, state);
    this.#ctx.kept.add(result.worktreeId, jobId);
    await setBatchPause(redis, queueId, payload.batchId, payload.argv[0] ?? '', {
      until,
      worktreeId: result.worktreeId,
      issueNumber: payload.issueNumber,
      branch: payload.branchName,
    });
    // Sent before the job waits: the submitter's gate closes for the program now.
    await this.#ctx.send({
      type: 'task-paused',
      worktreeId: result.worktreeId,
      issueNumber: payload.issueNumber,
      branch: payload.branchName,
      batchId: payload.batchId,
      timestamp: new Date(now).toISOString(),
      until: pause.until,
      source: hit.source,
      text: hit.text,
      count,
    });
    await this.#ctx.job.moveToDelayed(until, this.#ctx.token);
    throw new DelayedError();
  }

  #withPauses(result: TaskResult, pause: TaskPause | undefined): TaskResult {
    if (!pause) return result;
    const earlier = (this.#state?.spentMs ?? 0) + pause.totalMs;
    return { ...result, pause, durationMs: result.durationMs + earlier };
  }
}
