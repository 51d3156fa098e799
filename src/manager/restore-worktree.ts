import type { RestoreWorktreeOptions, WorktreeInfo } from '../core/types.js';
import { MiyabiError } from '../errors.js';
import { runGit } from '../git/run-git.js';
import { readArchive } from '../git/work-snapshot.js';
import type { ManagerContext } from './context.js';
import { createWorktree } from './create-worktree.js';
import { assertIssueNumber, assertWorktreeId } from './validate.js';

/**
 * Brings back a worktree removed with an archive (`refs/miyabi/archive/<id>`): a new worktree on
 * the same branch (recreated at the archived commit if it was deleted; a `-restored-` branch beside
 * it at that commit if it has moved on since) with the archived
 * uncommitted files in place — modified, deleted and untracked alike (staging is not kept).
 * The archive ref stays until the user deletes it. Returns the new worktree (it has a new id).
 */
export async function restoreWorktree(
  ctx: ManagerContext,
  id: string,
  options: RestoreWorktreeOptions = {},
): Promise<WorktreeInfo> {
  assertWorktreeId(id);
  const { root } = ctx.repo;
  if ((await ctx.registry.read()).some((record) => record.id === id)) {
    throw new MiyabiError('ALREADY_EXISTS', `worktree ${id} still exists; there is nothing to restore`, {
      hint: 'Remove it first, or use it as it is.',
    });
  }
  const archive = await readArchive(root, id);
  if (!archive) {
    throw new MiyabiError('NOT_FOUND', `no archive for '${id}'`, {
      hint: 'Archives are listed by: git for-each-ref refs/miyabi/archive/',
      details: { id },
    });
  }
  const { metadata } = archive;
  if (options.issueNumber !== undefined) assertIssueNumber(options.issueNumber);
  const issueNumber = options.issueNumber ?? metadata.issueNumber;
  // An idle reusable worktree held no branch and served no issue.
  if (issueNumber < 1) {
    throw new MiyabiError('INVALID_ARGUMENT', `archive ${id} is of an idle worktree that served no issue`, {
      hint: 'Name the issue the restored worktree is for: issueNumber (CLI: --issue <n>).',
      details: { id },
    });
  }
  const archivedBranch = metadata.branchName || `restored/${id}`;
  const { branchName, created: createdBranch } = await ctx.lock.run(() =>
    prepareBranch(root, archivedBranch, metadata.head, id),
  );
  let info: WorktreeInfo;
  try {
    info = await createWorktree(ctx, issueNumber, {
      branchName,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(await baseIfPresent(root, metadata.baseBranch)),
    });
  } catch (error) {
    if (createdBranch) {
      await runGit(['update-ref', '-d', `refs/heads/${branchName}`, metadata.head], {
        cwd: root,
      }).catch(() => {});
    }
    throw error;
  }
  if (metadata.uncommittedPaths.length > 0) {
    // Two-tree read-tree from HEAD to the archived state writes, updates and deletes files; the
    // mixed reset then puts the index back to HEAD, so the changes show as uncommitted again.
    await runGit(['read-tree', '--reset', '-u', archive.tree], { cwd: info.path });
    await runGit(['reset', '--quiet'], { cwd: info.path });
  }
  return info;
}

/**
 * Picks the branch to restore onto, at the archived commit: the archived branch, created again if
 * it was deleted; or, when it has moved on since (it may hold newer work, or the agent had left it
 * for a detached HEAD), `<branch>-restored-<id suffix>` beside it. `created` when this made it.
 */
async function prepareBranch(
  root: string,
  archivedBranch: string,
  head: string,
  id: string,
): Promise<{ branchName: string; created: boolean }> {
  for (const branchName of [archivedBranch, `${archivedBranch}-restored-${id.slice(-8)}`]) {
    const ref = `refs/heads/${branchName}`;
    const tip = await runGit(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], {
      cwd: root,
      okExitCodes: [0, 1],
    });
    if (tip.exitCode !== 0) {
      // An empty old value makes update-ref create the ref only if it does not exist yet.
      await runGit(['update-ref', '-m', 'miyabi-worktree: restore', ref, head, ''], { cwd: root });
      return { branchName, created: true };
    }
    if (tip.stdout.trim() === head) return { branchName, created: false };
  }
  throw new MiyabiError('ALREADY_EXISTS', `branch '${archivedBranch}' has moved since it was archived`, {
    hint: `Restore needs a branch at ${head.slice(0, 12)}; '${archivedBranch}' and '${archivedBranch}-restored-${id.slice(-8)}' both point elsewhere. Rename one of them, then restore again.`,
    details: { branchName: archivedBranch, archived: head },
  });
}

/** The archived base branch when it still exists (else the manager's default applies). */
async function baseIfPresent(root: string, baseBranch: string): Promise<{ baseBranch?: string }> {
  const found = await runGit(['rev-parse', '--verify', '--quiet', `refs/heads/${baseBranch}^{commit}`], {
    cwd: root,
    okExitCodes: [0, 1],
  });
  return found.exitCode === 0 ? { baseBranch } : {};
}
