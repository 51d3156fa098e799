import { appendFile } from 'node:fs/promises';
import type { ShareEntry } from '../config/config-types.js';
import type { PrepareResult } from '../core/prepare-result.js';
import type { WorktreeInfo } from '../core/types.js';
import { isMiyabiError, MiyabiError } from '../errors.js';
import { lastLines } from '../process/last-lines.js';
import { runCommand } from '../process/run-command.js';
import { ensureExcludedLinks } from '../state/info-exclude.js';
import { openLogFile } from '../state/log-file.js';
import { formatArgv, runSetupCommands, type SetupCommandRunner } from './run-setup.js';
import { shareDependencies } from './share-dependencies.js';
import { copyWorktreeInclude, type SkippedInclude, WORKTREE_INCLUDE_FILE } from './worktree-include.js';

export type { PrepareResult };

/** What a new worktree gets before its task runs. */
export interface PrepareSettings {
  /** Copy the ignored files `.worktreeinclude` lists from the main checkout. @default the config's `include` (true) */
  readonly include?: boolean;
  /** Commands (argv arrays, no shell) run in order in the worktree. @default the config's `setup` ([]) */
  readonly setup?: readonly (readonly string[])[];
  /** Budget for all setup commands together, in ms. @default the config's `setupTimeout` (600_000) */
  readonly setupTimeoutMs?: number;
  /** Ignored folders of the main checkout given to the worktree before setup. @default the config's `share` ([]) */
  readonly share?: readonly ShareEntry[];
}

export interface PrepareOptions {
  readonly repoRoot: string;
  /** The git common dir: a symlinked share is added to its `info/exclude` (a link is no folder to `name/`). */
  readonly commonDir?: string | undefined;
  /** The worktree folder, left out of the `.worktreeinclude` scan. @default the worktree only */
  readonly worktreeDir?: string | undefined;
  readonly config: Required<PrepareSettings>;
  /** Extra environment of the setup commands (the `MIYABI_*` variables). */
  readonly env: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal | undefined;
  /** Setup output is appended here (after a `$ command` line); else only a tail is kept. */
  readonly logFile?: string | undefined;
  readonly onLine?: ((line: string) => void) | undefined;
}

/**
 * Makes a new worktree ready to work in: copies the ignored files `.worktreeinclude` lists (when
 * `include` is on; one that cannot be copied is reported through `onLine` and the log, and skipped),
 * then runs the `setup` commands in it (no shell, one after another, within `setupTimeoutMs`).
 *
 * @throws MiyabiError `COMMAND_FAILED` / `TIMEOUT` naming the setup command, with the last lines
 * of its output in the message and the log file in the hint; `CANCELLED` when `signal` aborts.
 */
export async function prepareWorktree(
  worktree: WorktreeInfo,
  options: PrepareOptions,
): Promise<PrepareResult> {
  const share = options.config.share;
  if (options.commonDir && share.some((entry) => entry.mode === 'symlink')) {
    await ensureExcludedLinks(
      options.commonDir,
      share.filter((entry) => entry.mode === 'symlink').map((entry) => entry.path),
    );
  }
  const shared = share.length > 0 ? await shareDependencies(options.repoRoot, worktree.path, share) : [];
  const include = options.config.include
    ? await copyWorktreeInclude(options.repoRoot, worktree.path, {
        signal: options.signal,
        worktreeDir: options.worktreeDir,
      })
    : { copied: [], skipped: [] };
  const { logFile, onLine } = options;
  if (logFile) await openLogFile(logFile);
  await reportFailedCopies(include.skipped, options);
  for (const entry of shared) {
    const line = `share ${entry.path}: ${entry.method}${entry.note ? ` (${entry.note})` : ''} in ${entry.durationMs} ms`;
    if (logFile) await appendFile(logFile, `# ${line}\n`);
  }
  if (options.config.setup.length === 0) return { ...include, shared, setup: [] };
  const runner: SetupCommandRunner = async (argv, runOptions) => {
    if (logFile) await appendFile(logFile, `$ ${formatArgv(argv)}   # setup\n`);
    return runCommand(argv, {
      cwd: runOptions.cwd,
      env: runOptions.env,
      signal: runOptions.signal,
      ...(runOptions.timeoutMs !== undefined ? { timeoutMs: Math.max(1, runOptions.timeoutMs) } : {}),
      output: logFile ? { file: logFile } : runOptions.output,
      ...(onLine ? { onLine } : {}),
    });
  };
  try {
    const result = await runSetupCommands(options.config.setup, {
      cwd: worktree.path,
      env: options.env,
      timeoutMs: options.config.setupTimeoutMs,
      signal: options.signal,
      runCommand: runner,
    });
    return { ...include, shared, setup: result.steps };
  } catch (error) {
    throw withOutput(error, logFile);
  }
}

/** Says which `.worktreeinclude` matches were not copied, and why (every skip, with its reason). */
async function reportFailedCopies(
  skipped: readonly SkippedInclude[],
  options: Pick<PrepareOptions, 'logFile' | 'onLine'>,
): Promise<void> {
  for (const entry of skipped) {
    const line =
      entry.reason === 'copy-failed'
        ? `${WORKTREE_INCLUDE_FILE}: could not copy ${entry.path}: ${entry.error ?? 'unknown error'}`
        : `${WORKTREE_INCLUDE_FILE}: skipped ${entry.path} (${entry.reason})`;
    if (options.logFile) await appendFile(options.logFile, `${line}\n`);
    options.onLine?.(line);
  }
}

/** A setup failure with the last lines of its output in the message (the pool keeps only that). */
function withOutput(error: unknown, logFile: string | undefined): unknown {
  if (!isMiyabiError(error) || (error.code !== 'COMMAND_FAILED' && error.code !== 'TIMEOUT')) return error;
  const tail = typeof error.details?.tail === 'string' ? lastLines(error.details.tail) : '';
  return new MiyabiError(error.code, tail ? `${error.message}: ${tail}` : error.message, {
    hint: logFile ? `Its output is in ${logFile}. ${error.hint}` : error.hint,
    cause: error,
    ...(error.details ? { details: error.details } : {}),
  });
}
