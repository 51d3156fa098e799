import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A private object folder for git commands that write objects (`add`, `write-tree`): they write
 * into it (reading the repository's objects as alternates) and `publish` moves what they wrote into
 * the repository's object folder. A failure, a full disk above all, discards it whole with `discard`,
 * so no `tmp_obj_*` file git left mid-write stays behind; nothing touches another process's
 * in-flight objects.
 */
export interface PrivateObjects {
  /** Environment for the git commands that write (`GIT_OBJECT_DIRECTORY`, `GIT_ALTERNATE_OBJECT_DIRECTORIES`). */
  readonly env: Readonly<Record<string, string>>;
  /** Moves the objects written into the repository's object folder, then removes the private one. */
  publish(): Promise<void>;
  /** Removes the private folder and everything in it. */
  discard(): Promise<void>;
}

/** A private object folder beside `objectsDir` (same file system, so publishing is renames). */
export async function privateObjects(objectsDir: string, besideDir: string): Promise<PrivateObjects> {
  await mkdir(besideDir, { recursive: true });
  const dir = await mkdtemp(join(besideDir, 'objects-'));
  const discard = () => rm(dir, { recursive: true, force: true });
  return {
    env: { GIT_OBJECT_DIRECTORY: dir, GIT_ALTERNATE_OBJECT_DIRECTORIES: objectsDir },
    discard,
    async publish() {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        if (!entry.isDirectory()) continue;
        if (/^[0-9a-f]{2}$/.test(entry.name))
          await moveLoose(join(dir, entry.name), join(objectsDir, entry.name));
        else if (entry.name === 'pack') await movePacks(join(dir, 'pack'), join(objectsDir, 'pack'));
      }
      await discard();
    },
  };
}

/** Loose objects are content-addressed: replacing an existing one with the same bytes is harmless. */
async function moveLoose(from: string, to: string): Promise<void> {
  const names = (await readdir(from)).filter((name) => !name.startsWith('tmp_'));
  if (names.length === 0) return;
  await mkdir(to, { recursive: true });
  for (const name of names) await rename(join(from, name), join(to, name));
}

/** A pack is visible to readers through its index: the index goes last. */
async function movePacks(from: string, to: string): Promise<void> {
  const names = (await readdir(from)).filter((name) => name.startsWith('pack-'));
  if (names.length === 0) return;
  await mkdir(to, { recursive: true });
  const order = (name: string) => (name.endsWith('.idx') ? 1 : 0);
  for (const name of names.sort((a, b) => order(a) - order(b)))
    await rename(join(from, name), join(to, name));
}
