import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadWriteFileAtomic } from './lazy-modules.js';
import { withStateErrors } from './state-errors.js';

/** A branch this tool created for a task and kept when it removed the worktree (it held commits). */
export interface KeptBranch {
  readonly name: string;
  /** The branch the task started from: the branch is merged once this one contains its tip. */
  readonly baseBranch: string;
  readonly keptAt: string;
}

interface KeptBranchesFile {
  readonly version: 1;
  readonly branches: KeptBranch[];
}

const FILE_NAME = 'kept-branches.json';

/**
 * The task branches this tool made and kept, in `<state dir>/kept-branches.json`: `cleanupAll({
 * merged })` deletes those merged since, and never a branch the user made (it is not listed).
 * Writes must run under the repository lock (atomic renames, so reads need none).
 */
export async function readKeptBranches(stateDir: string): Promise<KeptBranch[]> {
  const file = join(stateDir, FILE_NAME);
  return withStateErrors(file, stateDir, async () => {
    const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (text === undefined) return [];
    // A list we cannot read only means fewer branches are offered for deletion: never an error.
    try {
      const parsed = JSON.parse(text) as Partial<KeptBranchesFile>;
      return Array.isArray(parsed.branches) ? parsed.branches.filter(isKeptBranch) : [];
    } catch {
      return [];
    }
  });
}

/** Read-modify-write of the list; the caller holds the repository lock. */
export async function updateKeptBranches(
  stateDir: string,
  change: (branches: KeptBranch[]) => KeptBranch[],
): Promise<void> {
  const file = join(stateDir, FILE_NAME);
  const branches = change(await readKeptBranches(stateDir));
  const body: KeptBranchesFile = { version: 1, branches };
  const writeFileAtomic = await loadWriteFileAtomic();
  await withStateErrors(file, stateDir, () =>
    writeFileAtomic(file, `${JSON.stringify(body, null, 2)}\n`, { fsync: false, mode: 0o644 }),
  );
}

function isKeptBranch(value: unknown): value is KeptBranch {
  if (typeof value !== 'object' || value === null) return false;
  const entry = value as Record<string, unknown>;
  return typeof entry.name === 'string' && typeof entry.baseBranch === 'string';
}
