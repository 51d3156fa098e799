import { isMiyabiError, MiyabiError } from '../../index.js';
import { formatArgv } from '../../internal.js';
import { BIN } from '../bin-name.js';
import { openWorkspace } from '../context.js';
import { writeLine } from '../io.js';
import { parseIssueNumber } from '../parse-issues.js';
import { formatJson } from '../render/json.js';
import type { CommandHandler } from './index.js';

/**
 * `create <issue> [--base B] [--branch NAME] [--no-setup] [--json]`: a worktree for the issue,
 * with the `.worktreeinclude` files copied and the `setup` commands run (their output on stderr).
 * Prints the `WorktreeInfo` with `--json`. A failing setup leaves the worktree (marked `failed`)
 * for inspection and exits 1.
 */
const create: CommandHandler = async ({ operands, options }, ctx) => {
  const issue = parseIssueNumber(String(operands[0]));
  const base = typeof options.base === 'string' ? options.base : undefined;
  const { manager } = await openWorkspace(ctx, { baseBranch: base });
  try {
    const worktree = await manager.createWorktree(issue, {
      signal: ctx.signal,
      ...(typeof options.branch === 'string' ? { branchName: options.branch } : {}),
    });
    const { stdout, stderr } = ctx.io;
    const human = options.json === true ? stderr : stdout;
    writeLine(
      human,
      `Created ${worktree.id} for issue #${issue} on ${worktree.reusedBranch ? 'existing ' : ''}branch ${worktree.branchName} (from ${worktree.baseBranch})`,
    );
    if (options.setup !== false) {
      try {
        const prepared = await manager.prepareWorktree(worktree.id, {
          signal: ctx.signal,
          onLine: (line) => writeLine(stderr, `  | ${line}`),
        });
        if (prepared.copied.length > 0)
          writeLine(human, `  copied from .worktreeinclude: ${prepared.copied.join(', ')}`);
        for (const step of prepared.setup) writeLine(human, `  setup: ${formatArgv(step.argv)} ✔`);
      } catch (error) {
        await manager.updateStatus(worktree.id, 'failed').catch(() => {});
        if (!isMiyabiError(error)) throw error;
        throw new MiyabiError(
          error.code,
          `worktree ${worktree.id} was created but its setup failed: ${error.message}`,
          {
            hint: `It is kept at ${worktree.path} for you to look at; remove it with '${BIN} remove ${worktree.id}'.`,
            cause: error,
          },
        );
      }
    }
    if (options.json === true) stdout.write(formatJson(worktree));
    else writeLine(stdout, worktree.path);
    return 0;
  } finally {
    await manager.flush();
  }
};

export default create;
