import { isMiyabiError } from '../../errors.js';

/** Exit code for bad usage or input (`INVALID_ARGUMENT`, `INVALID_CONFIG`). */
export const EXIT_USAGE = 2;
/** Exit code after Ctrl-C (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;

/**
 * How the CLI reports an error: one line, `error [CODE]: message (hint: ...)`, never a stack
 * trace; with `verbose`, the stack, the cause chain and git's stderr follow.
 */
export function formatError(error: unknown, options: { readonly verbose?: boolean } = {}): string {
  const head = isMiyabiError(error)
    ? `error [${error.code}]: ${oneLine(error.message)} (hint: ${oneLine(error.hint)})`
    : `error: ${oneLine(error instanceof Error ? error.message : String(error))}`;
  if (!options.verbose) return head;
  const extra: string[] = [];
  if (isMiyabiError(error) && error.git?.stderr) extra.push(`git stderr:\n${error.git.stderr}`);
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth < 5; depth++) {
    if (current instanceof Error)
      extra.push(depth === 0 ? (current.stack ?? '') : `caused by: ${current.stack ?? current.message}`);
    else if (depth > 0) extra.push(`caused by: ${String(current)}`);
    current = current instanceof Error ? current.cause : undefined;
  }
  return [head, ...extra.filter((part) => part !== '')].join('\n');
}

/** The process exit code for an error that ended a command: 2 for usage, 130 for cancel, else 1. */
export function exitCodeFor(error: unknown): number {
  if (isMiyabiError(error, 'INVALID_ARGUMENT') || isMiyabiError(error, 'INVALID_CONFIG')) return EXIT_USAGE;
  if (isMiyabiError(error, 'CANCELLED')) return EXIT_INTERRUPTED;
  return 1;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
