import { type MergeStrategy, MiyabiError } from '../../index.js';
import { splitCommandLine } from '../../internal.js';
import { openWorkspace } from '../context.js';
import { writeLine } from '../io.js';
import { parseDurationFlag } from '../parse-duration-flag.js';
import { formatJson } from '../render/json.js';
import { assertCommandExists } from '../run/find-command.js';
import type { CommandHandler } from './index.js';

/**
 * `land <issue|id> [--check CMD] [--check-timeout D] [--into B] [--squash | --ff-only] [--json]`:
 * lands one kept worktree only if the check passes on what the target becomes (`LandResult`);
 * a failing check changes no branch and exits 1 naming the check log.
 */
const land: CommandHandler = async ({ operands, options }, ctx) => {
  if (options.squash === true && options.ffOnly === true) {
    throw new MiyabiError('INVALID_ARGUMENT', '--squash and --ff-only cannot be combined', {
      hint: 'Pick one strategy (the default is a merge commit, or a fast-forward when possible).',
    });
  }
  const strategy: MergeStrategy =
    options.squash === true ? 'squash' : options.ffOnly === true ? 'ff-only' : 'merge';
  const argv = typeof options.check === 'string' ? splitCommandLine(options.check, '--check') : undefined;
  const timeoutMs =
    typeof options.checkTimeout === 'string'
      ? parseDurationFlag(options.checkTimeout, '--check-timeout')
      : undefined;
  const { manager } = await openWorkspace(ctx);
  try {
    const configured = manager.config.check;
    const fromConfig =
      configured === undefined ? undefined : 'command' in configured ? configured : { command: configured };
    const command = argv ?? fromConfig?.command;
    if (!command) {
      throw new MiyabiError(
        'INVALID_ARGUMENT',
        'land needs a check: --check "<command>", or check in the configuration file',
        {
          hint: `e.g. land ${String(operands[0])} --check "npm test"; 'merge' lands without a check.`,
        },
      );
    }
    await assertCommandExists(command[0] as string);
    const worktree = await manager.resolveWorktree(String(operands[0]), { signal: ctx.signal });
    const timeout = timeoutMs ?? (fromConfig && 'timeoutMs' in fromConfig ? fromConfig.timeoutMs : undefined);
    const result = await manager.landWorktree(worktree.id, {
      strategy,
      signal: ctx.signal,
      check: { command, ...(timeout !== undefined ? { timeoutMs: timeout } : {}) },
      ...(typeof options.into === 'string' ? { into: options.into } : {}),
      ...(typeof options.message === 'string' ? { message: options.message } : {}),
    });
    const { stdout } = ctx.io;
    const { merge, landing } = result;
    if (options.json === true) {
      stdout.write(formatJson(result));
    } else if (merge.status === 'up-to-date') {
      writeLine(stdout, `Nothing to land: ${merge.into} already contains ${merge.branchName}`);
    } else {
      writeLine(
        stdout,
        `Landed ${merge.branchName} into ${merge.into} after its check passed: ` +
          `${merge.previousCommit.slice(0, 12)} → ${merge.commit.slice(0, 12)} (${landing.checks} check run(s), ${merge.changedFiles} file(s) changed)`,
      );
      if (merge.updatedCheckout) writeLine(stdout, `  checkout ${merge.updatedCheckout} brought along`);
    }
    return 0;
  } finally {
    await manager.flush();
  }
};

export default land;
