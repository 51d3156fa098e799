import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ArchiveInfo, RemoveResult, WorktreeInfo } from '../core/types.js';
import { MiyabiError } from '../errors.js';
import { readLooseRef } from '../git/loose-ref.js';
import { runGit } from '../git/run-git.js';
import {
  ownLockReason,
  readIndexHeaderCount,
  SMALL_TREE_FILES,
  worktreeAdminDir,
} from '../git/worktree-admin.js';
import { currentOwner } from '../state/owner.js';
import type { ManagerContext } from './context.js';
import { archive } from './removal-archive.js';
import { assessBranch } from './removal-assessment.js';
import { settleBranch } from './removal-branch-policy.js';
import { refuseIfBeingRemoved, setClaim } from './removal-claim.js';

/**
 * The common removal (a small worktree still on its branch) in one lock section, without a
 * `git status` first: git's own `worktree remove`, without `--force`, refuses a worktree with
 * modified or untracked files, and then nothing has changed (undefined: the caller takes the full
 * path, which archives that work). The claim it sets says git had not yet checked the files, so a
 * removal that takes over after a crash reads the folder again while git's link to it stands.
 */
export async function quickRemoval(
  ctx: ManagerContext,
  record: WorktreeInfo,
  options: { deleteBranch: boolean; signal?: AbortSignal | undefined },
): Promise<{ result: Omit<RemoveResult, 'forced'>; archived: ArchiveInfo | null } | undefined> {
  const adminDir = await worktreeAdminDir(record.path);
  if (!adminDir) return undefined;
  const [head, files] = await Promise.all([
    readFile(join(adminDir, 'HEAD'), 'utf8').catch(() => ''),
    readIndexHeaderCount(join(adminDir, 'index')),
  ]);
  // Detached or switched away: commits only HEAD reaches need the full assessment.
  if (head.trim() !== `ref: refs/heads/${record.branchName}`) return undefined;
  // A large tree is deleted outside the lock by the full path, so that removals overlap.
  if (files === undefined || files >= SMALL_TREE_FILES) return undefined;
  const lockFile = join(adminDir, 'locked');
  return ctx.lock.run(async () => {
    const current = (await ctx.registry.read()).find((r) => r.id === record.id);
    if (!current)
      throw new MiyabiError('NOT_FOUND', `worktree ${record.id} was removed meanwhile`, {
        details: { id: record.id },
      });
    refuseIfBeingRemoved(current);
    if (current.removal) return undefined;
    const token = randomUUID();
    await setClaim(ctx, record.id, () => ({
      owner: currentOwner(),
      token,
      startedAt: new Date().toISOString(),
      archived: null,
      unverified: true,
    }));
    // Our lock (checked by the caller) would make git refuse; it goes back if git refuses.
    const lockReason = await readFile(lockFile, 'utf8').catch(() => undefined);
    await rm(lockFile, { force: true });
    const removed = await runGit(['worktree', 'remove', record.path], { cwd: ctx.repo.root }).then(
      () => true,
      () => false,
    );
    if (!removed) {
      if (lockReason !== undefined && existsSync(adminDir)) await writeFile(lockFile, lockReason);
      await setClaim(ctx, record.id, (claim) => (claim?.token === token ? undefined : claim));
      return undefined;
    }
    await rm(record.path, { recursive: true, force: true });
    // The branch ref still holds every commit: the archive and the branch rule run as a takeover's.
    const assessment = await assessBranch(ctx, record, options.signal, {
      tip: await readLooseRef(ctx.repo.commonDir, `refs/heads/${record.branchName}`),
    });
    const archived = await archive(ctx, record, assessment, { commitsOnly: true });
    const branch = await settleBranch(ctx, record, assessment, { deleteBranch: options.deleteBranch });
    await ctx.registry.mutate((records) => records.filter((r) => r.id !== record.id));
    return {
      archived,
      result: {
        id: record.id,
        path: record.path,
        branchName: record.branchName,
        worktreeRemoved: !existsSync(record.path),
        ...branch,
        archived,
      },
    };
  });
}

/**
 * Gives back the lock that a quick removal which then died had dropped, while git still has the
 * worktree: the takeover may refuse too, and a worktree of ours stays locked against `prune`.
 */
export async function relockAfterQuickRemoval(record: WorktreeInfo): Promise<void> {
  const adminDir = await worktreeAdminDir(record.path);
  if (!adminDir || !existsSync(adminDir)) return;
  const reason = ownLockReason(record.owner, { createdBranch: !record.reusedBranch });
  await writeFile(join(adminDir, 'locked'), reason, { flag: 'wx' }).catch(() => {});
}
