import type { WorktreeInfo } from '../core/types.js';
import { runGit } from '../git/run-git.js';
import { readIndexEntryCount, SMALL_TREE_FILES } from '../git/worktree-admin.js';

const EMPTY_TREE_SHA1 = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
const EMPTY_TREE_SHA256 = '6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321';

/**
 * Deletes a large worktree's tracked files before the lock is taken, so that removals run in
 * parallel and `git worktree remove` under the lock is quick. Runs after the archive, so nothing
 * of value is in them; git deletes about twice as fast as Node's `fs.rm`, touching only this
 * worktree's own index. A failure is harmless: `worktree remove` then deletes everything.
 */
export async function deleteTrackedFilesOutsideLock(record: WorktreeInfo): Promise<void> {
  const tracked = await readIndexEntryCount(record.path);
  if (tracked === undefined || tracked < SMALL_TREE_FILES) return;
  const emptyTree = record.baseCommit.length === 64 ? EMPTY_TREE_SHA256 : EMPTY_TREE_SHA1;
  await runGit(['read-tree', '-u', '--reset', emptyTree], { cwd: record.path }).catch(() => undefined);
}
