import { spawn } from 'node:child_process';
import { type GitFailure, MiyabiError } from '../errors.js';
import {
  forgetGroup,
  newProcessesRefused,
  type ProtectedCheckout,
  rememberGroup,
} from '../process/process-groups.js';
import { withoutRepositoryEnv } from '../process/repository-env.js';
import { processGroup, type TerminateTarget, terminate } from '../process/terminate.js';

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
  /**
   * Set when git writes in a checkout this tool does not own (the user's): a forced stop lets such a
   * run finish (bounded) instead of killing it midway, and names the checkout and its repair if it
   * must kill it. An abort or timeout still stops it.
   */
  readonly protectedCheckout?: ProtectedCheckout | undefined;
}

export interface GitResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
  readonly durationMs: number;
}

const DEFAULT_TIMEOUT_MS = 120_000;

/** The environment every git call gets: no prompts, C locale (parseable messages), no repo redirects. */
function gitEnv(extra?: Readonly<Record<string, string>>): Record<string, string> {
  // Built per call (a few microseconds beside a spawn), so a later change to process.env is seen.
  const env = withoutRepositoryEnv();
  env.GIT_TERMINAL_PROMPT = '0';
  env.LC_ALL = 'C';
  env.LANGUAGE = 'C';
  // Never block on an editor or pager, and keep reads from taking index.lock.
  env.GIT_EDITOR = 'true';
  env.GIT_PAGER = 'cat';
  env.GIT_OPTIONAL_LOCKS = '0';
  env.GIT_SSH_COMMAND ??= 'ssh -oBatchMode=yes';
  return extra ? { ...env, ...extra } : env;
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
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  // A forced stop is under way: starting git now would only be killed midway.
  if (options.signal?.aborted || newProcessesRefused()) throw cancelled(args, options.cwd, options.signal);
  const outcome = await spawnGit(args, options, timeoutMs);
  const { stdout, stderr, exitCode } = outcome;
  if (exitCode !== undefined && okExitCodes.includes(exitCode) && !outcome.aborted && !outcome.timedOut) {
    return { stdout, stderr, exitCode, durationMs: outcome.durationMs };
  }
  const failure: GitFailure = {
    args: [...args],
    cwd: options.cwd,
    exitCode,
    signal: outcome.signal,
    stderr: stderr.trim(),
    stdout,
    durationMs: outcome.durationMs,
    timedOut: outcome.timedOut,
    aborted: outcome.aborted,
  };
  const command = `git ${args.join(' ')}`;
  if (outcome.aborted) throw cancelled(args, options.cwd, options.signal, failure);
  if (outcome.timedOut) {
    throw new MiyabiError('TIMEOUT', `${command} timed out after ${timeoutMs} ms`, {
      git: failure,
      hint: 'git did not answer in time; a remote may be unreachable or a hook may hang.',
    });
  }
  if (outcome.spawnError) {
    throw new MiyabiError('GIT_FAILED', `could not run git: ${outcome.spawnError.message}`, {
      git: failure,
      hint: 'Install git (>= 2.38) and make sure it is on PATH.',
      cause: outcome.spawnError,
    });
  }
  throw new MiyabiError(
    'GIT_FAILED',
    `${command} failed (exit ${exitCode}): ${firstLine(stderr) || 'no message'}`,
    {
      git: failure,
      ...lockFileHint(stderr),
    },
  );
}

/** The lock file git could not take ("Unable to create '<x>.lock': File exists"), if that is why it failed. */
export function lockFileInTheWay(stderr: string): string | undefined {
  return /Unable to create '([^']+\.lock)': File exists/.exec(stderr)?.[1];
}

/** When git could not take one of its lock files, say which one and how a stale one goes away. */
function lockFileHint(stderr: string): { hint: string } | Record<string, never> {
  const lockFile = lockFileInTheWay(stderr);
  if (!lockFile) return {};
  return {
    hint:
      `git's lock file ${lockFile} exists: another git process is writing, or one that was killed left it. ` +
      'If no git process runs in this repository, `miyabi-worktree cleanup` (cleanupAll) deletes it, or delete it by hand.',
  };
}

interface SpawnOutcome {
  stdout: string;
  stderr: string;
  exitCode: number | undefined;
  signal: string | undefined;
  durationMs: number;
  timedOut: boolean;
  aborted: boolean;
  spawnError: Error | undefined;
}

// Its own process group, so that a timeout or abort also stops what git started (hooks, ssh,
// aliases) and a terminal's Ctrl-C reaches us, not a half-done metadata write.
const OWN_GROUP = process.platform !== 'win32';
// After a kill, how long to wait for stray holders of git's pipes before giving up on them.
const PIPE_DRAIN_MS = 500;

// node:child_process directly: measured ~3 ms less per call than execa here, and we make many calls.
function spawnGit(args: readonly string[], options: RunGitOptions, timeoutMs: number): Promise<SpawnOutcome> {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn('git', args, {
      cwd: options.cwd,
      env: gitEnv(options.env),
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      detached: OWN_GROUP,
    });
    const pid = child.pid;
    if (OWN_GROUP && pid !== undefined) rememberGroup(pid, options.protectedCheckout);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
    let timedOut = false;
    let aborted = false;
    let spawnError: Error | undefined;
    let terminating = false;
    const target: TerminateTarget =
      OWN_GROUP && pid !== undefined
        ? processGroup(pid)
        : {
            send: (signal) => child.kill(signal),
            alive: () => child.exitCode === null && child.signalCode === null,
          };
    const kill = () => {
      if (terminating) return;
      terminating = true;
      // Runs past settling: a hook that ignores SIGTERM must not outlive the call; tracked until gone.
      void terminate(target).then(() => {
        if (pid !== undefined) forgetGroup(pid);
      });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, timeoutMs);
    const onAbort = () => {
      aborted = true;
      kill();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.once('error', (error) => {
      spawnError = error;
    });
    if (options.input !== undefined) {
      child.stdin?.on('error', () => {});
      child.stdin?.end(options.input);
    }
    let settled = false;
    const settle = (code: number | null, signal: NodeJS.Signals | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (pid !== undefined && !terminating) forgetGroup(pid);
      options.signal?.removeEventListener('abort', onAbort);
      resolve({
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        exitCode: spawnError ? undefined : (code ?? undefined),
        signal: signal ?? undefined,
        durationMs: Math.round(performance.now() - started),
        timedOut,
        aborted,
        spawnError,
      });
    };
    child.once('close', settle);
    // A killed git whose pipes a process outside its group still holds: do not wait for that one.
    child.once('exit', (code, signal) => {
      if (!timedOut && !aborted) return;
      setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        settle(code, signal);
      }, PIPE_DRAIN_MS).unref();
    });
  });
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
