// What the conflict radar reports: plain data the radar, the batch record and every view share.

/** A task of a batch, as the conflict radar names it. */
export interface TaskRef {
  readonly issue: number;
  readonly worktreeId: string;
  readonly branch: string;
}

/**
 * Two live task branches changed the same files since their base (`files`), and whether merging
 * one tip into the other would conflict (`conflictPaths`). `a` is the task that started first.
 * Plain JSON data: what `conflicts()` returns, `run --json` carries as `overlaps`, and the radar emits.
 */
export interface Overlap {
  readonly a: TaskRef;
  readonly b: TaskRef;
  /** Paths both branches changed since their base, sorted; empty when the overlap went away. */
  readonly files: readonly string[];
  readonly conflict: boolean;
  /** Paths `git merge-tree` could not merge cleanly, sorted; empty unless `conflict`. */
  readonly conflictPaths: readonly string[];
}
