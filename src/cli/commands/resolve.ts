import { join } from 'node:path';
import {
  DEFAULT_TIMEOUT_MS,
  expandTaskArgv,
  MiyabiError,
  runCommand,
  type WorktreeManager,
  worktreeEnvironment,
} from '../../index.js';
import { formatArgv, lastLines, openLogFile } from '../../internal.js';
import { BIN } from '../bin-name.js';
import { openWorkspace } from '../context.js';
import { writeLine } from '../io.js';
import { parseDurationFlag } from '../parse-duration-flag.js';
import { formatJson } from '../render/json.js';
import type { CommandHandler } from './index.js';

/**
 * `resolve <issue|id> [--into B] [--timeout D] [--json] [-- <command>]`: merges the target into the
 * task's own worktree (never the user's checkout). Conflicts without a command: prints the path and
 * the files, exits 1, leaves the merge in progress there. With a command: runs it there (own process
 * group, timeout, log) with `{conflicts}` and `MIYABI_CONFLICTS`; once it exits 0 with the merge
 * committed and no markers left, merges the branch back into the target.
 */
const resolve: CommandHandler = async ({ operands, options }, ctx) => {
  const command = (operands[1] as string[] | undefined) ?? [];
  const timeoutMs =
    typeof options.timeout === 'string'
      ? parseDurationFlag(options.timeout, '--timeout')
      : DEFAULT_TIMEOUT_MS;
  const { manager } = await openWorkspace(ctx);
  try {
    const worktree = await manager.resolveWorktree(String(operands[0]), { signal: ctx.signal });
    const into = typeof options.into === 'string' ? options.into : undefined;
    const checkout = await manager.mergeTargetIntoWorktree(worktree.id, {
      signal: ctx.signal,
      ...(into !== undefined ? { into } : {}),
    });
    const { stdout } = ctx.io;
    const json = options.json === true;
    if (checkout.status === 'already-merged') {
      if (json) stdout.write(formatJson({ ...checkout, merge: null }));
      else writeLine(stdout, `${checkout.into} already contains ${checkout.branchName}: nothing to resolve.`);
      return 0;
    }
    if (checkout.status === 'conflicted') {
      if (command.length === 0) {
        if (json) stdout.write(formatJson(checkout));
        else {
          writeLine(
            stdout,
            `Merging ${checkout.into} into ${checkout.branchName} conflicts in ${checkout.path}:`,
          );
          for (const path of checkout.conflicts) writeLine(stdout, `  ${path}`);
          writeLine(
            stdout,
            `Resolve them there and commit (git add -A && git commit --no-edit), then: ${BIN} merge ${worktree.id}` +
              ` — or let an agent do it: ${BIN} resolve ${worktree.id} -- <command>`,
          );
        }
        return 1;
      }
      await runResolver(manager, worktree.id, command, checkout, timeoutMs, ctx.signal, (line) =>
        writeLine(ctx.io.stderr, `  | ${line}`),
      );
      await manager.verifyResolution(worktree.id, { conflicts: checkout.conflicts, signal: ctx.signal });
    }
    const merged = await manager.mergeWorktree(worktree.id, {
      signal: ctx.signal,
      ...(into !== undefined ? { into } : {}),
    });
    if (json) stdout.write(formatJson({ ...checkout, merge: merged }));
    else
      writeLine(
        stdout,
        `Resolved and ${merged.status} ${merged.branchName} into ${merged.into} (${merged.commit.slice(0, 12)})`,
      );
    return 0;
  } finally {
    await manager.flush();
  }
};

/** Runs the resolver command in the worktree; a non-zero exit is `COMMAND_FAILED` with its last lines. */
async function runResolver(
  manager: WorktreeManager,
  id: string,
  command: readonly string[],
  checkout: { readonly path: string; readonly conflicts: readonly string[]; readonly conflictsFile: string },
  timeoutMs: number,
  signal: AbortSignal,
  onLine: (line: string) => void,
): Promise<void> {
  const worktree = await manager.getWorktree(id);
  const argv = expandTaskArgv(command, { ...worktree, conflicts: checkout.conflicts });
  const logFile = await openLogFile(join(manager.stateDir, 'logs', 'resolve', `${id}.log`));
  const result = await runCommand(argv, {
    cwd: checkout.path,
    env: { ...worktreeEnvironment(worktree), MIYABI_CONFLICTS: checkout.conflictsFile },
    signal,
    timeoutMs,
    output: { file: logFile },
    onLine,
  });
  if (result.ok) return;
  const how =
    result.exitCode !== null ? `exited with code ${result.exitCode}` : `was killed by ${result.signal}`;
  throw new MiyabiError(
    'COMMAND_FAILED',
    `resolver ${formatArgv(argv)} ${how}: ${lastLines(result.tail, 2)}`,
    {
      hint: `The conflicted merge is left in ${checkout.path}; its output is in ${logFile}.`,
      details: { exitCode: result.exitCode, logFile },
    },
  );
}

export default resolve;
