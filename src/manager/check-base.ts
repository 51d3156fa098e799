import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MiyabiError } from '../errors.js';
import { runGit } from '../git/run-git.js';
import { type CheckOption, resolveCheck } from '../process/check-command.js';
import { runCommand } from '../process/run-command.js';
import { type CheckRun, runCheck } from '../setup/run-check.js';
import { runSetupCommands } from '../setup/run-setup.js';
import type { ManagerContext } from './context.js';
import { assertLocalBranch } from './verify-targets.js';

/** Options of `WorktreeManager.checkBase`. */
export interface CheckBaseOptions {
  readonly check: CheckOption;
  /** The branch whose tip is checked. @default the manager's base branch */
  readonly baseBranch?: string;
  /** The setup run in the temporary worktree first. @default the configuration's `setup` */
  readonly setup?: readonly (readonly string[])[];
  readonly signal?: AbortSignal;
}

/**
 * Runs the check once on the base branch's tip in a temporary worktree (detached, removed
 * afterwards): a batch whose base already fails its check could land nothing.
 *
 * @throws MiyabiError `CHECK_FAILS_ON_BASE` with the check's last lines; `COMMAND_NOT_FOUND` for a
 * check that does not exist.
 */
export async function checkBase(
  ctx: ManagerContext,
  options: CheckBaseOptions,
): Promise<CheckRun & { commit: string }> {
  const check = resolveCheck(options.check);
  if (!check) throw new MiyabiError('INVALID_ARGUMENT', 'checkBase needs a check');
  const base = options.baseBranch ?? ctx.defaultBase.name;
  await assertLocalBranch(ctx.repo.root, base, 'baseBranch', options.signal);
  const { stdout } = await runGit(['rev-parse', '--verify', `refs/heads/${base}^{commit}`], {
    cwd: ctx.repo.root,
  });
  const commit = stdout.trim();
  const folder = await mkdtemp(join(tmpdir(), 'miyabi-check-base-'));
  const path = join(folder, 'base');
  let added = false;
  try {
    await ctx.lock.run(() =>
      runGit(['worktree', 'add', '--detach', '--no-checkout', path, commit], { cwd: ctx.repo.root }),
    );
    added = true;
    await runGit(['reset', '-q', '--hard', commit], { cwd: path, signal: options.signal });
    const setup = options.setup ?? ctx.config.config.setup;
    if (setup.length > 0) {
      await runSetupCommands(setup, {
        cwd: path,
        timeoutMs: ctx.config.config.setupTimeoutMs,
        signal: options.signal,
        runCommand: (argv, run) =>
          runCommand(argv, {
            cwd: run.cwd,
            ...(run.signal ? { signal: run.signal } : {}),
            ...(run.timeoutMs !== undefined ? { timeoutMs: Math.max(1, run.timeoutMs) } : {}),
            output: run.output,
          }),
      });
    }
    const run = await runCheck(check, {
      cwd: path,
      env: {},
      checkLog: join(ctx.repo.stateDir, 'checks', 'base.log'),
      title: `of the base ${base} (${commit.slice(0, 12)})`,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (!run.ok) {
      const why = run.timedOut ? `timed out after ${check.timeoutMs} ms` : `exit ${run.exitCode}`;
      throw new MiyabiError(
        'CHECK_FAILS_ON_BASE',
        `the check fails on the base ${base} itself (${why})${run.lastLines ? `: ${run.lastLines}` : ''}; log: ${run.checkLog}`,
        {
          hint: [
            `Fix ${base} first (its check's output is in ${run.checkLog}), or `,
            { option: 'allowRedBase' },
            ' to run the batch anyway (every candidate still has to pass).',
          ],
          details: { base, commit, checkLog: run.checkLog, exitCode: run.exitCode, timedOut: run.timedOut },
        },
      );
    }
    return { ...run, commit };
  } finally {
    if (added) {
      await ctx.lock
        .run(() => runGit(['worktree', 'remove', '--force', '--force', path], { cwd: ctx.repo.root }))
        .catch(() => {});
    }
    await rm(folder, { recursive: true, force: true });
  }
}
