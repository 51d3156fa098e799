import { runGit } from '../git/run-git.js';

/** An archive of a removed worktree that `restore` can bring back. Plain data. */
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
    const issueFromId = /^issue-(\d+)-/.exec(id)?.[1];
    entries.push({
      id,
      ref,
      commit,
      issueNumber: numberOrNull(meta.issueNumber) ?? (issueFromId ? Number(issueFromId) : null),
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
