import type { HintPart, HintStep } from '../../index.js';
import { BIN } from '../bin-name.js';

/**
 * A library error's hint in CLI words: each step the library names as a call
 * (`restoreWorktree('…')`) becomes the command that takes it (`'miyabi-worktree restore …'`).
 * The one place the CLI turns library hints into its own, for the error line and `--json` alike.
 */
export function cliHint(parts: readonly HintPart[]): string {
  return parts.map((part) => (typeof part === 'string' ? part : cliStep(part))).join('');
}

/** A task's error (`run --json`) with its hint in CLI words when it names steps; `hintParts` dropped. */
export function cliTaskError<E extends { readonly hint?: string; readonly hintParts?: readonly HintPart[] }>(
  error: E,
): E {
  if (!error.hintParts) return error;
  const { hintParts, ...rest } = error;
  return { ...rest, hint: cliHint(hintParts) } as unknown as E;
}

function cliStep(step: HintStep): string {
  if ('option' in step) return `add --${step.option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  switch (step.call) {
    case 'listWorktrees':
      return `'${BIN} list'`;
    case 'listArchives':
      return `'${BIN} archives'`;
    case 'cleanupAll':
      return `'${BIN} cleanup'`;
    case 'restoreWorktree':
      return `'${BIN} restore ${step.id}'`;
    case 'landWorktree':
      return `'${BIN} land ${step.id}'`;
    case 'resumeBatch':
      return `'${BIN} run --resume${step.id === undefined ? '' : ` ${step.id}`}'`;
    case 'dropArchive':
      return `'${BIN} archives drop ${step.id ?? '<id>'}'`;
    case 'pruneArchives':
      return `'${BIN} archives prune ${step.olderThan === undefined ? '--merged' : `--older-than ${step.olderThan}`}'`;
  }
}
