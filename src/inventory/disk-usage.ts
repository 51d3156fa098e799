import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** `lstat` calls at once while walking a tree. */
const STAT_BATCH = 64;

/**
 * Bytes a folder takes on disk (`du`-like: allocated blocks, each hard-linked file once, links not
 * followed); 0 when it does not exist. Entries that vanish or cannot be read meanwhile are skipped.
 */
export async function diskUsage(root: string, seen: Set<string> = new Set()): Promise<number> {
  let total = 0;
  const folders = [root];
  for (let folder = folders.pop(); folder !== undefined; folder = folders.pop()) {
    const self = await lstat(folder).catch(() => undefined);
    if (!self) continue;
    total += counted(self, seen);
    if (!self.isDirectory()) continue;
    const entries = await readdir(folder, { withFileTypes: true }).catch(() => []);
    for (let at = 0; at < entries.length; at += STAT_BATCH) {
      const batch = entries.slice(at, at + STAT_BATCH);
      const stats = await Promise.all(
        batch.map((entry) =>
          entry.isDirectory() ? undefined : lstat(join(folder, entry.name)).catch(() => undefined),
        ),
      );
      batch.forEach((entry, index) => {
        if (entry.isDirectory()) folders.push(join(folder, entry.name));
        const stat = stats[index];
        if (stat) total += counted(stat, seen);
      });
    }
  }
  return total;
}

/** Allocated bytes of one entry, 0 for a hard link already counted. */
function counted(stat: Awaited<ReturnType<typeof lstat>>, seen: Set<string>): number {
  if (stat.nlink > 1 && !stat.isDirectory()) {
    const key = `${stat.dev}:${stat.ino}`;
    if (seen.has(key)) return 0;
    seen.add(key);
  }
  // Allocated blocks (512 bytes each) say what the disk holds; a file system without them, its size.
  return stat.blocks > 0 || stat.size === 0 ? Number(stat.blocks) * 512 : Number(stat.size);
}
