import type { WorktreeManager } from '../index.js';
import { BIN } from './bin-name.js';
import { type CliIo, writeLine } from './io.js';

/** Prints each of the manager's warnings as one `miyabi-worktree: warning: ...` line on stderr. */
export function showWarnings(manager: WorktreeManager, io: CliIo): void {
  manager.on('warning', (warning) => writeLine(io.stderr, `${BIN}: warning: ${warning.message}`));
}
