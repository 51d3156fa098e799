import { constants } from 'node:fs';
import { copyFile, cp, lstat, mkdir, opendir, rm, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ShareEntry } from '../config/config-types.js';
import type { SharedPath } from '../core/prepare-result.js';
import { runCommand } from '../process/run-command.js';

export type { SharedPath };

/**
 * Gives a new worktree the main checkout's ignored dependency folders before `setup` runs, so that
 * an install has little left to do: `clone` copies with copy-on-write where the filesystem supports
 * it (btrfs, XFS, APFS) and plainly where not, saying which; `symlink` links the folder. A source
 * that does not exist, or a path the worktree already has (a reused worktree's kept folder), is skipped.
 */
export async function shareDependencies(
  repoRoot: string,
  worktreePath: string,
  entries: readonly ShareEntry[],
): Promise<SharedPath[]> {
  const results: SharedPath[] = [];
  for (const entry of entries) {
    const started = performance.now();
    const source = join(repoRoot, entry.path);
    const target = join(worktreePath, entry.path);
    const done = (method: SharedPath['method'], note?: string): SharedPath => ({
      path: entry.path,
      mode: entry.mode,
      method,
      durationMs: Math.round(performance.now() - started),
      ...(note !== undefined ? { note } : {}),
    });
    if (!(await exists(source))) {
      results.push(done('skipped', `${entry.path} does not exist in the main checkout`));
      continue;
    }
    if (await exists(target)) {
      results.push(done('skipped', `the worktree has ${entry.path} already`));
      continue;
    }
    await mkdir(dirname(target), { recursive: true });
    if (entry.mode === 'symlink') {
      await symlink(source, target, 'dir');
      results.push(done('symlink'));
      continue;
    }
    const reflink = await canReflink(source, target);
    await copyTree(source, target, reflink);
    results.push(done(reflink ? 'reflink' : 'copy'));
  }
  return results;
}

/**
 * Copies a folder: GNU `cp -R --reflink=auto` on Linux (a clone per file where the filesystem
 * clones; ~10× faster than Node's `fs.cp` on 5,000 small files), else `fs.cp` with FICLONE.
 */
async function copyTree(source: string, target: string, reflink: boolean): Promise<void> {
  if (process.platform === 'linux') {
    const copied = await runCommand(
      ['cp', '-R', '--preserve=mode,timestamps,links', '--reflink=auto', source, target],
      {
        cwd: dirname(target),
      },
    ).catch(() => undefined);
    if (copied?.exitCode === 0) return;
    await rm(target, { recursive: true, force: true });
  }
  await cp(source, target, {
    recursive: true,
    preserveTimestamps: true,
    verbatimSymlinks: true,
    ...(reflink ? { mode: constants.COPYFILE_FICLONE } : {}),
  });
}

/** True when a file of `source` can be cloned next to `target` (same filesystem, FICLONE support). */
async function canReflink(source: string, target: string): Promise<boolean> {
  const sample = await firstFile(source, 4);
  if (!sample) return false;
  const probe = `${target}.miyabi-reflink-probe`;
  try {
    await copyFile(sample, probe, constants.COPYFILE_FICLONE_FORCE);
    return true;
  } catch {
    return false;
  } finally {
    await rm(probe, { force: true });
  }
}

/** A regular file inside `dir`, looking at most `depth` folders down; undefined when there is none. */
async function firstFile(dir: string, depth: number): Promise<string | undefined> {
  const handle = await opendir(dir).catch(() => undefined);
  if (!handle) return undefined;
  const folders: string[] = [];
  for await (const entry of handle) {
    if (entry.isFile()) return join(dir, entry.name);
    if (entry.isDirectory()) folders.push(join(dir, entry.name));
  }
  if (depth === 0) return undefined;
  for (const folder of folders) {
    const found = await firstFile(folder, depth - 1);
    if (found) return found;
  }
  return undefined;
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}
