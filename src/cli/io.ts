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
