import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { WORKTREE_STATUSES, type WorktreeInfo } from '../core/types.js';
import type { ManagerWarning } from '../core/warning.js';
import { type Logger, safeLog } from '../log.js';
import { loadWriteFileAtomic } from './lazy-modules.js';
import { withStateErrors } from './state-errors.js';

interface RegistryFile {
  readonly version: 1;
  readonly worktrees: WorktreeInfo[];
}

/** Told when the registry file was unreadable and moved aside (the records it held are not read). */
export type RegistryWarn = (warning: ManagerWarning) => void;

/**
 * The persisted list of worktrees this tool created, in `<git common dir>/miyabi/registry.json`:
 * shared by every worktree and process of the repository, invisible to `git status`.
 * Reads need no lock (writes are atomic renames); `mutate` must run under the repository lock.
 * File system trouble with the state folder throws `STATE_UNAVAILABLE` naming the path.
 */
export class Registry {
  readonly file: string;
  readonly #stateDir: string;

  /** Without `onWarning`, warnings go to `logger` only. */
  constructor(
    stateDir: string,
    private readonly logger: Logger,
    private readonly onWarning?: RegistryWarn,
  ) {
    this.#stateDir = stateDir;
    this.file = join(stateDir, 'registry.json');
  }

  /** All records, oldest first. */
  read(): Promise<WorktreeInfo[]> {
    return withStateErrors(this.file, this.#stateDir, () => this.#read(true));
  }

  async #read(firstAttempt: boolean): Promise<WorktreeInfo[]> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    let records: WorktreeInfo[];
    try {
      records = parseRegistry(text);
    } catch (error) {
      return this.#setAside(error, firstAttempt);
    }
    return records;
  }

  /**
   * Writes are atomic, so unparseable text is a hand edit, a disk fault or a foreign file: it is
   * kept aside rather than lost or overwritten, and the caller is told, since even a read moved it.
   */
  async #setAside(parseError: unknown, firstAttempt: boolean): Promise<WorktreeInfo[]> {
    const aside = `${this.file}.corrupt-${Date.now()}-${process.pid}`;
    try {
      await rename(this.file, aside);
    } catch (error) {
      // Another reader of this corrupt file moved it first (and warned): read what is there now.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && firstAttempt) return this.#read(false);
      throw error;
    }
    const warning: ManagerWarning = {
      code: 'REGISTRY_UNREADABLE',
      message: `the worktree registry ${this.file} was unreadable (${reason(parseError)}) and was moved to ${aside}; the worktrees it recorded are not listed until cleanup adopts the ones it finds in the worktree folder`,
      path: this.file,
      movedTo: aside,
    };
    if (this.onWarning) this.onWarning(warning);
    else safeLog(this.logger, 'warn', { ...warning }, warning.message);
    return [];
  }

  /** Read-modify-write; the caller must hold the repository lock. Returns the records written. */
  async mutate(change: (records: WorktreeInfo[]) => WorktreeInfo[]): Promise<WorktreeInfo[]> {
    const next = change(await this.read()).sort(byCreation);
    const body: RegistryFile = { version: 1, worktrees: next };
    const writeFileAtomic = await loadWriteFileAtomic();
    // Atomic rename without fsync: a process crash never tears it; an OS crash at worst loses the
    // last write, and `cleanupAll` still finds our worktrees by their folder names.
    await withStateErrors(this.file, this.#stateDir, () =>
      // 0644 whatever the umask (write-file-atomic sets it explicitly): it holds no secrets.
      writeFileAtomic(this.file, `${JSON.stringify(body, null, 2)}\n`, { fsync: false, mode: 0o644 }),
    );
    return next;
  }
}

function parseRegistry(text: string): WorktreeInfo[] {
  const parsed = JSON.parse(text) as RegistryFile;
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    parsed.version !== 1 ||
    !Array.isArray(parsed.worktrees)
  )
    throw new Error('unknown registry format');
  return parsed.worktrees.filter(isRecord).sort(byCreation);
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
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
