import { openWorkspace } from '../context.js';
import { writeLine } from '../io.js';
import { formatJson } from '../render/json.js';
import { describeRemoval } from '../render/removal.js';
import type { CommandHandler } from './index.js';

/**
 * `remove <issue|id> [--keep-branch] [--force] [--json]`: removes a worktree; uncommitted work and
 * unmerged commits are archived first. `--force` skips the archive of uncommitted files and the
 * refusals, but never deletes the only ref to a commit. Prints the `RemoveResult` with `--json`.
 */
const remove: CommandHandler = async ({ operands, options }, ctx) => {
  const { manager } = await openWorkspace(ctx);
  try {
    const worktree = await manager.resolveWorktree(String(operands[0]), { signal: ctx.signal });
    const result = await manager.removeWorktree(worktree.id, {
      deleteBranch: options.keepBranch !== true,
      force: options.force === true,
      signal: ctx.signal,
    });
    if (options.json === true) ctx.io.stdout.write(formatJson(result));
    else for (const line of describeRemoval(result)) writeLine(ctx.io.stdout, line);
    return 0;
  } finally {
    await manager.flush();
  }
};

export default remove;
