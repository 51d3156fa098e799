import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';

/** The built binary (`npm test` builds first). */
export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  readonly cwd: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** A running CLI process, with its output collected so far. */
export interface CliProcess {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves when the process has exited and its pipes are closed. */
  readonly done: Promise<CliResult>;
}

/** Spawns `node dist/cli/main.js ...args` the way a user's shell would (pipes, so no TTY). */
export function startCli(args: readonly string[], options: CliOptions): CliProcess {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd,
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const done = new Promise<CliResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, stdout: () => stdout, stderr: () => stderr, done };
}

/** Runs the CLI to completion. */
export function runCli(args: readonly string[], options: CliOptions): Promise<CliResult> {
  return startCli(args, options).done;
}

/** Parses stdout as the one JSON document it must be. */
export function json<T = unknown>(result: CliResult): T {
  return JSON.parse(result.stdout) as T;
}

/** True while `pid` is a running process (a zombie waiting to be reaped counts as gone). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    // No /proc (macOS): kill(0) succeeding is the best answer there is.
    return !existsSync('/proc');
  }
}

/** Polls `check` until it is true or `timeoutMs` passes; returns its last answer. */
export async function eventually(
  check: () => boolean,
  timeoutMs = 10_000,
  intervalMs = 50,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * `startCli` for one test file whose CLIs are stopped after each test: a failed expectation must not
 * leave a CLI (and its task) waiting for a barrier that never comes. Call it at the file's top level.
 */
export function stoppedAfterEachTest(): typeof startCli {
  const running: CliProcess[] = [];
  afterEach(() => {
    for (const cli of running.splice(0)) if (cli.child.exitCode === null) cli.child.kill('SIGTERM');
  });
  return (args, options) => {
    const cli = startCli(args, options);
    running.push(cli);
    return cli;
  };
}

/** Resolves once `pattern` appears in the process's stderr (what it says is the observable state). */
export function saidOnStderr(proc: CliProcess, pattern: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (pattern.test(proc.stderr())) {
        proc.child.stderr?.off('data', check);
        resolve();
      }
    };
    proc.child.stderr?.on('data', check);
    proc.child.once('exit', (code) =>
      reject(new Error(`exited ${code} before saying ${pattern}:\n${proc.stderr()}`)),
    );
    check();
  });
}
