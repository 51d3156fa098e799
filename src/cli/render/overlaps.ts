import type { Overlap } from '../../index.js';

/** Paths named in one line at most; the rest are counted. */
const SHOWN_PATHS = 3;

/**
 * One overlap for people: `#3 ↔ #5 conflict in lib/application.js`, `#3 ↔ #5 both changed a.js`,
 * or `#3 ↔ #5 no longer overlap` (the earlier-started task first).
 */
export function overlapLine(overlap: Overlap): string {
  const pair = `#${overlap.a.issue} ↔ #${overlap.b.issue}`;
  if (overlap.conflict) {
    return `${pair} conflict in ${pathList(overlap.conflictPaths.length > 0 ? overlap.conflictPaths : overlap.files)}`;
  }
  if (overlap.files.length > 0) return `${pair} both changed ${pathList(overlap.files)}`;
  return `${pair} no longer overlap`;
}

function pathList(paths: readonly string[]): string {
  if (paths.length === 0) return 'their merge';
  const shown = paths.slice(0, SHOWN_PATHS).join(', ');
  return paths.length > SHOWN_PATHS ? `${shown} and ${paths.length - SHOWN_PATHS} more` : shown;
}
