import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runGit } from '../git/run-git.js';
import type { WorktreeManager } from '../manager/worktree-manager.js';
import type { TaskExecutor } from '../pool/types.js';

/**
 * On a worker, the executor of a hand-back job for a failing landing check (`handBack.checkLog`),
 * what a local `onCheckFail: { fix }` does in the task's worktree: the target merged into the task's
 * branch (as `resolve` does), the check's output written where the fix can read it, the fix run with
 * `MIYABI_CHECK_LOG` (and `MIYABI_CONFLICTS` should the target conflict), its work checked committed
 * and marker-free. The job's pool then merges into the throwaway target (a fast-forward) and pushes.
 */
export function checkFixExecutor(
  manager: WorktreeManager,
  into: string,
  checkLog: string,
  fix: TaskExecutor,
): TaskExecutor {
  return async (worktree, task, ctx) => {
    const checkout = await manager.mergeTargetIntoWorktree(worktree.id, { into, signal: ctx.signal });
    const file = await writeCheckLog(worktree.path, checkLog);
    const output = await fix(worktree, task, {
      ...ctx,
      env: {
        ...ctx.env,
        MIYABI_CONFLICTS: checkout.status === 'conflicted' ? checkout.conflictsFile : '',
        MIYABI_CHECK_LOG: file,
      },
      conflicts: checkout.conflicts,
    });
    await manager.verifyResolution(worktree.id, { conflicts: checkout.conflicts, signal: ctx.signal });
    return output;
  };
}

/** The submitter's check log is no path here: its text goes under the worktree's git dir, outside the tracked tree. */
async function writeCheckLog(path: string, text: string): Promise<string> {
  const { stdout } = await runGit(['rev-parse', '--absolute-git-dir'], { cwd: path });
  const file = join(stdout.trim(), 'miyabi-check.log');
  await writeFile(file, text);
  return file;
}
