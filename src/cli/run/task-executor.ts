import { appendFile } from 'node:fs/promises';
import { basename } from 'node:path';
import {
  type CommandResult,
  expandTaskArgv,
  MiyabiError,
  runCommand,
  type TaskExecutor,
} from '../../index.js';
import { formatArgv, issueCommandEnvironment, lastLines, markCommand, toError } from '../../internal.js';
import { errorLine } from './error-line.js';
import type { ProgressTracker } from './progress-tracker.js';

/** The `output` of a `run` task: how its command ended (the pool's result says where its log is). */
export interface RunTaskOutput {
  /** The command as run (placeholders replaced). */
  readonly argv: readonly string[];
  /** null when the command did not run to an exit (killed, not found). */
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** The command's own run time. */
  readonly durationMs: number;
  /** The last lines of its output. */
  readonly lastLines: string;
}

export interface TaskExecutorOptions {
  /** The command and its arguments, with placeholders. */
  readonly command: readonly string[];
  /** What a task resumed after a usage limit runs instead (`MIYABI_RESUMED=1`); unset: `command`. */
  readonly resumeCommand?: readonly string[] | undefined;
  /** Extra environment for every task (the demo's git identity). */
  readonly env?: Readonly<Record<string, string>> | undefined;
  readonly progress: ProgressTracker;
}

/**
 * The executor of `run`: runs the command in the worktree through `runCommand` (own process group,
 * killed with it on timeout or Ctrl-C) with its output appended to the task's log. A non-zero exit
 * fails the task with the exit code and the last lines of output. Setup, merge and push are the
 * pool's stages around it.
 */
export function createTaskExecutor(options: TaskExecutorOptions): TaskExecutor<RunTaskOutput> {
  const { progress } = options;
  const executor: TaskExecutor<RunTaskOutput> = async (worktree, task, ctx) => {
    const resumed = ctx.env.MIYABI_RESUMED === '1' && options.resumeCommand !== undefined;
    const command = ctx.variant?.command ?? options.command;
    const argv = expandTaskArgv(resumed ? (options.resumeCommand ?? []) : command, {
      ...worktree,
      conflicts: ctx.conflicts,
      checkLog: ctx.env.MIYABI_CHECK_LOG,
      variant: ctx.variant?.variant,
      context: task.context,
    });
    ctx.setOutput({ argv, exitCode: null, signal: null, durationMs: 0, lastLines: '' });
    try {
      const issueEnv = await issueCommandEnvironment(task.context, ctx.logFile);
      await appendFile(ctx.logFile, `$ ${formatArgv(argv)}\n`);
      const result = await runCommand(argv, {
        cwd: worktree.path,
        env: { ...options.env, ...issueEnv, ...ctx.env },
        signal: ctx.signal,
        output: { file: ctx.logFile },
        onLine: (line) => progress.output(task.issueNumber, line, task.variant),
      });
      const output: RunTaskOutput = {
        argv,
        exitCode: result.exitCode,
        signal: result.signal,
        durationMs: result.durationMs,
        lastLines: lastLines(result.tail, 5),
      };
      ctx.setOutput(output);
      if (!result.ok) throw commandFailure(result, ctx.logFile);
      return output;
    } catch (error) {
      // The reason, as the task's last line in the live view (the timeout or Ctrl-C says it otherwise).
      if (!ctx.signal.aborted) progress.output(task.issueNumber, toError(error).message, task.variant);
      throw error;
    }
  };
  // The batch record keeps the command (`run --resume`); usage limits hold the tasks of its program.
  return markCommand(executor, options.command);
}

/** Why a command that ran did not succeed, with its last lines of output. */
function commandFailure(result: CommandResult, logFile: string): MiyabiError {
  const how =
    result.exitCode !== null
      ? `exited with code ${result.exitCode}`
      : `was killed by ${result.signal ?? 'a signal'}`;
  const tail = errorLine(result.tail);
  const program = basename(result.argv[0] ?? 'command');
  return new MiyabiError('COMMAND_FAILED', `${program} ${how}${tail ? `: ${tail}` : ''}`, {
    hint: `Its full output is in ${logFile}`,
    details: { exitCode: result.exitCode, signal: result.signal, logFile },
  });
}
