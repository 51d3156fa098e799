import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, statSync, type WriteStream } from 'node:fs';
import { dirname, isAbsolute } from 'node:path';
import { describe } from '../core/describe.js';
import { MiyabiError } from '../errors.js';
import { OutputTail } from './output-tail.js';
import { forgetGroup, newProcessesRefused, rememberGroup } from './process-groups.js';
import { withoutRepositoryEnv } from './repository-env.js';
import { processGroup, terminate } from './terminate.js';

export interface RunCommandOptions {
  /** Absolute, existing directory to run in. */
  readonly cwd: string;
  /**
   * Merged over `process.env` without the variables that point git at another repository
   * (`GIT_DIR`, `GIT_WORK_TREE`, `GIT_INDEX_FILE`, … see `REPOSITORY_ENV_VARS`), so git in the
   * command works on the repository of `cwd`; entries here win (set `GIT_DIR` here to redirect on
   * purpose), `undefined` deletes a variable.
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Aborting it kills the whole process group (SIGTERM, then SIGKILL after `graceMs`). */
  readonly signal?: AbortSignal;
  /** Own time limit; combined with `signal`. */
  readonly timeoutMs?: number;
  /** Delay between SIGTERM and SIGKILL. @default 2_000 */
  readonly graceMs?: number;
  /** Where output goes: appended to a file (a tail is still kept), or only a bounded in-memory tail. @default { tailBytes: 65_536 } */
  readonly output?: { readonly file: string } | { readonly tailBytes?: number };
  /** Each complete output line, for live views. Exceptions it throws are ignored. */
  readonly onLine?: (line: string) => void;
  /** When the main process exits, terminate what is left of its group (background children). @default true */
  readonly killGroupOnExit?: boolean;
}

/** How a command ended. A non-zero exit is a result (`ok: false`), not an exception. */
export interface CommandResult {
  readonly argv: readonly string[];
  readonly pid: number | undefined;
  /** null when killed by a signal. */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly durationMs: number;
  readonly timedOut: boolean;
  readonly aborted: boolean;
  readonly outputFile: string | undefined;
  /** The last part of the output (stdout and stderr interleaved), bounded. */
  readonly tail: string;
  /** Exit code 0 and neither timed out nor aborted. */
  readonly ok: boolean;
}

const DEFAULT_TAIL_BYTES = 64 * 1024;
const FILE_TAIL_BYTES = 8 * 1024;

/**
 * Runs `argv` (no shell) in its own process group. On abort or timeout the whole group —
 * children and grandchildren — gets SIGTERM, then SIGKILL after `graceMs`; the promise settles
 * once the group is gone (bounded), even if a grandchild keeps the output pipe open.
 * Rejects with `COMMAND_NOT_FOUND` when the program does not exist, `CANCELLED` when `signal`
 * was already aborted, `INVALID_ARGUMENT` for bad options.
 */
export async function runCommand(
  argv: readonly string[],
  options: RunCommandOptions,
): Promise<CommandResult> {
  validate(argv, options);
  const timeoutSignal = options.timeoutMs !== undefined ? AbortSignal.timeout(options.timeoutMs) : undefined;
  const signals = [options.signal, timeoutSignal].filter((s): s is AbortSignal => s !== undefined);
  const signal = signals.length > 0 ? AbortSignal.any(signals) : undefined;
  if (options.signal?.aborted || newProcessesRefused()) {
    const why = options.signal?.aborted ? 'already aborted' : 'a forced stop is under way';
    throw new MiyabiError('CANCELLED', `not started: ${argv[0]} (${why})`, {
      cause: options.signal?.reason,
    });
  }
  const output = options.output ?? {};
  const file = 'file' in output ? output.file : undefined;
  const tailLimit = file
    ? FILE_TAIL_BYTES
    : (('tailBytes' in output ? output.tailBytes : undefined) ?? DEFAULT_TAIL_BYTES);
  const tail = new OutputTail(tailLimit, options.onLine);
  let sink: WriteStream | undefined;
  if (file) {
    mkdirSync(dirname(file), { recursive: true });
    sink = createWriteStream(file, { flags: 'a' });
  }
  const started = performance.now();
  const child = spawn(argv[0] as string, argv.slice(1), {
    cwd: options.cwd,
    env: mergeEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    shell: false,
  });
  // Tracked from the moment it exists: a forced stop before the 'spawn' event must still find it.
  if (child.pid !== undefined) rememberGroup(child.pid);
  try {
    await spawned(child, argv);
  } catch (error) {
    if (child.pid !== undefined) forgetGroup(child.pid);
    sink?.end();
    throw error;
  }
  const pid = child.pid as number;
  // 'close' comes once the pipes are drained too; tracked from the start so it cannot be missed.
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  for (const [index, stream] of [child.stdout, child.stderr].entries()) {
    stream?.on('data', (chunk: Buffer) => {
      tail.push(chunk, index as 0 | 1);
      sink?.write(chunk);
    });
  }

  let timedOut = false;
  let aborted = false;
  const onAbort = () => {
    timedOut = timeoutSignal?.aborted === true && options.signal?.aborted !== true;
    aborted = !timedOut;
    void terminateGroup(pid, options.graceMs ?? 2_000);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) onAbort();

  const [exitCode, exitSignal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.once('exit', (code, sig) => resolve([code, sig])),
  );
  signal?.removeEventListener('abort', onAbort);
  // Background children left in the group would keep writing into a worktree about to be removed.
  if (options.killGroupOnExit ?? true) await terminateGroup(pid, options.graceMs ?? 2_000);
  else forgetGroup(pid);
  // The pipes may still hold the last lines after 'exit': wait for them to drain, but only briefly,
  // since a process outside the group (setsid) may hold them open forever.
  await drained(closed, PIPE_DRAIN_MS);
  child.stdout?.destroy();
  child.stderr?.destroy();
  tail.flush();
  if (sink) await new Promise<void>((resolve) => sink?.end(resolve));
  return {
    argv: [...argv],
    pid,
    exitCode,
    signal: exitSignal,
    durationMs: Math.round(performance.now() - started),
    timedOut,
    aborted,
    outputFile: file,
    tail: tail.text().slice(-tailLimit),
    ok: exitCode === 0 && !timedOut && !aborted,
  };
}

/** How long output may keep arriving after the command's group is gone. */
const PIPE_DRAIN_MS = 1_000;

/** Resolves when `closed` does, or after `ms` at the latest. */
async function drained(closed: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** Terminates the group (see `terminate`) and stops tracking it once it is gone or given up on. */
async function terminateGroup(pid: number, graceMs: number): Promise<void> {
  await terminate(processGroup(pid), { graceMs });
  forgetGroup(pid);
}

function spawned(child: ChildProcess, argv: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') {
        reject(
          new MiyabiError('COMMAND_NOT_FOUND', `command not found: ${argv[0]}`, {
            cause: error,
            hint: 'Check the command name and your PATH.',
          }),
        );
      } else {
        reject(
          new MiyabiError('COMMAND_FAILED', `could not start ${argv[0]}: ${error.message}`, { cause: error }),
        );
      }
    });
  });
}

function mergeEnv(extra: RunCommandOptions['env']): NodeJS.ProcessEnv {
  // A caller started from a git hook has GIT_DIR set: the command must not commit into its repository.
  const env: NodeJS.ProcessEnv = withoutRepositoryEnv();
  for (const [key, value] of Object.entries(extra ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

function validate(argv: readonly string[], options: RunCommandOptions): void {
  if (
    !Array.isArray(argv) ||
    argv.length === 0 ||
    argv.some((arg) => typeof arg !== 'string') ||
    argv[0] === ''
  ) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `argv must be a non-empty array of strings, got ${describe(argv)}`,
      {
        hint: "Pass the program and its arguments, e.g. ['npm', 'test'].",
      },
    );
  }
  if (typeof options?.cwd !== 'string' || !isAbsolute(options.cwd) || !existsSync(options.cwd)) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `cwd must be an existing absolute directory, got ${describe(options?.cwd)}`,
    );
  }
  if (!statSync(options.cwd).isDirectory()) {
    throw new MiyabiError('INVALID_ARGUMENT', `cwd ${options.cwd} is not a directory`);
  }
  for (const key of ['timeoutMs', 'graceMs'] as const) {
    const value = options[key];
    if (value === undefined) continue;
    const min = key === 'graceMs' ? 0 : 1;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > 2_147_483_647) {
      throw new MiyabiError(
        'INVALID_ARGUMENT',
        `${key} must be a finite number of milliseconds >= ${min}, got ${describe(value)}`,
      );
    }
  }
}
