import { readdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import type { StaleLockInfo } from '../core/types.js';

export interface StaleLockOptions {
  /** Folders a git process of this repository may stand in: the checkouts and the common dir. */
  readonly repoFolders: readonly string[];
  readonly dryRun: boolean;
  /** Younger lock files may belong to a git process that is just starting. @default 5000 */
  readonly minAgeMs?: number;
}

// Lock files of the metadata git shares between all worktrees; a stale one blocks every later writer.
const SHARED_LOCKS = ['config.lock', 'packed-refs.lock', 'HEAD.lock', 'index.lock', 'shallow.lock'];

/**
 * Finds `*.lock` files a killed git process left in the common dir (`config.lock`,
 * `packed-refs.lock`, ref locks, the index locks of every worktree) and deletes them when no git
 * process runs in the repository (checked through `/proc`; elsewhere they are only reported).
 */
export async function reclaimStaleGitLocks(
  commonDir: string,
  options: StaleLockOptions,
): Promise<StaleLockInfo[]> {
  const minAgeMs = options.minAgeMs ?? 5_000;
  const candidates = [
    ...SHARED_LOCKS.map((name) => join(commonDir, name)),
    ...(await lockFilesUnder(join(commonDir, 'refs'))),
    ...(await adminLockFiles(join(commonDir, 'worktrees'))),
  ];
  const found: string[] = [];
  for (const path of candidates) {
    const info = await stat(path).catch(() => undefined);
    if (info?.isFile() && Date.now() - info.mtimeMs >= minAgeMs) found.push(path);
  }
  if (found.length === 0) return [];
  const busy = await gitProcessIn(options.repoFolders);
  return Promise.all(
    found.map(async (path): Promise<StaleLockInfo> => {
      if (busy === undefined) {
        const reason = 'cannot tell whether a git process holds it; delete it by hand if none runs';
        return { path, action: 'kept', reason };
      }
      if (busy !== null)
        return { path, action: 'kept', reason: `git process ${busy} runs in this repository` };
      const reason = 'left by a git process that is gone';
      if (options.dryRun) return { path, action: 'would-remove', reason };
      await rm(path, { force: true });
      return { path, action: 'removed', reason };
    }),
  );
}

/** Every `*.lock` below `dir` (ref locks sit at any depth: refs/heads/feature/x.lock). */
async function lockFilesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.lock'))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** `worktrees/<name>/*.lock` (index.lock, HEAD.lock) of every linked worktree. */
async function adminLockFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const nested = await Promise.all(
    names.map(async (name) => {
      const files = await readdir(join(dir, name)).catch(() => [] as string[]);
      return files.filter((file) => file.endsWith('.lock')).map((file) => join(dir, name, file));
    }),
  );
  return nested.flat();
}

/**
 * The pid of a running git process whose working folder is inside one of `folders`; null when
 * there is none; undefined when processes cannot be inspected (no `/proc`).
 */
async function gitProcessIn(folders: readonly string[]): Promise<number | null | undefined> {
  const pids = await readdir('/proc').catch(() => undefined);
  if (pids === undefined) return undefined;
  for (const pid of pids) {
    if (!/^\d+$/.test(pid)) continue;
    const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
    if (!comm.startsWith('git')) continue;
    const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => undefined);
    if (cwd === undefined) continue;
    if (folders.some((folder) => cwd === folder || cwd.startsWith(`${folder}${sep}`))) return Number(pid);
  }
  return null;
}
