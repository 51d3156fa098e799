import { openWorkspace } from '../context.js';
import { writeLine } from '../io.js';
import { formatJson } from '../render/json.js';
import type { CommandHandler } from './index.js';

/** `push <issue|id> [--remote R] [--json]`: pushes the worktree's branch and sets its upstream (`PushResult`). */
const push: CommandHandler = async ({ operands, options }, ctx) => {
  const { manager } = await openWorkspace(ctx);
  try {
    const worktree = await manager.resolveWorktree(String(operands[0]), { signal: ctx.signal });
    const remote = typeof options.remote === 'string' ? options.remote : 'origin';
    const result = await manager.pushWorktree(worktree.id, { remote, signal: ctx.signal });
    if (options.json === true) ctx.io.stdout.write(formatJson(result));
    else
      writeLine(
        ctx.io.stdout,
        `Pushed ${result.branchName} (${result.commit.slice(0, 12)}) to ${result.remote}; upstream ${result.upstream}`,
      );
    return 0;
  } finally {
    await manager.flush();
  }
};

export default push;
