import { constants } from 'node:fs';
import { access, lstat, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  commandExecutor,
  expandBranchPattern,
  formatDuration,
  isMiyabiError,
  type MergeStrategy,
  MiyabiError,
  type PoolConfig,
  type PoolPullRequestOptions,
  type PoolQueueOptions,
  runGit,
  type SkippedIssue,
  type TaskExecutor,
  type WorktreeManager,
  WorktreePool,
  type WorktreeTask,
} from '../../index.js';
import { formatArgv } from '../../internal.js';
import { BIN } from '../bin-name.js';
import { type CommandContext, openWorkspace } from '../context.js';
import { writeHtmlReport } from '../html-report.js';
import { writeBlock, writeLine } from '../io.js';
import { EXIT_INTERRUPTED } from '../render/error.js';
import { cliTaskError } from '../render/hint.js';
import { formatJson } from '../render/json.js';
import { createProgressRenderer, type ProgressRenderer } from '../render/progress.js';
import { planTasks, renderPlans, type TaskPlan, whereLine } from './batch-plan.js';
import { assertCommandExists } from './find-command.js';
import { attemptRows, createProgressTracker, type ProgressTracker } from './progress-tracker.js';
import { resumedCounts } from './resume-census-line.js';
import { resumedBatch } from './resume-request.js';
import { type RunBatchResult, renderSummary } from './summary.js';
import { createTaskExecutor } from './task-executor.js';

/** Everything `run` (and `demo`) asks for, parsed and validated. */
export interface RunBatchRequest {
  readonly issues: readonly number[];
  /** The tasks, when they carry more than a number (GitHub issues with their text); else one per issue. */
  readonly tasks?: readonly WorktreeTask[] | undefined;
  /** Issues the GitHub selection left out (closed, pull requests, missing): printed, and in the JSON. */
  readonly skipped?: readonly SkippedIssue[] | undefined;
  /** Open a pull request for each successful, pushed task. */
  readonly pullRequest?: PoolPullRequestOptions | undefined;
  /** The command and its arguments, placeholders unexpanded. */
  readonly command: readonly string[];
  /** Flags; `undefined` leaves the config's value (or the default). */
  readonly concurrency?: number | undefined;
  readonly timeoutMs?: number | undefined;
  /** `--max-memory` in bytes. */
  readonly maxMemory?: number | undefined;
  /** `--min-free-memory` in bytes. */
  readonly minFreeMemory?: number | undefined;
  readonly baseBranch?: string | undefined;
  readonly failFast: boolean;
  readonly keep: boolean;
  readonly merge?:
    | { readonly into?: string | undefined; readonly strategy?: MergeStrategy | undefined }
    | undefined;
  /** With merge: keep a conflicted worktree (default), remove it, or hand the conflict back to the command. */
  readonly onConflict?: 'keep' | 'agent' | 'remove' | undefined;
  /** When two running tasks would conflict: warn (default), or cancel the later-started one. */
  readonly onOverlap?: 'warn' | 'stop-later' | undefined;
  /** Time between two looks of the conflict radar; 0 turns it off. @default the pool's (2 s) */
  readonly radarIntervalMs?: number | undefined;
  /** More usage-limit patterns (`--pause-on`); unset: the config's `pauseOn`. */
  readonly pauseOn?: readonly string[] | undefined;
  /** The most the batch waits out usage limits (`--pause-max`); unset: the config's, else 6 h. */
  readonly pauseMaxMs?: number | undefined;
  /** `--variants`, `--score`, `--variants-stop-at`. */
  readonly variants?: number | undefined;
  readonly score?: readonly string[] | undefined;
  readonly variantsStopAt?: number | undefined;
  /** What a task paused at a usage limit runs when it resumes (`--resume-command`); unset: the config's, else `command`. */
  readonly resumeCommand?: readonly string[] | undefined;
  /** Attempts of `onConflict: 'agent'` and `onCheckFail: 'agent'`, together. @default 1 */
  readonly resolveAttempts?: number | undefined;
  /** The landing check's argv (`--check`); else the configuration's. */
  readonly check?: readonly string[] | undefined;
  readonly checkTimeoutMs?: number | undefined;
  /** `--check-batch`: ready landings checked together; else the configuration's `check.batch`, else 1. */
  readonly checkBatch?: number | undefined;
  /** With a check: keep a worktree whose check failed (default), remove it, or hand the check log back to the command. */
  readonly onCheckFail?: 'keep' | 'agent' | 'remove' | undefined;
  readonly allowRedBase?: boolean | undefined;
  /** Build on task branches an earlier run left instead of archiving them and starting fresh. */
  readonly continueBranches?: boolean | undefined;
  readonly push?: { readonly remote: string } | undefined;
  /** Absolute folder for the logs; default `<git common dir>/miyabi/logs`. */
  readonly logDir?: string | undefined;
  readonly json: boolean;
  /** `--no-setup`: no `.worktreeinclude` copying, `share` or setup commands, whatever the config says. */
  readonly noSetup?: boolean | undefined;
  /** Extra environment for every task's setup and command. */
  readonly env?: Readonly<Record<string, string>> | undefined;
  /** Reuse worktrees (`--reuse`): kept paths, idle worktrees to create first, cap on idle ones. */
  readonly reuse?:
    | { readonly keepPaths?: readonly string[]; readonly warm?: number; readonly maxIdle?: number }
    | undefined;
  /** Send the tasks to workers through Redis (`--queue`) instead of running them here. */
  readonly queue?:
    | {
        readonly url: string;
        readonly name?: string;
        readonly timeoutMs?: number;
        readonly remote: string;
        /** Signs each job (`--secret-file` or `$MIYABI_QUEUE_SECRET`). */
        readonly secret?: string;
        /** `--share-archives`: workers push their archives to the remote; fetched here. */
        readonly shareArchives?: boolean;
      }
    | undefined;
  /** Absolute path (checked) where the HTML timeline page of the batch is written after it. */
  readonly htmlFile?: string | undefined;
  /** `run --resume [batch-id]`: finish that batch (else the newest unfinished one) as it was planned. */
  readonly resume?:
    | {
        readonly batchId?: string;
        /** A queue batch's Redis URL (`--queue`: else the record's, which has no password) and the workers' secret. */
        readonly queue?: { readonly url?: string; readonly secret?: string };
      }
    | undefined;
  /** Print the telemetry report of the batch after the summary. @default true */
  readonly report?: boolean | undefined;
}

/** What `run --dry-run` would do, checked as `run` checks it: the plan of each task. */
export interface BatchPlanOutcome {
  readonly plans: readonly TaskPlan[];
  readonly exitCode: number;
}

/** How a batch went, and the exit code it means. */
export interface RunBatchOutcome {
  readonly result: RunBatchResult;
  /** 0 every task succeeded (merge and push included), 1 any did not (cancelled too), 130 interrupted. */
  readonly exitCode: number;
}

/**
 * Runs `command` in one worktree per issue through the pool: live view on stderr, the summary
 * table and telemetry report at the end (on stdout, or stderr with `json`), and with `json` the
 * batch result as the one document on stdout. Throws only for bad input, before anything starts.
 */
export function runBatch(request: RunBatchRequest, ctx: CommandContext): Promise<RunBatchOutcome> {
  return startBatch(request, ctx, false);
}

/**
 * `run --dry-run`: every check `run` makes before its first worktree (options, kept issues, merge
 * targets, the command on PATH), then each task's issue, branch, base, target, setup and command —
 * on stdout, or as `{ tasks, skipped }` with `json`. Creates nothing.
 */
export function planBatch(request: RunBatchRequest, ctx: CommandContext): Promise<BatchPlanOutcome> {
  return startBatch(request, ctx, true);
}

async function startBatch(
  request: RunBatchRequest,
  ctx: CommandContext,
  dryRun: true,
): Promise<BatchPlanOutcome>;
async function startBatch(
  request: RunBatchRequest,
  ctx: CommandContext,
  dryRun: false,
): Promise<RunBatchOutcome>;
async function startBatch(
  asked: RunBatchRequest,
  ctx: CommandContext,
  dryRun: boolean,
): Promise<RunBatchOutcome | BatchPlanOutcome> {
  let request = asked;
  const opened = await openWorkspace(ctx, {
    maxConcurrency: request.concurrency,
    baseBranch: request.baseBranch,
  });
  const { manager, config } = opened;
  // A resumed batch runs as it was planned: its issues, command and options come from its record.
  const resumed = request.resume ? await resumedBatch(manager, request, request.resume.batchId) : undefined;
  if (resumed) request = resumed.request;
  try {
    if (request.logDir !== undefined) await checkLogDir(request.logDir);
    if (!config.ports && request.command.some((arg) => arg.includes('{port}'))) {
      throw new MiyabiError(
        'INVALID_ARGUMENT',
        'the command uses {port}, but the configuration gives worktrees no ports',
        {
          hint: 'Add "ports": { "base": 20000, "count": 10 } to miyabi-worktree.config.json, or drop {port}.',
        },
      );
    }
    const renderer = createProgressRenderer({ stream: ctx.io.stderr, json: request.json });
    const progress = createProgressTracker(manager, request.issues, renderer);
    ctx.routeNotices?.((line) => renderer.notice(line));
    const resumeCommand = request.resumeCommand ?? config.resumeCommand;
    const executor = request.queue
      ? commandExecutor(request.command, {
          ...(request.env ? { env: request.env } : {}),
          ...(resumeCommand ? { resumeCommand } : {}),
        })
      : createTaskExecutor({
          command: request.command,
          resumeCommand,
          env: request.env,
          progress,
        });
    // Bad input ends the command before any task: stop following, and name the flag the user typed.
    const abandon = (error: unknown): unknown => {
      progress.dispose();
      ctx.routeNotices?.(undefined);
      return asCliError(asFlagError(error));
    };
    let pool: WorktreePool;
    try {
      pool = new WorktreePool(manager, {
        // Unset flags leave the config file's value, else the pool's default: the pool resolves them.
        ...(request.concurrency !== undefined ? { maxConcurrency: request.concurrency } : {}),
        ...(request.timeoutMs !== undefined ? { timeoutMs: request.timeoutMs } : {}),
        ...(request.maxMemory !== undefined ? { maxMemory: request.maxMemory } : {}),
        ...(request.minFreeMemory !== undefined ? { minFreeMemory: request.minFreeMemory } : {}),
        failFast: request.failFast,
        autoCleanup: !request.keep,
        ...(request.merge ? { merge: definedOnly(request.merge) } : {}),
        ...(request.push ? { push: { remote: request.push.remote } } : {}),
        ...(request.pullRequest ? { pullRequest: request.pullRequest } : {}),
        ...(request.logDir !== undefined ? { logDir: request.logDir } : {}),
        ...(request.noSetup ? { prepare: { include: false, setup: [], share: [] } } : {}),
        // --keep leaves each worktree as its task left it: never handed to another, whatever the config says.
        ...(request.keep ? { reuse: false } : {}),
        ...(request.reuse
          ? {
              reuse: true,
              ...(request.reuse.keepPaths ? { keepPaths: request.reuse.keepPaths } : {}),
              ...(request.reuse.maxIdle !== undefined ? { maxIdle: request.reuse.maxIdle } : {}),
            }
          : {}),
        existingBranches: request.continueBranches ? 'continue' : 'restart',
        ...(request.onOverlap !== undefined ? { onOverlap: request.onOverlap } : {}),
        ...(request.radarIntervalMs !== undefined ? { radarIntervalMs: request.radarIntervalMs } : {}),
        ...(request.pauseOn !== undefined ? { pauseOn: request.pauseOn } : {}),
        ...(request.pauseMaxMs !== undefined ? { pauseMaxMs: request.pauseMaxMs } : {}),
        ...(request.variants !== undefined ? { variants: request.variants } : {}),
        ...(request.score !== undefined ? { score: request.score } : {}),
        ...(request.variantsStopAt !== undefined ? { variantsStopAt: request.variantsStopAt } : {}),
        ...(request.queue ? { queue: queueOption(request.queue, progress, renderer) } : {}),
        ...landingOptions(request, manager.config, executor as TaskExecutor),
        ...(request.onConflict === 'agent'
          ? { onConflict: { resolve: executor as TaskExecutor, attempts: request.resolveAttempts ?? 1 } }
          : request.onConflict !== undefined
            ? { onConflict: request.onConflict }
            : {}),
      });
    } catch (error) {
      throw abandon(error);
    }
    const tasks: readonly WorktreeTask[] =
      request.tasks ?? request.issues.map((issueNumber) => ({ issueNumber }));
    const { stderr } = ctx.io;
    let result: RunBatchResult;
    try {
      // A resumed batch's kept worktrees are where its tasks continue: resumeBatch checks them.
      if (!resumed) await pool.validate(tasks, { signal: ctx.signal });
      // Queue workers run the command on their own machines: only a local run can look for it here.
      if (!request.queue) {
        await assertCommandExists(request.command[0] as string, { ...process.env, ...request.env });
        const score = pool.config.score?.command[0];
        if (score !== undefined) await assertCommandExists(score, { ...process.env, ...request.env });
      }
      // The check runs here, with --queue too (each task lands at the submitter).
      const check = pool.config.check?.command[0];
      if (check !== undefined) await assertCommandExists(check, { ...process.env, ...request.env });
      // One live row per attempt of an issue with variants (a resumed batch's rows stay per issue).
      if (!resumed) {
        const { score, check } = pool.config;
        const judging = score ? 'scoring …' : check ? 'checking …' : undefined;
        progress.attempts(attemptRows(tasks, pool.config.variants, manager.branchPattern), judging);
      }
      const plans = planTasks(manager, pool, tasks, request.command);
      if (dryRun) {
        progress.dispose();
        ctx.routeNotices?.(undefined);
        writePlans(ctx, plans, request);
        return { plans, exitCode: 0 };
      }
      writeLine(stderr, whereLine(plans));
      for (const skip of request.skipped ?? []) {
        writeLine(
          stderr,
          `Skipping #${skip.issueNumber}: ${skip.reason}${skip.title ? ` (${skip.title})` : ''}`,
        );
      }
      if (pool.config.reuse && request.reuse?.warm !== undefined) {
        const warmed = await pool.warm(request.reuse.warm, { signal: ctx.signal });
        writeLine(stderr, `Warmed ${plural(warmed.length, 'idle worktree')}`);
      }
      if (resumed) writeLine(stderr, resumed.notice);
      else {
        for (const line of await staleBranchNotices(manager, tasks, request.continueBranches === true)) {
          writeLine(stderr, line);
        }
      }
      // A resumed batch counts only what it runs again; what it collects is said apart.
      const counts = resumed ? await resumedCounts(manager, request, resumed) : { send: tasks.length };
      if (counts.collectLine !== undefined) writeLine(stderr, counts.collectLine);
      writeLine(
        stderr,
        request.queue
          ? `Sending ${formatArgv(request.command)} for ${plural(counts.send, 'issue')} to the workers of ` +
              `queue ${request.queue.name ?? 'miyabi'} (${request.concurrency !== undefined ? `${request.concurrency} at a time, ` : ''}timeout ${formatDuration(pool.config.timeoutMs)} each), remote ${request.queue.remote}`
          : `Running ${formatArgv(request.command)} for ${plural(counts.send, 'issue')} ` +
              `(${pool.config.maxConcurrency} at a time, timeout ${formatDuration(pool.config.timeoutMs)}) in ${manager.repoPath}`,
      );
      result = resumed
        ? await pool.resumeBatch(resumed.batchId, executor, { signal: ctx.signal })
        : await pool.executeParallel(tasks, executor, { signal: ctx.signal });
    } catch (error) {
      throw abandon(error);
    }
    progress.finish(result.results);
    ctx.routeNotices?.(undefined);
    await manager.flush();
    const interrupted = ctx.signal.aborted;
    // stdout's reader gone (EPIPE) stops no task: the batch ran and cleaned up; only this output is lost.
    const human = request.json ? ctx.io.stderr : ctx.io.stdout;
    writeLine(human);
    writeBlock(
      human,
      renderSummary(result, {
        merge: request.merge !== undefined,
        push: request.push !== undefined,
        pr: request.pullRequest !== undefined,
        keep: request.keep,
        interrupted,
        width: human.isTTY ? human.columns : undefined,
      }),
    );
    if (request.report ?? true) {
      writeLine(human);
      writeBlock(human, await manager.telemetryReport({ batchId: result.batchId }));
    }
    if (request.htmlFile !== undefined) {
      // The batch ran: a page that cannot be written is said, and changes no task's outcome.
      await writeHtmlReport(manager, request.htmlFile, result.batchId).then(
        () => writeLine(human, `HTML report: ${request.htmlFile}`),
        (error: unknown) =>
          writeLine(ctx.io.stderr, `${BIN}: warning: could not write the HTML report: ${String(error)}`),
      );
    }
    if (request.json) {
      // The library's hints name calls; a CLI user gets the commands.
      const results = result.results.map((task) =>
        task.error ? { ...task, error: cliTaskError(task.error) } : task,
      );
      const shown = { ...result, results };
      ctx.io.stdout.write(formatJson(request.skipped ? { ...shown, skipped: request.skipped } : shown));
    }
    return { result, exitCode: interrupted ? EXIT_INTERRUPTED : result.allSuccessful ? 0 : 1 };
  } finally {
    await manager.flush();
  }
}

/** The pool's landing options from `--check`, `--check-timeout`, `--check-batch`, `--on-check-fail`, `--allow-red-base`. */
function landingOptions(
  request: RunBatchRequest,
  config: WorktreeManager['config'],
  executor: TaskExecutor,
): Partial<Pick<PoolConfig, 'check' | 'onCheckFail' | 'allowRedBase'>> {
  const spec = config.check;
  const fromConfig =
    spec === undefined
      ? undefined
      : 'command' in spec
        ? spec
        : { command: spec, timeoutMs: undefined, batch: undefined };
  const command = request.check ?? fromConfig?.command;
  const timeoutMs = request.checkTimeoutMs ?? fromConfig?.timeoutMs;
  const batch = request.checkBatch ?? fromConfig?.batch;
  const flagged =
    request.check !== undefined ||
    ((request.checkTimeoutMs !== undefined || request.checkBatch !== undefined) && command);
  return {
    // Only a flag makes the check the pool's own; else the pool takes the configuration's when it lands.
    ...(flagged
      ? {
          check: {
            command: command as readonly string[],
            ...(timeoutMs !== undefined ? { timeoutMs } : {}),
            ...(batch !== undefined ? { batch } : {}),
          },
        }
      : {}),
    ...(request.onCheckFail === 'agent'
      ? { onCheckFail: { fix: executor, attempts: request.resolveAttempts ?? 1 } }
      : request.onCheckFail !== undefined
        ? { onCheckFail: request.onCheckFail }
        : {}),
    ...(request.allowRedBase ? { allowRedBase: true } : {}),
  };
}

/** The pool's queue option for `--queue`: worker counts and which worker runs each task, in the live view. */
function queueOption(
  queue: NonNullable<RunBatchRequest['queue']>,
  progress: ProgressTracker,
  renderer: ProgressRenderer,
): PoolQueueOptions {
  return {
    connection: queue.url,
    remote: queue.remote,
    ...(queue.name !== undefined ? { name: queue.name } : {}),
    ...(queue.timeoutMs !== undefined ? { queueTimeoutMs: queue.timeoutMs } : {}),
    ...(queue.secret !== undefined ? { secret: queue.secret } : {}),
    ...(queue.shareArchives ? { shareArchives: true } : {}),
    onWorkers: (connected) =>
      renderer.notice(
        connected === 0 ? 'waiting for workers (0 connected)' : `${plural(connected, 'worker')} connected`,
      ),
    onProgress: (update) =>
      progress.output(
        update.issueNumber,
        update.line ? `[${update.worker}] ${update.line}` : `on ${update.worker}`,
      ),
  };
}

/**
 * One line per task whose branch an earlier run left with commits not in the base, said before
 * anything starts: what will happen to it. One `git rev-list` per existing branch.
 */
async function staleBranchNotices(
  manager: WorktreeManager,
  tasks: readonly WorktreeTask[],
  continueBranches: boolean,
): Promise<string[]> {
  const lines: string[] = [];
  // The pool refused a kept worktree without --continue-branches: any left here is continued in.
  const kept = continueBranches ? await manager.listWorktrees() : [];
  for (const task of tasks) {
    const branch = expandBranchPattern(manager.branchPattern, task.issueNumber);
    const worktree = kept.find((w) => w.status !== 'idle' && w.branchName === branch);
    if (worktree) {
      lines.push(`#${task.issueNumber}: continuing in its kept worktree ${worktree.id} (${worktree.path})`);
      continue;
    }
    const counted = await runGit(
      ['rev-list', '--count', `refs/heads/${branch}`, '--not', `${manager.baseBranch}`, '--'],
      { cwd: manager.repoPath, okExitCodes: [0, 128] },
    );
    const commits = counted.exitCode === 0 ? Number(counted.stdout.trim()) : 0;
    if (commits === 0) continue;
    lines.push(
      continueBranches
        ? `#${task.issueNumber}: continuing on ${branch}, which has ${commits} commit(s) from an earlier run not in ${manager.baseBranch}`
        : `#${task.issueNumber}: ${branch} has ${commits} commit(s) from an earlier run not in ${manager.baseBranch}: archived, and the branch starts fresh (--continue-branches builds on it)`,
    );
  }
  return lines;
}

/** `--dry-run`'s output: the plans (and skipped issues) as one JSON document, or a block per task. */
function writePlans(ctx: CommandContext, plans: readonly TaskPlan[], request: RunBatchRequest): void {
  const skipped = request.skipped ?? [];
  if (request.json) {
    ctx.io.stdout.write(formatJson({ tasks: plans, skipped }));
    return;
  }
  writeLine(ctx.io.stdout, whereLine(plans));
  for (const line of renderPlans(plans)) writeLine(ctx.io.stdout, line);
  for (const skip of skipped) writeLine(ctx.io.stdout, `skipped #${skip.issueNumber}: ${skip.reason}`);
  const issues = new Set(plans.map((plan) => plan.issueNumber)).size;
  // With variants an issue plans several attempts: counted apart.
  const attempts = issues === plans.length ? '' : ` (${plural(plans.length, 'attempt')})`;
  writeLine(ctx.io.stderr, `Dry run: ${plural(issues, 'issue')} would run${attempts}; nothing was started.`);
}

/** The library's `ISSUE_BUSY` with a hint naming the commands that continue the kept worktree. */
function asCliError(error: unknown): unknown {
  if (!isMiyabiError(error, 'ISSUE_BUSY')) return error;
  // An unfinished batch's: the library's hint names its resume, which the CLI renders as its command.
  if (error.details?.resumableBatch !== undefined) return error;
  const issue = Number(error.details?.issueNumber);
  const running = error.details?.running === true;
  // Another submitter's batch holds the issue on the queue: the library's hint names no call.
  if (error.details?.lease === true) {
    return new MiyabiError('ISSUE_BUSY', error.message, {
      hint: `Wait for that batch to end (its lease lasts while its submitter runs, 30 s more after a crash), or run again without #${issue} in --issues.`,
      cause: error,
      ...(error.details ? { details: error.details } : {}),
    });
  }
  const hint = running
    ? `Wait for that run to end (${BIN} list shows it), or stop it; then '${BIN} remove ${issue}'.`
    : `Continue it: '${BIN} resolve ${issue} -- <command>' (a conflict), '${BIN} merge ${issue}', or '${BIN} remove ${issue}' (its work is saved); or rerun with --continue-branches to run again in it.`;
  return new MiyabiError('ISSUE_BUSY', error.message, {
    hint,
    cause: error,
    ...(error.details ? { details: error.details } : {}),
  });
}

// The pool names its options; the CLI user typed flags.
const FLAG_OF_OPTION: Readonly<Record<string, string>> = {
  'merge.into': '--into',
  'push.remote': '--remote',
  // The pool's refusals with queue (src/pool/runner-support.ts), of options a `run` flag sets.
  maxConcurrency: '--concurrency',
  autoCleanup: '--keep',
  push: '--push',
  prepare: '--no-setup',
  reuse: '--reuse',
  keepPaths: '--keep-path',
  maxIdle: '--max-idle',
  existingBranches: '--continue-branches',
  onConflict: '--on-conflict',
  pullRequest: '--pr',
  logDir: '--log-dir',
  radarIntervalMs: '--radar-interval',
  onOverlap: '--on-overlap',
  minFreeMemory: '--min-free-memory',
  check: '--check',
  onCheckFail: '--on-check-fail',
  allowRedBase: '--allow-red-base',
  pauseOn: '--pause-on',
  pauseMaxMs: '--pause-max',
  variants: '--variants',
  score: '--score',
  variantsStopAt: '--variants-stop-at',
};

/** A pool refusal of an option, reworded with the flag the user typed. */
function asFlagError(error: unknown): unknown {
  if (!isMiyabiError(error, 'INVALID_ARGUMENT')) return error;
  const option = error.details?.option;
  const flag = typeof option === 'string' ? FLAG_OF_OPTION[option] : undefined;
  if (!flag || !error.message.startsWith(`${option}`)) return error;
  return new MiyabiError('INVALID_ARGUMENT', `${flag}${error.message.slice(String(option).length)}`, {
    hint: error.details?.queue === 'refused' ? `Drop ${flag}, or run without --queue.` : error.hintParts,
    cause: error,
    ...(error.details ? { details: error.details } : {}),
  });
}

function definedOnly<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as never;
}

/**
 * `--log-dir` must be a folder, or not exist yet under folders we can write to: found before any
 * worktree is made rather than by every task (`mkdir` failing with ENOTDIR, EEXIST, EACCES).
 */
async function checkLogDir(logDir: string): Promise<void> {
  const refuse = (problem: string, cause?: unknown) =>
    new MiyabiError('INVALID_ARGUMENT', `--log-dir: ${logDir} ${problem}`, {
      hint: 'Point --log-dir at a folder (it is created when missing), or leave it out for the default.',
      ...(cause !== undefined ? { cause } : {}),
    });
  const found = await stat(logDir).catch((error: NodeJS.ErrnoException) => error);
  if (found instanceof Error) {
    // ENOTDIR: a file stands where one of its parent folders should be.
    if (found.code === 'ENOTDIR') throw refuse('is inside a file, not a folder', found);
    if (found.code !== 'ENOENT') throw refuse(`cannot be used: ${found.message}`, found);
  } else if (!found.isDirectory()) {
    throw refuse('is not a folder');
  }
  // The folder, or the nearest one that exists, must take the new folders and files.
  const writable = found instanceof Error ? await nearestExisting(dirname(logDir)) : logDir;
  await access(writable, constants.W_OK | constants.X_OK).catch((error: unknown) => {
    throw refuse(`cannot be written to (${writable})`, error);
  });
}

/** `path` or its nearest ancestor that exists (a dangling link counts: `access` then refuses it). */
async function nearestExisting(path: string): Promise<string> {
  for (let current = path; ; current = dirname(current)) {
    const exists = await lstat(current).then(
      () => true,
      () => false,
    );
    if (exists || dirname(current) === current) return current;
  }
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
