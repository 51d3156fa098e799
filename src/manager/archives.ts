import { MiyabiError } from '../errors.js';
import { runGit } from '../git/run-git.js';
import { archiveWorkStates, holdsUnmergedWork } from './archive-work.js';
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
  /** The branch the worktree was started from, as recorded in the archive. */
  readonly baseBranch: string | null;
  /** Uncommitted files the archive holds. */
  readonly uncommittedPaths: readonly string[];
  /**
   * Commits of the archive that no branch, tag or remote branch contains, counted now (not when it
   * was archived): 0 once the work was restored and merged, or reached another branch.
   */
  readonly unmergedCommits: number;
  /**
   * True while the archive is the only place some of its work is: {@link unmergedCommits}, or
   * uncommitted files whose content neither the base nor the branch has. Dropping such an archive
   * needs `force`; one that is false (restored and merged, say) can go without.
   */
  readonly unmerged: boolean;
  /** ISO 8601. */
  readonly archivedAt: string;
}

const PREFIX = 'refs/miyabi/archive/';
// The manager writes its metadata as JSON after this trailer in the archive commit's message.
const TRAILER = 'Miyabi-Archive: ';

/** Every archive of the repository, oldest first, with what of its work is still only there. */
export async function listArchives(repoRoot: string, signal?: AbortSignal): Promise<ArchiveEntry[]> {
  const entries = await withWorkStates(repoRoot, await readArchiveRefs(repoRoot, signal), signal);
  return entries.sort((a, b) => a.archivedAt.localeCompare(b.archivedAt) || a.id.localeCompare(b.id));
}

type ArchiveRef = Omit<ArchiveEntry, 'unmergedCommits' | 'unmerged'>;

/** The archive refs and their metadata trailers, in one `git for-each-ref` (`id` narrows it to one). */
async function readArchiveRefs(repoRoot: string, signal?: AbortSignal, id?: string): Promise<ArchiveRef[]> {
  const format = '%(refname)%00%(objectname)%00%(creatordate:iso-strict)%00%(contents)%1e';
  const { stdout } = await runGit(['for-each-ref', `--format=${format}`, id ? `${PREFIX}${id}` : PREFIX], {
    cwd: repoRoot,
    signal,
  });
  const read: ArchiveRef[] = [];
  for (const chunk of stdout.split('\x1e')) {
    const [ref = '', commit = '', date = '', message = ''] = chunk.replace(/^\n/, '').split('\0');
    const id = ref.slice(PREFIX.length);
    if (!ref.startsWith(PREFIX) || id === '' || id.includes('/')) continue;
    const meta = parseTrailer(message);
    read.push({
      id,
      ref,
      commit,
      issueNumber: numberOrNull(meta.issueNumber) ?? issueOfWorktreeId(id),
      branchName: stringOrNull(meta.branchName),
      baseBranch: stringOrNull(meta.baseBranch),
      uncommittedPaths: Array.isArray(meta.uncommittedPaths) ? meta.uncommittedPaths.map(String) : [],
      archivedAt: typeof meta.archivedAt === 'string' ? meta.archivedAt : date,
    });
  }
  return read;
}

async function withWorkStates(
  repoRoot: string,
  refs: readonly ArchiveRef[],
  signal: AbortSignal | undefined,
): Promise<ArchiveEntry[]> {
  const states = await archiveWorkStates(repoRoot, refs, signal);
  return refs.map((entry, index): ArchiveEntry => {
    // Never missing (one state per ref); were it, the archive would count as holding work.
    const state = states[index] ?? { unmergedCommits: 0, uncommittedContained: false };
    return { ...entry, unmergedCommits: state.unmergedCommits, unmerged: holdsUnmergedWork(state, entry) };
  });
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

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
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
  const refs = (await readArchiveRefs(repoRoot, options.signal, id)).filter((archive) => archive.ref === ref);
  const [entry] = await withWorkStates(repoRoot, refs, options.signal);
  if (!entry) {
    throw new MiyabiError('NOT_FOUND', `no archive with id '${id}'`, {
      hint: [{ call: 'listArchives' }, ' lists the archives there are.'],
      details: { id },
    });
  }
  if (options.force !== true && entry.unmerged) {
    throw new MiyabiError(
      'UNMERGED_WORK',
      `archive ${id} holds ${describeUnmerged(entry)}; dropping it would lose that work`,
      {
        hint: [
          'Restore it and merge or push what you want to keep, or ',
          { option: 'force' },
          ' to drop it anyway.',
        ],
        details: { id, ref, commit: entry.commit },
      },
    );
  }
  await runGit(['update-ref', '-d', ref, entry.commit], { cwd: repoRoot, signal: options.signal });
  return { id, ref, commit: entry.commit };
}

/** What only this archive holds, for messages: `2 commit(s) on no branch, tag or remote branch`. */
export function describeUnmerged(entry: ArchiveEntry): string {
  const parts: string[] = [];
  if (entry.unmergedCommits > 0) {
    parts.push(`${entry.unmergedCommits} commit(s) on no branch, tag or remote branch`);
  }
  if (parts.length === 0 || entry.uncommittedPaths.length > 0) {
    parts.push(`${entry.uncommittedPaths.length} uncommitted file(s)`);
  }
  return parts.join(' and ');
}
