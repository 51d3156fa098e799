import { parse } from 'shell-quote';
import { describe } from '../core/describe.js';
import { DEFAULT_CHECK_BATCH, inRange, OPTION_RANGES, rangeText } from '../core/limits.js';
import { MiyabiError } from '../errors.js';

/** The landing check: one command (argv, no shell) and its own time limit. */
export interface CheckSpec {
  readonly command: readonly string[];
  /** Kills the check's whole process group after this many ms. @default `DEFAULT_CHECK_TIMEOUT_MS` (600_000: 10 min) */
  readonly timeoutMs: number;
  /**
   * Ready candidates into one target checked together in one run (merged one on top of the other);
   * a failing batch is bisected until its culprit is alone. @default `DEFAULT_CHECK_BATCH` (1)
   */
  readonly batch: number;
}

/** A check as given: an argv array, or `{ command, timeoutMs, batch }`. */
export type CheckOption =
  | readonly string[]
  | { readonly command: readonly string[]; readonly timeoutMs?: number; readonly batch?: number };

export const DEFAULT_CHECK_TIMEOUT_MS = 600_000;

/**
 * Splits a command line into argv as a POSIX shell would split words (quotes, backslashes), with
 * shell-quote; `$VAR` stays literal. Operators (`&&`, `|`, `;`, `>`), globs and comments need a
 * shell, which the check never runs through: refused, with the `sh -c` spelling as the way out.
 */
export function splitCommandLine(line: string, option = '--check'): string[] {
  const words = parse(line, (name) => `$${name}`);
  const argv: string[] = [];
  for (const word of words) {
    if (typeof word === 'string') {
      argv.push(word);
      continue;
    }
    const what =
      'op' in word
        ? `'${word.op === 'glob' ? (word as { pattern: string }).pattern : word.op}'`
        : 'a comment';
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `${option}: ${what} needs a shell, and the check runs without one`,
      {
        hint: `Give the program and its arguments only, or a shell explicitly: ${option} "sh -c 'npm test && npm run lint'".`,
        details: { option },
      },
    );
  }
  if (argv.length === 0 || argv[0] === '') {
    throw new MiyabiError('INVALID_ARGUMENT', `${option} needs a command, got ${describe(line)}`, {
      hint: `Give the command that must pass, e.g. ${option} "npm test".`,
      details: { option },
    });
  }
  return argv;
}

/** A check option (library or configuration file) as a {@link CheckSpec}; `INVALID_ARGUMENT` when malformed. */
export function resolveCheck(value: CheckOption | undefined, option = 'check'): CheckSpec | undefined {
  if (value === undefined) return undefined;
  const command = Array.isArray(value) ? value : (value as { command?: unknown }).command;
  const timeoutMs = Array.isArray(value) ? undefined : (value as { timeoutMs?: unknown }).timeoutMs;
  if (
    !Array.isArray(command) ||
    command.length === 0 ||
    command.some((word) => typeof word !== 'string') ||
    command[0] === ''
  ) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `${option} must be an argv array or { command: argv, timeoutMs }, got ${describe(value)}`,
      { hint: `Pass e.g. ${option}: ['npm', 'test'].`, details: { option } },
    );
  }
  if (
    timeoutMs !== undefined &&
    (typeof timeoutMs !== 'number' ||
      !Number.isSafeInteger(timeoutMs) ||
      timeoutMs < 1 ||
      timeoutMs > 2_147_483_647)
  ) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `${option}.timeoutMs must be a whole number of ms from 1, got ${describe(timeoutMs)}`,
      { details: { option: `${option}.timeoutMs` } },
    );
  }
  const batch = Array.isArray(value) ? undefined : (value as { batch?: unknown }).batch;
  if (batch !== undefined && !inRange(batch, OPTION_RANGES.checkBatch)) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `${option}.batch must be ${rangeText(OPTION_RANGES.checkBatch)}, got ${describe(batch)}`,
      {
        hint: `Pass ${option}: { command, batch: 4 }, or leave batch out to check each landing alone.`,
        details: { option: `${option}.batch` },
      },
    );
  }
  return {
    command: [...(command as string[])],
    timeoutMs: (timeoutMs as number | undefined) ?? DEFAULT_CHECK_TIMEOUT_MS,
    batch: (batch as number | undefined) ?? DEFAULT_CHECK_BATCH,
  };
}
