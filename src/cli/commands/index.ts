import type { CommandContext } from '../context.js';

/** Every command of the CLI. */
export type CommandName =
  | 'create'
  | 'list'
  | 'status'
  | 'remove'
  | 'restore'
  | 'push'
  | 'pr'
  | 'merge'
  | 'land'
  | 'resolve'
  | 'cleanup'
  | 'archives'
  | 'run'
  | 'report'
  | 'conflicts'
  | 'logs'
  | 'path'
  | 'worker'
  | 'demo';

/** What commander parsed for one invocation. */
export interface CommandInput {
  /** Positional arguments, in declaration order (a variadic one is an array). */
  readonly operands: readonly unknown[];
  /** The command's own options. */
  readonly options: Readonly<Record<string, unknown>>;
}

/** Runs one command; resolves with the process exit code. Errors are reported by the runtime. */
export type CommandHandler = (input: CommandInput, ctx: CommandContext) => Promise<number>;

/** Lazy loaders, so that `--version` and `--help` load none of the library. */
export const COMMANDS: Readonly<Record<CommandName, () => Promise<{ readonly default: CommandHandler }>>> = {
  create: () => import('./create.js'),
  list: () => import('./list.js'),
  status: () => import('./status.js'),
  remove: () => import('./remove.js'),
  restore: () => import('./restore.js'),
  push: () => import('./push.js'),
  pr: () => import('./pr.js'),
  merge: () => import('./merge.js'),
  land: () => import('./land.js'),
  resolve: () => import('./resolve.js'),
  cleanup: () => import('./cleanup.js'),
  archives: () => import('./archives.js'),
  run: () => import('./run.js'),
  report: () => import('./report.js'),
  conflicts: () => import('./conflicts.js'),
  logs: () => import('./logs.js'),
  path: () => import('./path.js'),
  worker: () => import('./worker.js'),
  demo: () => import('./demo.js'),
};
