import { constants } from 'node:fs';
import { access, lstat, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { MiyabiError } from '../../errors.js';
import { runGit } from '../../git/run-git.js';
import type { WorktreeManager } from '../../manager/worktree-manager.js';
import type { WorktreeTask } from '../../pool/types.js';
import { WorktreePool } from '../../pool/worktree-pool.js';
import { formatArgv } from '../../setup/run-setup.js';
import { expandBranchPattern } from '../config.js';
import { type CommandContext, openWorkspace } from '../context.js';
import { writeBlock, writeLine } from '../io.js';
import { formatDuration } from '../parse-duration.js';
import { EXIT_INTERRUPTED } from '../render/error.js';
import { formatJson } from '../render/json.js';
import { createProgressRenderer } from '../render/progress.js';
import { createProgressTracker } from './progress-tracker.js';
import { type RunBatchResult, renderSummary } from './summary.js';
import { createTaskExecutor, type RunTaskOutput } from './task-executor.js';

/** Default per-task timeout of `run` when neither `--timeout` nor the config sets one: 30 minutes. */
export const DEFAULT_RUN_TIMEOUT_MS = 1_800_000;

/** Everything `run` (and `demo`) asks for, parsed and validated. */
export interface RunBatchRequest {
  readonly issues: readonly number[];
  /** The command and its arguments, placeholders unexpanded. */
  readonly command: readonly string[];
  /** Flags; `undefined` leaves the config's value (or the default). */
  readonly concurrency?: number | undefined;
  readonly timeoutMs?: number | undefined;
  readonly baseBranch?: string | undefined;
  readonly failFast: boolean;
  readonly keep: boolean;
  readonly merge?: { readonly into?: string | undefined } | undefined;
  readonly push?: { readonly remote: string } | undefined;
  /** Absolute folder for the logs; default `<git common dir>/miyabi/logs`. */
  readonly logDir?: string | undefined;
  readonly json: boolean;
  /** Extra environment for every task's setup and command. */
  readonly env?: Readonly<Record<string, string>> | undefined;
  /** Print the telemetry report of the batch after the summary. @default true */
  readonly report?: boolean | undefined;
}

/** How a batch went, and the exit code it means. */
export interface RunBatchOutcome {
  readonly result: RunBatchResult;
  /** 0 all succeeded (and merged/pushed), 1 anything failed or timed out, 130 interrupted. */
  readonly exitCode: number;
}

/**
 * Runs `command` in one worktree per issue through the pool: live view on stderr, the summary
 * table and telemetry report at the end (on stdout, or stderr with `json`), and with `json` the
 * batch result as the one document on stdout. Throws only for bad input, before anything starts.
 */
export async function runBatch(request: RunBatchRequest, ctx: CommandContext): Promise<RunBatchOutcome> {
  const { manager, config } = await openWorkspace(ctx, {
    maxConcurrency: request.concurrency,
    baseBranch: request.baseBranch,
  });
  try {
    await checkFollowUps(manager, request);
    if (request.logDir !== undefined) await checkLogDir(request.logDir);
    const concurrency = request.concurrency ?? config.maxConcurrency ?? 3;
    const timeoutMs = request.timeoutMs ?? config.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS;
    const pool = new WorktreePool(manager, {
      maxConcurrency: concurrency,
      timeoutMs,
      failFast: request.failFast,
      autoCleanup: !request.keep,
    });
    const tasks: WorktreeTask[] = request.issues.map((issueNumber) => ({
      issueNumber,
      branchName: expandBranchPattern(config.branchPattern, issueNumber),
    }));
    const { stderr } = ctx.io;
    writeLine(
      stderr,
      `Running ${formatArgv(request.command)} for ${plural(tasks.length, 'issue')} ` +
        `(${concurrency} at a time, timeout ${formatDuration(timeoutMs)}) in ${manager.repoPath}`,
    );
    const renderer = createProgressRenderer({ stream: stderr, json: request.json });
    const progress = createProgressTracker(manager, request.issues, renderer, { autoCleanup: !request.keep });
    const outputs = new Map<number, RunTaskOutput>();
    const executor = createTaskExecutor({
      manager,
      config,
      command: request.command,
      logDir: request.logDir ?? join(manager.ctx.repo.stateDir, 'logs'),
      env: request.env,
      merge: request.merge,
      push: request.push,
      progress,
      outputs,
    });
    let pooled: Awaited<ReturnType<typeof pool.executeParallel<RunTaskOutput>>>;
    try {
      pooled = await pool.executeParallel(tasks, executor, { signal: ctx.signal });
    } catch (error) {
      progress.dispose();
      throw error;
    }
    progress.finish(pooled.results);
    // The pool keeps `output` for successful tasks only; failed ones ran too and have a log.
    const result: RunBatchResult = {
      ...pooled,
      results: pooled.results.map((r) => {
        const known = outputs.get(r.issueNumber);
        return r.output === undefined && known ? { ...r, output: known } : r;
      }),
    };
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
        keep: request.keep,
        interrupted,
        width: human.isTTY ? human.columns : undefined,
      }),
    );
    if (request.report ?? true) {
      writeLine(human);
      writeBlock(human, await manager.telemetryReport({ batchId: result.batchId }));
    }
    if (request.json) ctx.io.stdout.write(formatJson(result));
    return { result, exitCode: interrupted ? EXIT_INTERRUPTED : exitCodeOf(result) };
  } finally {
    await manager.flush();
  }
}

/** 0 when every task succeeded and every merge and push it asked for worked; else 1. */
function exitCodeOf(result: RunBatchResult): number {
  if (!result.allSuccessful) return 1;
  const stepFailed = result.results.some(
    (r) => (r.output?.merge && 'error' in r.output.merge) || (r.output?.push && 'error' in r.output.push),
  );
  return stepFailed ? 1 : 0;
}

/** `--into` must be a local branch and `--push`'s remote must exist: checked before anything starts. */
async function checkFollowUps(manager: WorktreeManager, request: RunBatchRequest): Promise<void> {
  const into = request.merge?.into;
  if (into !== undefined) {
    const found = await runGit(['rev-parse', '--verify', '--quiet', `refs/heads/${into}^{commit}`], {
      cwd: manager.repoPath,
      okExitCodes: [0, 1, 128],
    });
    if (found.exitCode !== 0) {
      throw new MiyabiError('INVALID_ARGUMENT', `--into: there is no local branch '${into}'`, {
        hint: 'Merge into an existing local branch; git branch lists them.',
      });
    }
  }
  const remote = request.push?.remote;
  if (remote !== undefined) {
    const found = remote.startsWith('-')
      ? undefined
      : await runGit(['remote', 'get-url', remote], { cwd: manager.repoPath, okExitCodes: [0, 2, 128] });
    if (found?.exitCode !== 0) {
      throw new MiyabiError('INVALID_ARGUMENT', `--push: there is no remote named '${remote}'`, {
        hint: 'Add it (git remote add origin <url>) or pick one with --remote; git remote -v lists them.',
      });
    }
  }
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
