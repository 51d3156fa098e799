import { open, readdir, readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';

/**
 * The lock of a linked worktree whose admin folder is `<commonDir>/worktrees/<name>` (git names it
 * after the folder's basename), readable even when the worktree's folder is gone.
 */
export async function readAdminLockReason(commonDir: string, name: string): Promise<string | undefined> {
  return readFile(join(commonDir, 'worktrees', name, 'locked'), 'utf8').then(
    (text) => text.trim(),
    () => undefined,
  );
}

/**
 * The admin folder of a linked worktree (`<commonDir>/worktrees/<name>`), found through its `.git`
 * file without spawning git. `undefined` when the folder or its link is gone.
 */
export async function worktreeAdminDir(worktreePath: string): Promise<string | undefined> {
  let pointer: string;
  try {
    pointer = await readFile(join(worktreePath, '.git'), 'utf8');
  } catch {
    return undefined;
  }
  const match = /^gitdir: (.+)$/m.exec(pointer);
  if (!match?.[1]) return undefined;
  return isAbsolute(match[1]) ? match[1] : resolve(worktreePath, match[1]);
}

/**
 * The lock of a linked worktree, read from its admin folder (`.git` file -> gitdir -> `locked`)
 * without spawning git. `undefined` when the worktree is not locked or its folder is gone.
 */
export async function readWorktreeLockReason(worktreePath: string): Promise<string | undefined> {
  const adminDir = await worktreeAdminDir(worktreePath);
  if (!adminDir) return undefined;
  try {
    return (await readFile(join(adminDir, 'locked'), 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/**
 * Below this many tracked files a worktree's files are written (create) and deleted (removal) by
 * the git call that runs under the repository lock anyway: an extra git process outside the lock
 * would cost more than the serialised file work it saves.
 */
export const SMALL_TREE_FILES = 1000;

/**
 * How many entries a worktree's index holds, read from the index header (`DIRC`, version, count)
 * without spawning git: a cheap measure of how many files removal will delete.
 */
export async function readIndexEntryCount(worktreePath: string): Promise<number | undefined> {
  const adminDir = await worktreeAdminDir(worktreePath);
  return adminDir ? readIndexHeaderCount(join(adminDir, 'index')) : undefined;
}

/** The entry count in the header of the index file `indexFile`; undefined when it is not one. */
export async function readIndexHeaderCount(indexFile: string): Promise<number | undefined> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(indexFile, 'r');
    const header = Buffer.alloc(12);
    const { bytesRead } = await handle.read(header, 0, 12, 0);
    if (bytesRead < 12 || header.toString('latin1', 0, 4) !== 'DIRC') return undefined;
    return header.readUInt32BE(8);
  } catch {
    return undefined;
  } finally {
    await handle?.close();
  }
}

/**
 * The folder of the worktree that has `ref` checked out (the main one at `root`, or a linked one),
 * read from the HEAD files in the common dir as `git worktree list` reads them, without spawning
 * git. Undefined when none has. The main worktree of a non-bare repository keeps its HEAD there.
 */
export async function findCheckoutOfBranch(
  root: string,
  commonDir: string,
  ref: string,
): Promise<string | undefined> {
  const wanted = `ref: ${ref}`;
  const headOf = (dir: string) =>
    readFile(join(dir, 'HEAD'), 'utf8').then(
      (t) => t.trim(),
      () => '',
    );
  if ((await headOf(commonDir)) === wanted) return root;
  const names = await readdir(join(commonDir, 'worktrees')).catch(() => [] as string[]);
  for (const name of names) {
    const admin = join(commonDir, 'worktrees', name);
    if ((await headOf(admin)) !== wanted) continue;
    // `gitdir` names the worktree's `.git` file (relative to the admin folder with relative paths).
    const gitFile = await readFile(join(admin, 'gitdir'), 'utf8').then(
      (t) => t.trim(),
      () => '',
    );
    if (gitFile) return dirname(resolve(admin, gitFile));
  }
  return undefined;
}

/** Prefix of the `git worktree lock` reason this tool writes, so others' pruning leaves ours alone. */
export const OWN_LOCK_PREFIX = 'miyabi-worktree';

/**
 * The reason our worktrees are locked with: who owns them (`git worktree list` shows it), and
 * whether `worktree add -b` created the branch, so that a worktree whose record was lost can still
 * tell a branch of ours (deleted when it holds nothing) from one the user had before (kept).
 */
export function ownLockReason(
  owner: { readonly pid: number; readonly host: string },
  options: { createdBranch?: boolean } = {},
): string {
  return `${OWN_LOCK_PREFIX} pid=${owner.pid} host=${owner.host}${options.createdBranch ? CREATED_BRANCH : ''}`;
}

const CREATED_BRANCH = ' branch=created';

/** True for one of our locks taken by a `worktree add -b` that created the branch. */
export function ownLockCreatedBranch(reason: string | undefined): boolean {
  return ownLockOwner(reason) !== undefined && (reason ?? '').endsWith(CREATED_BRANCH);
}

/** True for a lock this tool took (not one a user or another tool set). */
export function isOwnLock(reason: string | undefined): boolean {
  return reason?.startsWith(`${OWN_LOCK_PREFIX} pid=`) ?? false;
}

/** The process named by one of our locks (see {@link ownLockReason}); undefined for any other lock. */
export function ownLockOwner(reason: string | undefined): { pid: number; host: string } | undefined {
  const match = /^miyabi-worktree pid=(\d+) host=(\S+)(?: branch=created)?$/.exec(reason ?? '');
  return match?.[1] && match[2] ? { pid: Number(match[1]), host: match[2] } : undefined;
}
