import { appendFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { MiyabiError } from '../errors.js';
import type { TaskExecutor } from '../pool/types.js';
import { lastLines } from '../process/last-lines.js';
import { runCommand } from '../process/run-command.js';
import { expandTaskArgv } from '../setup/expand-task-argv.js';
import { issueCommandEnvironment } from '../setup/issue-command-env.js';
import { formatArgv } from '../setup/run-setup.js';

/** How a command task ended: the result's `output` for a queue task, locally and on a worker alike. */
export interface CommandTaskOutput {
  /** The command as run (placeholders replaced). */
  readonly argv: readonly string[];
  /** null when the command did not run to an exit (killed, not found). */
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly durationMs: number;
  /** The last lines of its output. */
  readonly lastLines: string;
}

export interface CommandExecutorOptions {
  /** Each line of the command's output, as it comes. */
  readonly onLine?: (line: string, issueNumber: number) => void;
  /** Extra environment for the command (the task's `MIYABI_*` variables are always given). */
  readonly env?: Readonly<Record<string, string>>;
  /** What a task resumed after a usage limit runs instead (its `ctx.env` has `MIYABI_RESUMED=1`). @default argv */
  readonly resumeCommand?: readonly string[];
}

const ARGV = Symbol.for('miyabi-worktree.command-argv');
const ENV = Symbol.for('miyabi-worktree.command-env');
const RESUME = Symbol.for('miyabi-worktree.command-resume');

/**
 * An executor that runs `argv` in the task's worktree (own process group, killed with it on
 * timeout or cancel; output appended to the task's log), its placeholders replaced by
 * `expandTaskArgv` against that worktree and the task's issue context, which also gives it
 * `MIYABI_ISSUE_*` and `MIYABI_ISSUE_FILE`. Unlike an arbitrary function it can travel: a pool with
 * `queue` sends its argv (placeholders unexpanded) and the task's issue context to the workers,
 * which run it with this same executor.
 */
export function commandExecutor(
  argv: readonly string[],
  options: CommandExecutorOptions = {},
): TaskExecutor<CommandTaskOutput> {
  if (
    !Array.isArray(argv) ||
    argv.length === 0 ||
    argv.some((arg) => typeof arg !== 'string') ||
    argv[0] === ''
  ) {
    throw new MiyabiError('INVALID_ARGUMENT', 'commandExecutor needs a non-empty argv array of strings', {
      hint: "e.g. commandExecutor(['npm', 'test'])",
    });
  }
  const command = [...argv];
  const executor: TaskExecutor<CommandTaskOutput> = async (worktree, task, ctx) => {
    const resumed = ctx.env.MIYABI_RESUMED === '1' && options.resumeCommand !== undefined;
    const own = ctx.variant?.command ?? command;
    const argv = expandTaskArgv(resumed ? (options.resumeCommand ?? own) : own, {
      ...worktree,
      conflicts: ctx.conflicts,
      checkLog: ctx.env.MIYABI_CHECK_LOG,
      variant: ctx.variant?.variant,
      context: task.context,
    });
    ctx.setOutput({ argv, exitCode: null, signal: null, durationMs: 0, lastLines: '' });
    const issueEnv = await issueCommandEnvironment(task.context, ctx.logFile);
    await appendFile(ctx.logFile, `$ ${formatArgv(argv)}\n`);
    const result = await runCommand(argv, {
      cwd: worktree.path,
      env: { ...options.env, ...issueEnv, ...ctx.env },
      signal: ctx.signal,
      output: { file: ctx.logFile },
      ...(options.onLine ? { onLine: (line: string) => options.onLine?.(line, task.issueNumber) } : {}),
    });
    const output: CommandTaskOutput = {
      argv,
      exitCode: result.exitCode,
      signal: result.signal,
      durationMs: result.durationMs,
      lastLines: lastLines(result.tail, 5),
    };
    ctx.setOutput(output);
    if (!result.ok) {
      const how =
        result.exitCode !== null
          ? `exited with code ${result.exitCode}`
          : `was killed by ${result.signal ?? 'a signal'}`;
      const tail = lastLines(result.tail, 2);
      throw new MiyabiError(
        'COMMAND_FAILED',
        `${basename(argv[0] ?? 'command')} ${how}${tail ? `: ${tail}` : ''}`,
        {
          hint: `Its full output is in ${ctx.logFile}`,
          details: { exitCode: result.exitCode, signal: result.signal },
        },
      );
    }
    return output;
  };
  Object.defineProperty(executor, ARGV, { value: Object.freeze(command) });
  if (options.env) Object.defineProperty(executor, ENV, { value: Object.freeze({ ...options.env }) });
  if (options.resumeCommand) {
    Object.defineProperty(executor, RESUME, { value: Object.freeze([...options.resumeCommand]) });
  }
  return executor;
}

/**
 * Marks an executor as running `argv` (as {@link commandExecutor}'s are): the batch record keeps the
 * command for `run --resume`, and usage-limit pauses hold the tasks of that program.
 */
export function markCommand<T>(executor: TaskExecutor<T>, argv: readonly string[]): TaskExecutor<T> {
  Object.defineProperty(executor, ARGV, { value: Object.freeze([...argv]) });
  return executor;
}

/** `wrapped` marked as `executor` is (its argv, `env` and `resumeCommand` travel with it on a queue). */
export function keepCommandMarks<T>(wrapped: TaskExecutor<T>, executor: TaskExecutor<T>): TaskExecutor<T> {
  for (const mark of [ARGV, ENV, RESUME]) {
    const value = (executor as unknown as Record<symbol, unknown>)[mark];
    if (value !== undefined) Object.defineProperty(wrapped, mark, { value });
  }
  return wrapped;
}

/** The argv (placeholders unexpanded) of an executor made by {@link commandExecutor}, else undefined. */
export function commandOf(executor: unknown): readonly string[] | undefined {
  if (typeof executor !== 'function') return undefined;
  const argv = (executor as unknown as Record<symbol, unknown>)[ARGV];
  return Array.isArray(argv) ? (argv as readonly string[]) : undefined;
}

/** The extra environment (`env` option) of an executor made by {@link commandExecutor}: it travels with its argv. */
export function commandEnvOf(executor: unknown): Readonly<Record<string, string>> | undefined {
  if (typeof executor !== 'function') return undefined;
  const env = (executor as unknown as Record<symbol, unknown>)[ENV];
  return typeof env === 'object' && env !== null ? (env as Readonly<Record<string, string>>) : undefined;
}

/** The `resumeCommand` of an executor made by {@link commandExecutor}: it travels with its argv. */
export function resumeCommandOf(executor: unknown): readonly string[] | undefined {
  if (typeof executor !== 'function') return undefined;
  const argv = (executor as unknown as Record<symbol, unknown>)[RESUME];
  return Array.isArray(argv) ? (argv as readonly string[]) : undefined;
}
