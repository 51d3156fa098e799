import PQueue from 'p-queue';
import { runGit } from '../git/run-git.js';

/** What an archive holds, as read from its ref and metadata trailer. */
export interface ArchivedWork {
  readonly commit: string;
  readonly branchName: string | null;
  readonly baseBranch: string | null;
  readonly uncommittedPaths: readonly string[];
}

/** Whether an archive is still the only place some of its work is. */
export interface ArchiveWorkState {
  /** Commits the archive holds that no branch, tag or remote branch contains now. */
  readonly unmergedCommits: number;
  /** The archived uncommitted files have the same content in the base or the archived branch now. */
  readonly uncommittedContained: boolean;
}

// Refs whose commits are "somewhere else": every local branch, tag and remote-tracking branch.
const ELSEWHERE = ['--not', '--branches', '--tags', '--remotes'] as const;
// Archive revisions per `rev-list`, well below any argv limit.
const CHUNK = 200;
// Git processes at once for the per-archive checks: fifty archives are not fifty spawns at once.
const PARALLEL_GIT = 4;

/**
 * For each archive: how many of its commits no other ref contains, and whether its uncommitted
 * files reached the base or its branch (a restored, committed and merged archive holds nothing of
 * its own any more). One `rev-list` for all archives when none holds a commit of its own (the
 * usual case), else one per archive; one `diff` (two at most) per archive with uncommitted files.
 */
export async function archiveWorkStates(
  repoRoot: string,
  archives: readonly ArchivedWork[],
  signal?: AbortSignal,
): Promise<ArchiveWorkState[]> {
  const anyUnmerged = await someCommitsOnlyArchived(repoRoot, archives, signal);
  const queue = new PQueue({ concurrency: PARALLEL_GIT });
  return Promise.all(
    archives.map((archive) =>
      queue.add(
        async (): Promise<ArchiveWorkState> => ({
          unmergedCommits: anyUnmerged ? await countOnlyArchived(repoRoot, archive.commit, signal) : 0,
          uncommittedContained: await uncommittedContained(repoRoot, archive, signal),
        }),
      ),
    ),
  );
}

/** True when the archive is the only place some of its work is (see {@link ArchiveWorkState}). */
export function holdsUnmergedWork(state: ArchiveWorkState, archive: ArchivedWork): boolean {
  return state.unmergedCommits > 0 || (archive.uncommittedPaths.length > 0 && !state.uncommittedContained);
}

/** Whether any archive's parents (the work it saved: its branch tip, an older archive) reach a commit nothing else does. */
async function someCommitsOnlyArchived(
  repoRoot: string,
  archives: readonly ArchivedWork[],
  signal: AbortSignal | undefined,
): Promise<boolean> {
  for (let start = 0; start < archives.length; start += CHUNK) {
    const revisions = archives.slice(start, start + CHUNK).map((archive) => `${archive.commit}^@`);
    const { stdout } = await runGit(['rev-list', '--max-count=1', ...revisions, ...ELSEWHERE], {
      cwd: repoRoot,
      signal,
    });
    if (stdout.trim() !== '') return true;
  }
  return false;
}

async function countOnlyArchived(
  repoRoot: string,
  commit: string,
  signal: AbortSignal | undefined,
): Promise<number> {
  const { stdout } = await runGit(['rev-list', '--count', `${commit}^@`, ...ELSEWHERE], {
    cwd: repoRoot,
    signal,
  });
  return Number(stdout.trim());
}

/**
 * The archived uncommitted files (content, deletions included) are the same in the base or in the
 * archived branch now: that work was committed there. True when there are none.
 */
async function uncommittedContained(
  repoRoot: string,
  archive: ArchivedWork,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  if (archive.uncommittedPaths.length === 0) return true;
  const candidates = [archive.baseBranch, archive.branchName].filter(
    (name): name is string => typeof name === 'string' && name !== '',
  );
  const paths = new Set(archive.uncommittedPaths);
  for (const branch of candidates) {
    // Every path that differs, then intersected: no pathspec (literal paths, no argv limit).
    const diff = await runGit(
      ['diff', '--name-only', '-z', '--no-renames', archive.commit, `refs/heads/${branch}`, '--'],
      // 128: the branch is gone.
      { cwd: repoRoot, signal, okExitCodes: [0, 128] },
    );
    if (diff.exitCode === 0 && !diff.stdout.split('\0').some((path) => paths.has(path))) return true;
  }
  return false;
}
