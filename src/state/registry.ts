import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { type Logger, safeLog } from '../log.js';
import { WORKTREE_STATUSES, type WorktreeInfo } from '../manager/types.js';

interface RegistryFile {
  readonly version: 1;
  readonly worktrees: WorktreeInfo[];
}

/**
 * The persisted list of worktrees this tool created, in `<git common dir>/miyabi/registry.json`:
 * shared by every worktree and process of the repository, invisible to `git status`.
 * Reads need no lock (writes are atomic renames); `mutate` must run under the repository lock.
 */
export class Registry {
  readonly file: string;

  constructor(
    stateDir: string,
    private readonly logger: Logger,
  ) {
    this.file = join(stateDir, 'registry.json');
  }

  /** All records, oldest first. */
  async read(): Promise<WorktreeInfo[]> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    try {
      const parsed = JSON.parse(text) as RegistryFile;
      if (parsed.version !== 1 || !Array.isArray(parsed.worktrees))
        throw new Error('unknown registry format');
      return parsed.worktrees.filter(isRecord).sort(byCreation);
    } catch (error) {
      // Writes are atomic, so this is a hand edit or a foreign file: keep it aside rather than lose it.
      const aside = `${this.file}.corrupt-${Date.now()}`;
      await rename(this.file, aside).catch(() => {});
      safeLog(
        this.logger,
        'warn',
        { file: this.file, movedTo: aside, err: String(error) },
        'registry unreadable',
      );
      return [];
    }
  }

  /** Read-modify-write; the caller must hold the repository lock. Returns the records written. */
  async mutate(change: (records: WorktreeInfo[]) => WorktreeInfo[]): Promise<WorktreeInfo[]> {
    const next = change(await this.read()).sort(byCreation);
    const body: RegistryFile = { version: 1, worktrees: next };
    // Atomic rename without fsync: a process crash never tears it; an OS crash at worst loses the
    // last write, and `cleanupAll` still finds our worktrees by their folder names.
    await writeFileAtomic(this.file, `${JSON.stringify(body, null, 2)}\n`, { fsync: false });
    return next;
  }
}

function byCreation(a: WorktreeInfo, b: WorktreeInfo): number {
  return a.createdAt < b.createdAt
    ? -1
    : a.createdAt > b.createdAt
      ? 1
      : a.id < b.id
        ? -1
        : a.id > b.id
          ? 1
          : 0;
}

function isRecord(value: unknown): value is WorktreeInfo {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    typeof record.id === 'string' &&
    typeof record.path === 'string' &&
    typeof record.branchName === 'string' &&
    typeof record.issueNumber === 'number' &&
    WORKTREE_STATUSES.includes(record.status as WorktreeInfo['status'])
  );
}
