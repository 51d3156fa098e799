import { isMiyabiError } from '../../index.js';
import { cliHint } from './hint.js';

/** Exit code for bad usage or input (`INVALID_ARGUMENT`, `INVALID_CONFIG`). */
export const EXIT_USAGE = 2;
/** Exit code after Ctrl-C (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;

/**
 * How the CLI reports an error: one line, `error [CODE] message (hint: ...)`, never a stack
 * trace; with `verbose`, the stack, the cause chain and git's stderr follow.
 */
export function formatError(error: unknown, options: { readonly verbose?: boolean } = {}): string {
  const head = isMiyabiError(error)
    ? `error [${error.code}] ${oneLine(error.message)}${conflictList(error.conflicts)} (hint: ${oneLine(cliHint(error.hintParts))})`
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

// The user's input is at fault: a bad value (a remote that does not exist included), a bad config
// file, or a folder that is no usable repository. `run --remote` checks the same up front.
const USAGE_CODES = new Set([
  'INVALID_ARGUMENT',
  'NO_REMOTE',
  'INVALID_CONFIG',
  'NOT_A_REPOSITORY',
  'BARE_REPOSITORY',
  'NO_COMMITS',
  // A rerun of an issue whose worktree is kept, or a command that is not there: refused before anything started.
  'ISSUE_BUSY',
  'COMMAND_NOT_FOUND',
  // No GitHub token, or a repository, milestone or issue GitHub does not know: nothing was started.
  'GITHUB_AUTH',
  'GITHUB_NOT_FOUND',
]);

/**
 * The process exit code for an error that ended a command: 2 for bad usage or input (including
 * running outside a usable repository), 130 for cancel, else 1.
 */
export function exitCodeFor(error: unknown): number {
  if (isMiyabiError(error) && USAGE_CODES.has(error.code)) return EXIT_USAGE;
  if (isMiyabiError(error, 'CANCELLED')) return EXIT_INTERRUPTED;
  return 1;
}

/** `: a.txt, b.txt` for a merge conflict (at most five paths, then how many more). */
function conflictList(conflicts: readonly { readonly path: string }[] | undefined): string {
  if (!conflicts || conflicts.length === 0) return '';
  const shown = conflicts.slice(0, 5).map((conflict) => conflict.path);
  const more = conflicts.length > shown.length ? ` and ${conflicts.length - shown.length} more` : '';
  return `: ${shown.join(', ')}${more}`;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
