import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

// The folders the pool names after its batches; nothing else under a log folder is touched.
const BATCH_FOLDER = /^batch-[a-z0-9]+-[0-9a-f]+$/;

/**
 * Deletes the oldest batch log folders of `logDir` so that, with the batch about to start, at most
 * `keep` remain. Best effort: a folder that cannot be read or deleted is left, never an error.
 */
export async function pruneBatchLogs(logDir: string, keep: number): Promise<string[]> {
  const names = await readdir(logDir).catch(() => [] as string[]);
  const batches = await Promise.all(
    names
      .filter((name) => BATCH_FOLDER.test(name))
      .map(async (name) => ({
        name,
        mtime: (await stat(join(logDir, name)).catch(() => undefined))?.mtimeMs,
      })),
  );
  const dated = batches.filter((b): b is { name: string; mtime: number } => b.mtime !== undefined);
  dated.sort((a, b) => b.mtime - a.mtime || b.name.localeCompare(a.name));
  const doomed = dated.slice(Math.max(0, keep - 1)).map((b) => join(logDir, b.name));
  await Promise.all(doomed.map((path) => rm(path, { recursive: true, force: true }).catch(() => {})));
  return doomed;
}
