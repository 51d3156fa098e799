import { isAbsolute, resolve } from 'node:path';
import { isMiyabiError, type Logger, type MiyabiConfig, MiyabiError, WorktreeManager } from '../index.js';
import { BIN } from './bin-name.js';
import { type CliIo, writeLine } from './io.js';
import { showWarnings } from './show-warnings.js';

/** The global flags, resolved. */
export interface GlobalOptions {
  /** Absolute folder the command works from (`--cwd`, else the process's cwd). */
  readonly cwd: string;
  /** `--worktree-dir`, resolved against the process's cwd like any path typed in a shell. */
  readonly worktreeDir?: string | undefined;
  readonly verbose: boolean;
  readonly logJson: boolean;
}

/** What every command gets from the runtime. */
export interface CommandContext {
  readonly globals: GlobalOptions;
  readonly io: CliIo;
  /** Aborted by the first Ctrl-C / SIGTERM: pass it to every library call. */
  readonly signal: AbortSignal;
  /** The library's logger: pino JSON lines on stderr with `--log-json`, silent otherwise. */
  readonly logger: Logger;
  /** Routes the interrupt notice through a live view while one is drawn (`undefined`: back to stderr). */
  readonly routeNotices?: ((sink: ((line: string) => void) | undefined) => void) | undefined;
}

/** The global flags commander collected, checked. */
export function parseGlobals(raw: Readonly<Record<string, unknown>>): GlobalOptions {
  const cwd = typeof raw.cwd === 'string' ? resolve(raw.cwd) : process.cwd();
  const dir = raw.worktreeDir;
  return {
    cwd,
    ...(typeof dir === 'string' ? { worktreeDir: isAbsolute(dir) ? dir : resolve(dir) } : {}),
    verbose: raw.verbose === true,
    logJson: raw.logJson === true,
  };
}

/** A repository opened for a command: the manager and the configuration that applies. */
export interface Workspace {
  readonly manager: WorktreeManager;
  readonly config: MiyabiConfig;
  /** The file the configuration came from, or null for the defaults. */
  readonly configSource: string | null;
}

export interface OpenWorkspaceOptions {
  /** Overrides the configuration's `maxConcurrency`. */
  readonly maxConcurrency?: number | undefined;
  /** Overrides the configuration's `baseBranch`; named `--base` in errors. */
  readonly baseBranch?: string | undefined;
}

/**
 * Finds the repository from `--cwd` and opens a manager on it, which reads the configuration file
 * (flags win over it). Nothing is written to disk. Configuration warnings go to stderr.
 */
export async function openWorkspace(
  ctx: CommandContext,
  options: OpenWorkspaceOptions = {},
): Promise<Workspace> {
  try {
    const manager = await WorktreeManager.open({
      repoPath: ctx.globals.cwd,
      logger: ctx.logger,
      ...(ctx.globals.worktreeDir !== undefined ? { worktreeDir: ctx.globals.worktreeDir } : {}),
      ...(options.baseBranch !== undefined ? { baseBranch: options.baseBranch } : {}),
      ...(options.maxConcurrency !== undefined ? { maxConcurrency: options.maxConcurrency } : {}),
    });
    for (const warning of manager.configWarnings) writeLine(ctx.io.stderr, `${BIN}: warning: ${warning}`);
    showWarnings(manager, ctx.io);
    return { manager, config: manager.config, configSource: manager.configSource };
  } catch (error) {
    if (isMiyabiError(error, 'NOT_A_REPOSITORY')) {
      throw new MiyabiError('NOT_A_REPOSITORY', error.message, {
        hint: 'Run it inside a git repository, or point --cwd at one.',
        cause: error,
      });
    }
    // A base branch that does not exist is the user's input, not a failure of ours.
    if (isMiyabiError(error, 'NOT_FOUND') && options.baseBranch !== undefined) {
      throw new MiyabiError('INVALID_ARGUMENT', `--base: ${error.message}`, {
        hint: error.hintParts,
        cause: error,
      });
    }
    throw error;
  }
}
