import { MiyabiError } from '../errors.js';
import { runGit } from '../git/run-git.js';
import { type ArchiveEntry, describeUnmerged, listArchives } from './archives.js';
import { resolveFilter, tooYoung } from './cleanup-filters.js';

/** Options of `WorktreeManager.pruneArchives`: `merged`, `olderThan` or both. */
export interface PruneArchivesOptions {
  /** Archives whose work is contained elsewhere (no commit or uncommitted file only they hold). @default false */
  readonly merged?: boolean;
  /** Archives made at least this long ago: milliseconds or a duration such as `'30d'` (at most ten years). */
  readonly olderThan?: number | string;
  /** Drop matching archives even when they are the only place some work is (it is then lost). @default false */
  readonly force?: boolean;
  /** Only report what would be dropped. @default false */
  readonly dryRun?: boolean;
  readonly signal?: AbortSignal;
}

/** What `pruneArchives` did. Plain data. */
export interface PruneArchivesResult {
  readonly dryRun: boolean;
  /** Archives dropped (or, in a dry run, that would be); `commit` is where each ref pointed. */
  readonly dropped: readonly ArchiveEntry[];
  /** Archives left in place, with why (too young, holds work found nowhere else, moved meanwhile). */
  readonly kept: readonly { readonly id: string; readonly reason: string }[];
}

/**
 * Drops the archives that match the filter; those that are the only place of some work stay unless
 * `force`. Each deletion is a compare-and-swap on the commit the archive was read at.
 */
export async function pruneArchives(
  repoRoot: string,
  options: PruneArchivesOptions,
): Promise<PruneArchivesResult> {
  const filter = resolveFilter({ merged: options?.merged, olderThan: options?.olderThan });
  if (!filter) {
    throw new MiyabiError('INVALID_ARGUMENT', 'pruneArchives needs merged: true or olderThan', {
      hint: [
        'e.g. ',
        { call: 'pruneArchives', merged: true },
        ' or ',
        { call: 'pruneArchives', olderThan: '30d' },
        '; ',
        { call: 'dropArchive' },
        ' drops one.',
      ],
    });
  }
  const dryRun = options.dryRun === true;
  const dropped: ArchiveEntry[] = [];
  const kept: { id: string; reason: string }[] = [];
  for (const archive of await listArchives(repoRoot, options.signal)) {
    options.signal?.throwIfAborted();
    const young = tooYoung(filter, archive.archivedAt);
    if (young) {
      kept.push({ id: archive.id, reason: young });
      continue;
    }
    if (archive.unmerged && (filter.merged || options.force !== true)) {
      const why = `holds ${describeUnmerged(archive)} found nowhere else`;
      kept.push({ id: archive.id, reason: filter.merged ? why : `${why} (force drops it)` });
      continue;
    }
    if (!dryRun) {
      const deleted = await runGit(['update-ref', '-d', archive.ref, archive.commit], {
        cwd: repoRoot,
        signal: options.signal,
        okExitCodes: [0, 1, 128],
      });
      if (deleted.exitCode !== 0) {
        kept.push({ id: archive.id, reason: 'the archive changed meanwhile' });
        continue;
      }
    }
    dropped.push(archive);
  }
  return { dryRun, dropped, kept };
}
