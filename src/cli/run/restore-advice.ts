import type { TaskResult } from '../../index.js';
import { BIN } from '../bin-name.js';

/**
 * How to bring back a task's archive `id`: here, or (a queue worker's archive that was not shared)
 * in that worker's clone, which the summary names with the command to run there.
 */
export function restoreAdvice(result: TaskResult, id: string, what: 'it' | 'them'): string {
  const on = result.archivedOn;
  if (!on || on.shared) return `bring ${what} back with: ${BIN} restore ${id}`;
  return `it is on worker ${on.worker} (host ${on.host}) in its clone ${on.repo}: bring ${what} back there with: cd ${on.repo} && ${BIN} restore ${id} (or rerun with --share-archives)`;
}
