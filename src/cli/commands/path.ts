import { openWorkspace } from '../context.js';
import { writeLine } from '../io.js';
import { formatJson } from '../render/json.js';
import type { CommandHandler } from './index.js';

/** `path <issue|id> [--json]`: a live worktree's folder, for `cd "$(miyabi-worktree path 42)"` (`WorktreeInfo` with `--json`). */
const path: CommandHandler = async ({ operands, options }, ctx) => {
  const { manager } = await openWorkspace(ctx);
  const worktree = await manager.resolveWorktree(String(operands[0]), { signal: ctx.signal });
  if (options.json === true) ctx.io.stdout.write(formatJson(worktree));
  else writeLine(ctx.io.stdout, worktree.path);
  return 0;
};

export default path;
