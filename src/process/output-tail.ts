import { StringDecoder } from 'node:string_decoder';

/**
 * Keeps the last `maxBytes` (about) of a command's output, stdout and stderr interleaved, and
 * reports complete lines per stream as they come: memory stays bounded however much is printed.
 */
export class OutputTail {
  readonly #maxChars: number;
  readonly #onLine: ((line: string) => void) | undefined;
  readonly #streams = [
    { decoder: new StringDecoder('utf8'), partial: '' },
    { decoder: new StringDecoder('utf8'), partial: '' },
  ];
  #text = '';

  constructor(maxBytes: number, onLine?: (line: string) => void) {
    this.#maxChars = Math.max(256, maxBytes);
    this.#onLine = onLine;
  }

  /** Adds a chunk of stream 0 (stdout) or 1 (stderr). */
  push(chunk: Buffer, stream: 0 | 1): void {
    const state = this.#streams[stream];
    if (!state) return;
    const text = state.decoder.write(chunk);
    this.#append(text);
    if (this.#onLine) this.#emitLines(state, text);
  }

  /** Ends both streams: last lines without a newline are reported too. */
  flush(): void {
    for (const state of this.#streams) {
      const rest = state.decoder.end();
      this.#append(rest);
      if (!this.#onLine) continue;
      this.#emitLines(state, rest);
      if (state.partial) this.#report(state.partial);
      state.partial = '';
    }
  }

  /** The retained output, starting at a line boundary when one is within reach. */
  text(): string {
    if (this.#text.length < this.#maxChars) return this.#text;
    const newline = this.#text.indexOf('\n');
    return newline >= 0 && newline < this.#text.length - 1 ? this.#text.slice(newline + 1) : this.#text;
  }

  #append(text: string): void {
    this.#text += text;
    // Trim only past twice the limit, so heavy output costs amortised O(1) per byte.
    if (this.#text.length > this.#maxChars * 2) this.#text = this.#text.slice(-this.#maxChars);
  }

  #emitLines(state: { partial: string }, text: string): void {
    const lines = (state.partial + text).split(/\r?\n/);
    state.partial = (lines.pop() ?? '').slice(-this.#maxChars);
    for (const line of lines) this.#report(line);
  }

  #report(line: string): void {
    try {
      this.#onLine?.(line);
    } catch {
      // A broken progress view must not break the command.
    }
  }
}
