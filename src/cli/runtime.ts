import { BIN } from './bin-name.js';
import { COMMANDS, type CommandName } from './commands/index.js';
import { type CommandContext, parseGlobals } from './context.js';
import { type CliIo, processIo, writeLine } from './io.js';
import { createCliLogger } from './logger.js';
import { EXIT_INTERRUPTED, exitCodeFor, formatError } from './render/error.js';
import { errorJson, formatJson } from './render/json.js';
import { installInterruptHandler } from './signals.js';

/** One parsed invocation, as commander hands it over. */
export interface Invocation {
  readonly operands: readonly unknown[];
  readonly options: Readonly<Record<string, unknown>>;
  /** The command's options merged with the global ones. */
  readonly globals: Readonly<Record<string, unknown>>;
}

/**
 * Runs a command with the interrupt handler installed and maps its outcome to an exit code:
 * the command's own code, 130 once interrupted, or the error's code (2 for bad input, 1 otherwise)
 * after printing it as one line on stderr (and as `{ "error": ... }` on stdout with `--json`).
 */
export async function executeCommand(name: CommandName, invocation: Invocation): Promise<number> {
  const io = processIo();
  const globals = parseGlobals(invocation.globals);
  const json = invocation.options.json === true;
  const interrupt = installInterruptHandler({ stderr: io.stderr });
  try {
    const ctx: CommandContext = {
      globals,
      io,
      signal: interrupt.signal,
      routeNotices: (sink) => interrupt.routeNotices(sink),
      logger: await createCliLogger(globals),
    };
    const { default: handler } = await COMMANDS[name]();
    const code = await handler({ operands: invocation.operands, options: invocation.options }, ctx);
    return interrupt.received ? EXIT_INTERRUPTED : code;
  } catch (error) {
    const code = reportError(io, error, { json, verbose: globals.verbose });
    return interrupt.received ? EXIT_INTERRUPTED : code;
  } finally {
    interrupt.dispose();
  }
}

/** Prints an error the way every command does and returns its exit code. */
export function reportError(
  io: CliIo,
  error: unknown,
  options: { readonly json?: boolean; readonly verbose?: boolean } = {},
): number {
  writeLine(io.stderr, `${BIN}: ${formatError(error, { verbose: options.verbose === true })}`);
  if (options.json) io.stdout.write(formatJson(errorJson(error)));
  return exitCodeFor(error);
}

/** An error outside any command (a bug, or a failure to load a module): reported, exit 1. */
export function reportFatal(error: unknown): number {
  const verbose = process.argv.includes('--verbose');
  writeLine(process.stderr, `${BIN}: ${formatError(error, { verbose })}`);
  return 1;
}
