import { BIN } from '../bin-name.js';
import { openWorkspace } from '../context.js';
import { writeBlock, writeLine } from '../io.js';
import { formatJson } from '../render/json.js';
import type { CommandHandler } from './index.js';

/** `list [--json]`: the worktrees this tool created (`WorktreeInfo[]`), oldest first. */
const list: CommandHandler = async ({ options }, ctx) => {
  const { manager } = await openWorkspace(ctx);
  const worktrees = await manager.listWorktrees();
  await manager.flush();
  const { stdout } = ctx.io;
  if (options.json === true) {
    stdout.write(formatJson(worktrees));
  } else if (worktrees.length === 0) {
    writeLine(
      stdout,
      `No worktrees. Create one with '${BIN} create <issue>' or run a batch with '${BIN} run'.`,
    );
  } else {
    // Only a table needs the text-width libraries: `list --json` starts without them.
    const { renderWorktreeTable } = await import('../render/worktrees.js');
    writeBlock(
      stdout,
      renderWorktreeTable(worktrees, {
        repoPath: manager.repoPath,
        width: stdout.isTTY ? stdout.columns : undefined,
      }),
    );
  }
  return 0;
};

export default list;
