import { type MergeStrategy, MiyabiError } from '../../index.js';
import { openWorkspace } from '../context.js';
import { writeLine } from '../io.js';
import { formatJson } from '../render/json.js';
import type { CommandHandler } from './index.js';

/**
 * `merge <issue|id> [--into B] [--squash | --ff-only] [-m MSG] [--json]`: merges the worktree's
 * committed work without switching any checkout's branch (`MergeResult`). A conflict changes
 * nothing and exits 1 naming the paths.
 */
const merge: CommandHandler = async ({ operands, options }, ctx) => {
  if (options.squash === true && options.ffOnly === true) {
    throw new MiyabiError('INVALID_ARGUMENT', '--squash and --ff-only cannot be combined', {
      hint: 'Pick one strategy (the default is a merge commit, or a fast-forward when possible).',
    });
  }
  const strategy: MergeStrategy =
    options.squash === true ? 'squash' : options.ffOnly === true ? 'ff-only' : 'merge';
  const { manager } = await openWorkspace(ctx);
  try {
    const worktree = await manager.resolveWorktree(String(operands[0]), { signal: ctx.signal });
    const result = await manager.mergeWorktree(worktree.id, {
      strategy,
      signal: ctx.signal,
      ...(typeof options.into === 'string' ? { into: options.into } : {}),
      ...(typeof options.message === 'string' ? { message: options.message } : {}),
    });
    const { stdout } = ctx.io;
    // The escape hatch: a configured check gates run --merge and land, never this.
    if (manager.config.check !== undefined) {
      writeLine(
        ctx.io.stderr,
        `Merged without the configured check (land ${String(operands[0])} runs it first)`,
      );
    }
    if (options.json === true) {
      stdout.write(formatJson(result));
    } else if (result.status === 'up-to-date') {
      writeLine(stdout, `Nothing to merge: ${result.into} already contains ${result.branchName}`);
    } else {
      writeLine(
        stdout,
        `${result.status === 'merged' ? 'Merged' : 'Fast-forwarded'} ${result.branchName} into ${result.into}: ` +
          `${result.previousCommit.slice(0, 12)} → ${result.commit.slice(0, 12)} (${result.changedFiles} file(s) changed)`,
      );
      if (result.updatedCheckout) writeLine(stdout, `  checkout ${result.updatedCheckout} brought along`);
    }
    return 0;
  } finally {
    await manager.flush();
  }
};

export default merge;
