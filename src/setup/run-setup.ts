import { MiyabiError } from '../errors.js';

/**
 * What {@link runSetupCommands} needs from a process runner: the shape of the library's
 * `runCommand` result, kept minimal so any runner (or a test fake) fits.
 */
export interface SetupCommandResult {
  readonly exitCode: number | null | undefined;
  readonly signal: string | null | undefined;
  readonly ok: boolean;
  /** The last bytes of combined stdout/stderr. */
  readonly tail: string;
  readonly timedOut: boolean;
  readonly aborted: boolean;
  readonly durationMs: number;
}

/** Options passed to the runner for each setup command. */
export interface SetupCommandRunOptions {
  readonly cwd: string;
  readonly env?: Readonly<Record<string, string>> | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly timeoutMs?: number | undefined;
  readonly output: { readonly tailBytes: number };
}

/** Runs one argv (no shell) and reports how it ended; it should not throw for a non-zero exit. */
export type SetupCommandRunner = (
  argv: readonly string[],
  options: SetupCommandRunOptions,
) => Promise<SetupCommandResult>;

export interface RunSetupOptions {
  /** The worktree the commands run in. */
  readonly cwd: string;
  /** Environment for the commands (the runner decides how it combines with `process.env`). */
  readonly env?: Readonly<Record<string, string>> | undefined;
  /** Budget for all commands together; each gets what is left of it. */
  readonly timeoutMs?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly runCommand: SetupCommandRunner;
  /** Output kept for the error message's details. @default 4096 */
  readonly tailBytes?: number | undefined;
}

/** One setup command that ran successfully. */
export interface SetupStepResult {
  readonly argv: readonly string[];
  readonly durationMs: number;
}

export interface RunSetupResult {
  readonly steps: SetupStepResult[];
  readonly durationMs: number;
}

const DEFAULT_TAIL_BYTES = 4096;

/**
 * Runs the configured setup commands (`[["npm", "ci"], ...]`) one after another in a new
 * worktree, stopping at the first one that fails.
 *
 * `timeoutMs` bounds the whole setup: every command gets the time the previous ones left.
 *
 * @throws MiyabiError `COMMAND_FAILED` (`setup command failed: npm ci (exit 1)`, output tail in
 * `details.tail`), `TIMEOUT` when the budget runs out, `CANCELLED` when `signal` aborts, or
 * `INVALID_ARGUMENT` for an empty argv.
 */
export async function runSetupCommands(
  commands: readonly (readonly string[])[],
  options: RunSetupOptions,
): Promise<RunSetupResult> {
  const started = Date.now();
  const deadline = options.timeoutMs === undefined ? undefined : started + options.timeoutMs;
  const steps: SetupStepResult[] = [];
  for (const [index, argv] of commands.entries()) {
    if (argv.length === 0 || argv[0] === '') {
      throw new MiyabiError('INVALID_ARGUMENT', `setup command ${index + 1} is empty`, {
        hint: 'Each setup command is a non-empty argv array, e.g. ["npm", "ci"].',
      });
    }
    if (options.signal?.aborted) throw cancelled(argv, index, options.signal);
    const remaining = deadline === undefined ? undefined : deadline - Date.now();
    if (remaining !== undefined && remaining <= 0) throw timedOut(argv, index, options.timeoutMs, undefined);
    const result = await options.runCommand(argv, {
      cwd: options.cwd,
      env: options.env,
      signal: options.signal,
      timeoutMs: remaining,
      output: { tailBytes: options.tailBytes ?? DEFAULT_TAIL_BYTES },
    });
    if (!result.ok) throw failure(argv, index, result, options);
    steps.push({ argv, durationMs: result.durationMs });
  }
  return { steps, durationMs: Date.now() - started };
}

/** The error for a command that ran and did not succeed. */
function failure(
  argv: readonly string[],
  index: number,
  result: SetupCommandResult,
  options: RunSetupOptions,
): MiyabiError {
  if (result.aborted) return cancelled(argv, index, options.signal, result);
  if (result.timedOut) return timedOut(argv, index, options.timeoutMs, result);
  const how =
    result.exitCode !== null && result.exitCode !== undefined
      ? `exit ${result.exitCode}`
      : `signal ${result.signal ?? 'unknown'}`;
  return new MiyabiError('COMMAND_FAILED', `setup command failed: ${formatArgv(argv)} (${how})`, {
    hint: 'Run the command in the worktree by hand to see why, or fix `setup` in the configuration.',
    details: details(argv, index, result),
  });
}

function timedOut(
  argv: readonly string[],
  index: number,
  timeoutMs: number | undefined,
  result: SetupCommandResult | undefined,
): MiyabiError {
  return new MiyabiError('TIMEOUT', `setup timed out after ${timeoutMs ?? 0} ms at: ${formatArgv(argv)}`, {
    hint: 'Raise `setupTimeout` in the configuration, or make the setup faster.',
    details: details(argv, index, result),
  });
}

function cancelled(
  argv: readonly string[],
  index: number,
  signal: AbortSignal | undefined,
  result?: SetupCommandResult,
): MiyabiError {
  return new MiyabiError('CANCELLED', `setup was cancelled at: ${formatArgv(argv)}`, {
    cause: signal?.reason,
    details: details(argv, index, result),
  });
}

function details(
  argv: readonly string[],
  index: number,
  result: SetupCommandResult | undefined,
): Record<string, unknown> {
  return {
    argv: [...argv],
    index,
    ...(result
      ? {
          exitCode: result.exitCode ?? null,
          signal: result.signal ?? null,
          durationMs: result.durationMs,
          tail: result.tail,
        }
      : {}),
  };
}

/**
 * An argv as a person would type it: arguments with spaces or shell characters single-quoted
 * (`npm run 'build all'`). For display only; nothing here goes through a shell.
 */
export function formatArgv(argv: readonly string[]): string {
  return argv
    .map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`))
    .join(' ');
}
