import { appendFile, mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { isMiyabiError, MiyabiError, toError } from '../../errors.js';
import type { MergeResult, MergeStrategy, PushResult } from '../../manager/types.js';
import type { WorktreeManager } from '../../manager/worktree-manager.js';
import type { TaskExecutor } from '../../pool/types.js';
import { type CommandResult, runCommand } from '../../process/run-command.js';
import { formatArgv } from '../../setup/run-setup.js';
import type { ResolvedConfig } from '../config.js';
import { expandPlaceholders, lastLines, taskEnvironment } from './placeholders.js';
import { prepareWorktree } from './prepare-worktree.js';
import type { ProgressTracker } from './progress-tracker.js';

/** A failed follow-up step (merge or push), as plain data. */
export interface StepError {
  readonly code?: string;
  readonly message: string;
  readonly hint?: string;
  /** For `MERGE_CONFLICT`: the conflicting paths. */
  readonly conflicts?: readonly { readonly path: string; readonly type?: string }[];
}

/** The `output` of a `run` task: how its command ended and where its log is. */
export interface RunTaskOutput {
  /** The command as run (placeholders replaced). */
  readonly argv: readonly string[];
  /** Setup, command and follow-up output of this task. */
  readonly logFile: string;
  /** null when the command did not run to an exit (killed, not found, setup failed). */
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** The command's own run time. */
  readonly durationMs: number;
  /** The last lines of its output. */
  readonly lastLines: string;
  /** Files copied from the main checkout because `.worktreeinclude` lists them. */
  readonly included: readonly string[];
  /** Setup commands that ran successfully. */
  readonly setup: readonly (readonly string[])[];
  /** With `--merge`: what the safe merge did, or why it did not. */
  readonly merge?: MergeResult | { readonly error: StepError };
  /** With `--push`: what was pushed, or why not. */
  readonly push?: PushResult | { readonly error: StepError };
}

export interface TaskExecutorOptions {
  readonly manager: WorktreeManager;
  readonly config: ResolvedConfig;
  /** The command and its arguments, with placeholders. */
  readonly command: readonly string[];
  /** Folder for per-task logs: `<logDir>/<batchId>/issue-<n>.log`. */
  readonly logDir: string;
  /** Extra environment for every task (the demo's git identity). */
  readonly env?: Readonly<Record<string, string>> | undefined;
  readonly merge?: { readonly into?: string | undefined; readonly strategy?: MergeStrategy } | undefined;
  readonly push?: { readonly remote: string } | undefined;
  readonly progress: ProgressTracker;
  /** Whatever is known of each task's output, also for tasks that failed (the pool keeps it only on success). */
  readonly outputs: Map<number, RunTaskOutput>;
}

/**
 * The executor of `run`: prepares the worktree (`.worktreeinclude`, `setup`), runs the command in
 * it through `runCommand` (own process group, killed with it on timeout or Ctrl-C) with its output
 * in a log file, then merges and pushes the branch when asked. A non-zero exit fails the task with
 * the exit code and the last lines of output.
 */
export function createTaskExecutor(options: TaskExecutorOptions): TaskExecutor<RunTaskOutput> {
  const { manager, progress, outputs } = options;
  const execute: TaskExecutor<RunTaskOutput> = async (worktree, task, ctx) => {
    const issue = task.issueNumber;
    const dir = join(options.logDir, ctx.batchId);
    const logFile = join(dir, `issue-${issue}.log`);
    const argv = expandPlaceholders(options.command, worktree);
    const env = { ...options.env, ...taskEnvironment(worktree, ctx.batchId) };
    let output: RunTaskOutput = {
      argv,
      logFile,
      exitCode: null,
      signal: null,
      durationMs: 0,
      lastLines: '',
      included: [],
      setup: [],
    };
    const save = (patch: Partial<RunTaskOutput>) => {
      output = { ...output, ...patch };
      outputs.set(issue, output);
    };
    save({});
    await mkdir(dir, { recursive: true });
    await appendFile(
      logFile,
      `# miyabi-worktree: issue ${issue}, worktree ${worktree.id}, branch ${worktree.branchName}\n# in ${worktree.path}\n`,
    );
    const onLine = (line: string) => progress.output(issue, line);

    progress.set(issue, 'setup');
    const prepared = await prepareWorktree(worktree, {
      repoRoot: manager.repoPath,
      config: options.config,
      env,
      signal: ctx.signal,
      logFile,
      onLine,
    });
    save({ included: prepared.copied, setup: prepared.setup.map((step) => step.argv) });

    progress.set(issue, 'running');
    await appendFile(logFile, `$ ${formatArgv(argv)}\n`);
    const result = await runCommand(argv, {
      cwd: worktree.path,
      env,
      signal: ctx.signal,
      output: { file: logFile },
      onLine,
    });
    save({
      exitCode: result.exitCode,
      signal: result.signal,
      durationMs: result.durationMs,
      lastLines: lastLines(result.tail, 5),
    });
    if (!result.ok) throw commandFailure(result, logFile);

    if (options.merge) {
      progress.output(
        issue,
        `merging ${worktree.branchName} into ${options.merge.into ?? worktree.baseBranch}…`,
      );
      save({
        merge: await attempt(ctx.signal, () =>
          manager.mergeWorktree(worktree.id, { ...options.merge, signal: ctx.signal }),
        ),
      });
      progress.output(issue, describeStep('merge', output.merge));
    }
    if (options.push) {
      progress.output(issue, `pushing ${worktree.branchName} to ${options.push.remote}…`);
      save({
        push: await attempt(ctx.signal, () =>
          manager.pushWorktree(worktree.id, { remote: options.push?.remote ?? 'origin', signal: ctx.signal }),
        ),
      });
      progress.output(issue, describeStep('push', output.push));
    }
    return output;
  };
  return async (worktree, task, ctx) => {
    try {
      return await execute(worktree, task, ctx);
    } catch (error) {
      // The reason, as the task's last line in the live view (the timeout or Ctrl-C says it otherwise).
      if (!ctx.signal.aborted) progress.output(task.issueNumber, toError(error).message);
      throw error;
    }
  };
}

/** One line for the live view about a merge or push outcome. */
function describeStep(
  step: 'merge' | 'push',
  outcome: RunTaskOutput['merge'] | RunTaskOutput['push'],
): string {
  if (!outcome) return '';
  if ('error' in outcome) return `${step} failed: ${outcome.error.code ?? outcome.error.message}`;
  if ('status' in outcome)
    return outcome.status === 'up-to-date' ? 'nothing to merge' : `${outcome.status} into ${outcome.into}`;
  return `pushed to ${outcome.remote}`;
}

/** Why a command that ran did not succeed, with its last lines of output. */
function commandFailure(result: CommandResult, logFile: string): MiyabiError {
  const how =
    result.exitCode !== null
      ? `exited with code ${result.exitCode}`
      : `was killed by ${result.signal ?? 'a signal'}`;
  const tail = lastLines(result.tail, 2);
  const program = basename(result.argv[0] ?? 'command');
  return new MiyabiError('COMMAND_FAILED', `${program} ${how}${tail ? `: ${tail}` : ''}`, {
    hint: `Its full output is in ${logFile}`,
    details: { exitCode: result.exitCode, signal: result.signal, logFile },
  });
}

/** Runs a follow-up step; its failure is reported on the task instead of failing it. */
async function attempt<T>(
  signal: AbortSignal,
  step: () => Promise<T>,
): Promise<T | { readonly error: StepError }> {
  try {
    return await step();
  } catch (error) {
    // An abort (timeout, Ctrl-C) is the task's outcome, not the step's.
    if (signal.aborted || isMiyabiError(error, 'CANCELLED')) throw error;
    return { error: stepError(error) };
  }
}

/** A thrown value as plain data for `--json`. */
export function stepError(error: unknown): StepError {
  if (isMiyabiError(error)) {
    return {
      code: error.code,
      message: error.message,
      hint: error.hint,
      ...(error.conflicts
        ? { conflicts: error.conflicts.map(({ path, type }) => ({ path, ...(type ? { type } : {}) })) }
        : {}),
    };
  }
  return { message: toError(error).message };
}
