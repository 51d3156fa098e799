import { execa } from 'execa';
import { type GitFailure, MiyabiError } from '../errors.js';

export interface RunGitOptions {
  /** Directory git runs in (`git -C` equivalent). */
  readonly cwd: string;
  readonly signal?: AbortSignal | undefined;
  /** Kill git after this many milliseconds. @default 120_000 */
  readonly timeoutMs?: number | undefined;
  /** Extra environment on top of the sanitised one (e.g. `GIT_INDEX_FILE`). */
  readonly env?: Readonly<Record<string, string>> | undefined;
  /** Written to git's stdin. */
  readonly input?: string | undefined;
  /** Exit codes that are answers, not failures (e.g. 1 for `merge-tree` conflicts). @default [0] */
  readonly okExitCodes?: readonly number[] | undefined;
}

export interface GitResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
  readonly durationMs: number;
}

const DEFAULT_TIMEOUT_MS = 120_000;

// Variables that would point git at another repository or index than the one we name with cwd.
const REPO_REDIRECTING_VARS = [
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_INDEX_FILE',
  'GIT_COMMON_DIR',
  'GIT_PREFIX',
  'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_NAMESPACE',
  'GIT_CEILING_DIRECTORIES',
];

let baseEnv: Record<string, string> | undefined;

/** The environment every git call gets: no prompts, C locale (parseable messages), no repo redirects. */
function gitEnv(extra?: Readonly<Record<string, string>>): Record<string, string> {
  if (!baseEnv) {
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) {
      if (value !== undefined && !REPO_REDIRECTING_VARS.includes(key)) env[key] = value;
    }
    env.GIT_TERMINAL_PROMPT = '0';
    env.LC_ALL = 'C';
    env.LANGUAGE = 'C';
    // Never block on an editor or pager, and keep reads from taking index.lock.
    env.GIT_EDITOR = 'true';
    env.GIT_PAGER = 'cat';
    env.GIT_OPTIONAL_LOCKS = '0';
    env.GIT_SSH_COMMAND ??= 'ssh -oBatchMode=yes';
    baseEnv = env;
  }
  return extra ? { ...baseEnv, ...extra } : baseEnv;
}

/**
 * Runs `git <args>` in `cwd`: the only place in the library that spawns git.
 *
 * Arguments are an argv array (never a shell string). A non-zero exit (outside `okExitCodes`),
 * a timeout, an abort or a spawn failure throws a `MiyabiError` whose `git` field keeps the command,
 * exit code and stderr; an abort throws code `CANCELLED`, a timeout `TIMEOUT`.
 */
export async function runGit(args: readonly string[], options: RunGitOptions): Promise<GitResult> {
  const okExitCodes = options.okExitCodes ?? [0];
  if (options.signal?.aborted) throw cancelled(args, options.cwd, options.signal);
  const result = await execa('git', args, {
    cwd: options.cwd,
    env: gitEnv(options.env),
    extendEnv: false,
    reject: false,
    stripFinalNewline: false,
    timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    ...(options.signal ? { cancelSignal: options.signal } : {}),
    ...(options.input !== undefined ? { input: options.input } : { stdin: 'ignore' as const }),
    forceKillAfterDelay: 2_000,
  });
  const stdout = typeof result.stdout === 'string' ? result.stdout : '';
  const stderr = typeof result.stderr === 'string' ? result.stderr : '';
  const exitCode = result.exitCode;
  if (exitCode !== undefined && okExitCodes.includes(exitCode) && !result.isCanceled && !result.timedOut) {
    return { stdout, stderr, exitCode, durationMs: result.durationMs };
  }
  const failure: GitFailure = {
    args: [...args],
    cwd: options.cwd,
    exitCode,
    signal: result.signal,
    stderr: stderr.trim(),
    stdout,
    durationMs: result.durationMs,
    timedOut: result.timedOut,
    aborted: result.isCanceled,
  };
  const command = `git ${args.join(' ')}`;
  if (result.isCanceled) {
    throw cancelled(args, options.cwd, options.signal, failure);
  }
  if (result.timedOut) {
    throw new MiyabiError(
      'TIMEOUT',
      `${command} timed out after ${options.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`,
      {
        git: failure,
        hint: 'git did not answer in time; a remote may be unreachable or a hook may hang.',
      },
    );
  }
  if (exitCode === undefined) {
    const reason = result.originalMessage || result.shortMessage;
    throw new MiyabiError('GIT_FAILED', `could not run git: ${reason}`, {
      git: failure,
      hint: 'Install git (>= 2.38) and make sure it is on PATH.',
      cause: result.cause,
    });
  }
  throw new MiyabiError(
    'GIT_FAILED',
    `${command} failed (exit ${exitCode}): ${firstLine(stderr) || 'no message'}`,
    {
      git: failure,
    },
  );
}

function cancelled(
  args: readonly string[],
  cwd: string,
  signal?: AbortSignal,
  git?: GitFailure,
): MiyabiError {
  return new MiyabiError('CANCELLED', `git ${args[0] ?? ''} was cancelled`, {
    cause: signal?.reason,
    ...(git ? { git } : { git: emptyFailure(args, cwd) }),
  });
}

function emptyFailure(args: readonly string[], cwd: string): GitFailure {
  return {
    args: [...args],
    cwd,
    exitCode: undefined,
    signal: undefined,
    stderr: '',
    stdout: '',
    durationMs: 0,
    timedOut: false,
    aborted: true,
  };
}

/** The first meaningful line of git's stderr (skipping `hint:` lines), for one-line messages. */
export function firstLine(stderr: string): string {
  for (const line of stderr.split('\n')) {
    const trimmed = line.trim();
    if (trimmed && !trimmed.startsWith('hint:')) return trimmed;
  }
  return '';
}

// git's messages for lock contention and half-written worktree metadata: safe to retry after undo.
const TRANSIENT_PATTERNS = [
  /could not lock config file/i,
  /failed to read .*commondir/i,
  /failed to read .*gitdir/i,
  /Unable to create '.*\.lock': File exists/i,
  /cannot lock ref/i,
  /unable to lock/i,
];

/** True when a git failure is lock contention another process caused, which a retry can fix. */
export function isTransientGitError(error: unknown): boolean {
  if (!(error instanceof MiyabiError) || error.code !== 'GIT_FAILED' || !error.git) return false;
  const text = error.git.stderr;
  return TRANSIENT_PATTERNS.some((pattern) => pattern.test(text));
}

/** The stderr of a git failure, or '' when the error did not come from git. */
export function gitStderr(error: unknown): string {
  return error instanceof MiyabiError && error.git ? error.git.stderr : '';
}
