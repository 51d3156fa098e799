import type { DeletedBranch } from '../core/types.js';
import { runGit } from '../git/run-git.js';
import type { GitWorktreeEntry } from '../git/worktree-list.js';
import { type KeptBranch, readKeptBranches, updateKeptBranches } from '../state/kept-branches.js';
import type { ManagerContext } from './context.js';

/**
 * Deletes the task branches this tool created and kept (they held commits) whose tip their base
 * branch now contains: nothing is lost, the base holds every commit. A branch checked out
 * somewhere, not merged, or moved meanwhile (compare-and-swap) stays; a user's own branch is never
 * listed. Entries of branches gone since are dropped. One `for-each-ref` per base branch.
 */
export async function deleteMergedBranches(
  ctx: ManagerContext,
  options: { dryRun: boolean; worktrees: readonly GitWorktreeEntry[]; signal?: AbortSignal | undefined },
): Promise<DeletedBranch[]> {
  const kept = await readKeptBranches(ctx.repo.stateDir);
  if (kept.length === 0) return [];
  const checkedOut = new Set(options.worktrees.map((entry) => entry.branch));
  const byBase = new Map<string, KeptBranch[]>();
  for (const branch of kept)
    byBase.set(branch.baseBranch, [...(byBase.get(branch.baseBranch) ?? []), branch]);
  const merged: DeletedBranch[] = [];
  const existing = new Set<string>();
  for (const [base, branches] of byBase) {
    const refs = branches.map((branch) => `refs/heads/${branch.name}`);
    const all = await runGit(['for-each-ref', '--format=%(refname)', ...refs], {
      cwd: ctx.repo.root,
      signal: options.signal,
    });
    for (const ref of all.stdout.split('\n')) existing.add(ref);
    // A base branch deleted since: its branches are not known to be merged, so they stay.
    const found = await runGit(
      ['for-each-ref', `--merged=refs/heads/${base}`, '--format=%(refname)%00%(objectname)', ...refs],
      { cwd: ctx.repo.root, signal: options.signal, okExitCodes: [0, 128, 129] },
    );
    if (found.exitCode !== 0) continue;
    for (const line of found.stdout.split('\n')) {
      const [ref, commit] = line.split('\0');
      if (!ref || !commit || !refs.includes(ref) || checkedOut.has(ref)) continue;
      merged.push({ name: ref.slice('refs/heads/'.length), commit, mergedInto: base });
    }
  }
  if (options.dryRun) return merged;
  return ctx.lock.run(async () => {
    const deleted: DeletedBranch[] = [];
    for (const branch of merged) {
      // Compare-and-swap: a commit made since keeps the branch.
      const ok = await runGit(['update-ref', '-d', `refs/heads/${branch.name}`, branch.commit], {
        cwd: ctx.repo.root,
      }).then(
        () => true,
        () => false,
      );
      if (ok) deleted.push(branch);
    }
    const gone = new Set(deleted.map((branch) => branch.name));
    await updateKeptBranches(ctx.repo.stateDir, (branches) =>
      branches.filter((branch) => !gone.has(branch.name) && existing.has(`refs/heads/${branch.name}`)),
    );
    return deleted;
  });
}
