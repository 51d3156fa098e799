import { MiyabiError } from '../errors.js';
import { runGit } from '../git/run-git.js';
import { assertWorktreeId } from './validate.js';
import { issueOfWorktreeId } from './worktree-id.js';

/** An archive of a removed worktree that `restoreWorktree` can bring back. Plain data. */
export interface ArchiveEntry {
  /** The removed worktree's id (what `restore` takes). */
  readonly id: string;
  /** `refs/miyabi/archive/<id>`. */
  readonly ref: string;
  readonly commit: string;
  readonly issueNumber: number | null;
  readonly branchName: string | null;
  /** Uncommitted files the archive holds. */
  readonly uncommittedPaths: readonly string[];
  /** Commits that were on no base or remote branch, when counted. */
  readonly unmergedCommits: number | null;
  /** ISO 8601. */
  readonly archivedAt: string;
}

const PREFIX = 'refs/miyabi/archive/';
// The manager writes its metadata as JSON after this trailer in the archive commit's message.
const TRAILER = 'Miyabi-Archive: ';

/** Every archive of the repository, oldest first (one `git for-each-ref`). */
export async function listArchives(repoRoot: string, signal?: AbortSignal): Promise<ArchiveEntry[]> {
  const format = '%(refname)%00%(objectname)%00%(creatordate:iso-strict)%00%(contents)%1e';
  const { stdout } = await runGit(['for-each-ref', `--format=${format}`, PREFIX], { cwd: repoRoot, signal });
  const entries: ArchiveEntry[] = [];
  for (const chunk of stdout.split('\x1e')) {
    const [ref = '', commit = '', date = '', message = ''] = chunk.replace(/^\n/, '').split('\0');
    const id = ref.slice(PREFIX.length);
    if (!ref.startsWith(PREFIX) || id === '' || id.includes('/')) continue;
    const meta = parseTrailer(message);
    entries.push({
      id,
      ref,
      commit,
      issueNumber: numberOrNull(meta.issueNumber) ?? issueOfWorktreeId(id),
      branchName: typeof meta.branchName === 'string' ? meta.branchName : null,
      uncommittedPaths: Array.isArray(meta.uncommittedPaths) ? meta.uncommittedPaths.map(String) : [],
      unmergedCommits: numberOrNull(meta.unmergedCommits),
      archivedAt: typeof meta.archivedAt === 'string' ? meta.archivedAt : date,
    });
  }
  return entries.sort((a, b) => a.archivedAt.localeCompare(b.archivedAt) || a.id.localeCompare(b.id));
}

function parseTrailer(message: string): Record<string, unknown> {
  const line = message.split('\n').find((l) => l.startsWith(TRAILER));
  if (!line) return {};
  try {
    const value: unknown = JSON.parse(line.slice(TRAILER.length));
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function numberOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** What {@link dropArchive} did. */
export interface DropArchiveResult {
  readonly id: string;
  readonly ref: string;
  /** The commit the ref pointed at (recoverable with `git update-ref <ref> <commit>` until git prunes it). */
  readonly commit: string;
}

/**
 * Deletes the archive `refs/miyabi/archive/<id>` (compare-and-swap on the commit it was read at).
 * An archive that holds uncommitted files, or commits no other branch, tag or remote branch contains,
 * is the only ref to that work: refused with `UNMERGED_WORK` unless `force`.
 */
export async function dropArchive(
  repoRoot: string,
  id: string,
  options: { readonly force?: boolean; readonly signal?: AbortSignal } = {},
): Promise<DropArchiveResult> {
  assertWorktreeId(id);
  const ref = `${PREFIX}${id}`;
  const entry = (await listArchives(repoRoot, options.signal)).find((archive) => archive.ref === ref);
  if (!entry) {
    throw new MiyabiError('NOT_FOUND', `no archive with id '${id}'`, {
      hint: 'listArchives() lists the archives there are.',
      details: { id },
    });
  }
  if (options.force !== true) {
    const why = await uniqueWork(repoRoot, entry, options.signal);
    if (why) {
      throw new MiyabiError('UNMERGED_WORK', `archive ${id} holds ${why}; dropping it would lose that work`, {
        hint: 'Restore it and merge or push what you want to keep, or pass force: true to drop it anyway.',
        details: { id, ref, commit: entry.commit },
      });
    }
  }
  await runGit(['update-ref', '-d', ref, entry.commit], { cwd: repoRoot, signal: options.signal });
  return { id, ref, commit: entry.commit };
}

/** What only this archive holds: its uncommitted files, or commits no other ref contains; else undefined. */
async function uniqueWork(
  repoRoot: string,
  entry: ArchiveEntry,
  signal: AbortSignal | undefined,
): Promise<string | undefined> {
  if (entry.uncommittedPaths.length > 0) return `${entry.uncommittedPaths.length} uncommitted file(s)`;
  // The archive commit's parents are the work it saved (its branch tip, an older archive).
  const { stdout } = await runGit(
    ['rev-list', '--count', `${entry.commit}^@`, '--not', '--branches', '--tags', '--remotes'],
    { cwd: repoRoot, signal },
  );
  const commits = Number(stdout.trim());
  return commits > 0 ? `${commits} commit(s) on no branch, tag or remote branch` : undefined;
}
