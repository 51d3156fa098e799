import { BIN } from './bin-name.js';

/** The part of a writable stream the CLI writes to (process streams, or a test double). */
export interface OutputStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean | undefined;
  readonly columns?: number | undefined;
  readonly rows?: number | undefined;
}

/** Where a command writes: results on stdout, everything for people on stderr in `--json` mode. */
export interface CliIo {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
}

/** The process's own streams. */
export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr };
}

/** Writes `text` and a newline (nothing for an empty text). */
export function writeLine(stream: OutputStream, text = ''): void {
  stream.write(`${text}\n`);
}

/** Writes a block of lines, skipping it entirely when empty. */
export function writeBlock(stream: OutputStream, text: string): void {
  if (text !== '') stream.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** A process stream the CLI guards: it can be written to and reports write errors as events. */
export interface GuardedStream extends OutputStream {
  on(event: 'error', listener: (error: NodeJS.ErrnoException) => void): unknown;
}

/** What {@link guardProcessOutput} saw. */
export interface OutputGuard {
  /** True once a write to stdout failed for another reason than its reader going away. */
  readonly failed: boolean;
}

/**
 * Installs the one `error` handler of stdout and stderr, so a failed write never crashes a command
 * with a stack trace (commander's help and every `writeLine` go through these streams). EPIPE
 * means the reader went away (`| head`, `| true`): that stream is dropped silently and the command
 * carries on to its own exit code. Any other write error on stdout is reported once on stderr and
 * makes the exit code 1.
 */
export function guardProcessOutput(
  stdout: GuardedStream = process.stdout,
  stderr: GuardedStream = process.stderr,
): OutputGuard {
  const guard = { failed: false };
  stdout.on('error', (error) => {
    if (error.code === 'EPIPE' || guard.failed) return;
    guard.failed = true;
    // Output that never arrived is a failure even if the command succeeded (main.ts re-checks at the end).
    process.exitCode = 1;
    writeLine(stderr, `${BIN}: error: cannot write to stdout: ${error.message}`);
  });
  // Nowhere is left to report a failing stderr: its lines are dropped.
  stderr.on('error', () => {});
  return guard;
}
