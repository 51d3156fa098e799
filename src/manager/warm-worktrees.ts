import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { WorktreeInfo } from '../core/types.js';
import { type BaseBranchRef, baseAtTip } from '../git/base-tip.js';
import { resolveBaseBranch } from '../git/repository.js';
import { runGit } from '../git/run-git.js';
import { ownLockReason } from '../git/worktree-admin.js';
import { ensureExcluded } from '../state/info-exclude.js';
import { currentOwner } from '../state/owner.js';
import { type ManagerContext, sayWorktreeDirNotes } from './context.js';
import { allocatePorts } from './port-blocks.js';
import { assertPositiveInteger } from './validate.js';
import { newSlotName } from './worktree-id.js';

/** Options of `WorktreeManager.warmWorktrees`. */
export interface WarmWorktreesOptions {
  /** Base the idle worktrees start at (a claim resets to each task's own base anyway). @default the manager's */
  readonly baseBranch?: string;
  /** Idle worktrees at most, counting those there already. @default the config's `maxIdle`, else `maxConcurrency` */
  readonly maxIdle?: number;
  readonly signal?: AbortSignal;
}

/**
 * Pre-creates idle reusable worktrees until `count` are idle (at most `maxIdle`): detached at the
 * base commit, files checked out, so the next tasks with `reuse` only switch branch. Returns the
 * idle worktrees created by this call.
 */
export async function warmWorktrees(
  ctx: ManagerContext,
  count: number,
  options: WarmWorktreesOptions = {},
): Promise<WorktreeInfo[]> {
  assertPositiveInteger(count, 'count');
  const base: BaseBranchRef =
    options.baseBranch === undefined
      ? ctx.defaultBase
      : await resolveBaseBranch(ctx.repo.root, options.baseBranch);
  const maxIdle = options.maxIdle ?? ctx.config.config.maxIdle ?? ctx.slots.capacity;
  const idle = (await ctx.registry.read()).filter((r) => r.status === 'idle').length;
  const wanted = Math.max(0, Math.min(count, maxIdle) - idle);
  return Promise.all(Array.from({ length: wanted }, () => warmOne(ctx, base, options.signal)));
}

async function warmOne(
  ctx: ManagerContext,
  branch: BaseBranchRef,
  signal: AbortSignal | undefined,
): Promise<WorktreeInfo> {
  const slot = newSlotName();
  const path = join(ctx.worktreeDir, slot);
  const owner = currentOwner();
  const info = await ctx.lock.run(async () => {
    await mkdir(ctx.worktreeDir, { recursive: true });
    const base = await baseAtTip(ctx.repo, branch);
    await runGit(
      [
        'worktree',
        'add',
        '--no-checkout',
        '--quiet',
        '--lock',
        '--reason',
        ownLockReason(owner),
        '--detach',
        path,
        base.commit,
      ],
      { cwd: ctx.repo.root, env: { GIT_LFS_SKIP_SMUDGE: '1' } },
    );
    try {
      if (!ctx.excludeChecked) {
        await ensureExcluded(ctx.repo.root, ctx.repo.commonDir, ctx.worktreeDir);
        ctx.excludeChecked = true;
      }
      sayWorktreeDirNotes(ctx);
      const now = new Date().toISOString();
      let record: WorktreeInfo | undefined;
      const ports = await allocatePorts(ctx, await ctx.registry.read());
      await ctx.registry.mutate((records) => {
        record = {
          id: slot,
          issueNumber: 0,
          path,
          branchName: '',
          baseBranch: base.name,
          baseCommit: base.commit,
          reusedBranch: false,
          createdAt: now,
          worktreeDir: ctx.worktreeDir,
          slot,
          ...(ports ? { ports } : {}),
          status: 'idle',
          updatedAt: now,
          owner,
        };
        return [...records, record];
      });
      return record as WorktreeInfo;
    } catch (error) {
      await runGit(['worktree', 'remove', '--force', '--force', path], { cwd: ctx.repo.root }).catch(
        () => {},
      );
      await rm(path, { recursive: true, force: true });
      throw error;
    }
  });
  // Outside the lock, in parallel; a crash here leaves files missing, which a claim sees and drops.
  await runGit(['reset', '--hard', '--quiet'], { cwd: path, signal, timeoutMs: 30 * 60_000 });
  return info;
}
