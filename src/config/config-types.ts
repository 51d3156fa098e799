import type { VariantsOption } from '../core/variant.js';

/** The dedicated configuration file, looked up at the repository root. */
export const CONFIG_FILE_NAME = 'miyabi-worktree.config.json';
/** The key holding the configuration inside the root `package.json`. */
export const PACKAGE_JSON_KEY = 'miyabi-worktree';
/** Branch name of a task's worktree when nothing else is configured. */
export const DEFAULT_BRANCH_PATTERN = 'feature/issue-{issue}';
/** Time budget of all `setup` commands of one worktree together: 10 minutes. */
export const DEFAULT_SETUP_TIMEOUT_MS = 600_000;

/**
 * The repository's configuration (`miyabi-worktree.config.json`, or the `"miyabi-worktree"` key of
 * `package.json`) after validation and defaults. Keys the manager and the pool default themselves
 * (`worktreeDir`, `maxConcurrency`, `timeoutMs`, `baseBranch`) stay `undefined` when the file does
 * not set them, so each default has one source of truth.
 */
export interface MiyabiConfig {
  /** Folder for worktrees, relative to the repository root unless absolute; unset: the manager's default, `../<repo folder>.worktrees`. */
  readonly worktreeDir?: string | undefined;
  /** Tasks (whole lifecycles) at once, 1..`MAX_CONCURRENCY` (64). */
  readonly maxConcurrency?: number | undefined;
  /** Per-task timeout in milliseconds (the file's `timeout`, e.g. `"30m"`). */
  readonly timeoutMs?: number | undefined;
  /** Branch new worktrees start from; else the manager's detection. */
  readonly baseBranch?: string | undefined;
  /** Branch name of a task's worktree; `{issue}` is replaced by the issue number. @default 'feature/issue-{issue}' */
  readonly branchPattern: string;
  /** Commands (argv arrays, no shell) run in order in each new worktree. @default [] */
  readonly setup: readonly (readonly string[])[];
  /** Budget for all `setup` commands of one worktree, in milliseconds (the file's `setupTimeout`). @default 600_000 */
  readonly setupTimeoutMs: number;
  /** Copy the files `.worktreeinclude` lists (and git ignores) into new worktrees. @default true */
  readonly include: boolean;

  /** Reuse worktrees between tasks (pool option `reuse`). @default false */
  readonly reuse: boolean;
  /** Ignored paths a reused worktree keeps (dependencies stay warm). @default ['node_modules', '.venv', 'target'] */
  readonly keepPaths: readonly string[];
  /** Idle worktrees kept at most; else the pool's `maxConcurrency`. */
  readonly maxIdle?: number | undefined;
  /** A block of ports per worktree (`MIYABI_PORT`, `MIYABI_PORTS`, `{port}`); none when absent. */
  readonly ports?: PortsConfig | undefined;
  /** Folders of the main checkout given to each new worktree before `setup`. @default [] */
  readonly share: readonly ShareEntry[];
  /** Batch log folders kept under the log folder; older ones are deleted when a batch starts. @default 50 */
  readonly logRetention?: number | undefined;
  /** Memory limit per task in bytes (the file's `maxMemory`, e.g. `"4G"`); none when absent. */
  readonly maxMemory?: number | undefined;
  /** No new task starts while less memory than this is available, in bytes (`minFreeMemory`, e.g. `"2G"`). */
  readonly minFreeMemory?: number | undefined;
  /** The landing check (argv, no shell): every candidate must pass it before the target moves to it. Unset: no check. */
  readonly check?:
    | { readonly command: readonly string[]; readonly timeoutMs?: number; readonly batch?: number }
    | readonly string[]
    | undefined;
  /** Attempts per issue (`run --variants`), or one `{ name, command, env }` per attempt. Unset: 1. */
  readonly variants?: VariantsOption | undefined;
  /** Ranks the variants that passed the check (argv, no shell): its last line a number 0–100. Unset: no score. */
  readonly score?:
    | { readonly command: readonly string[]; readonly timeoutMs?: number }
    | readonly string[]
    | undefined;
  /** Files whose change makes the setup run again on a landing candidate. @default the usual lockfiles (`DEFAULT_SETUP_INPUTS`) */
  readonly setupInputs?: readonly string[] | undefined;
  /** Regular expressions that also mean a usage limit in a failed command's last 20 lines (a named group `reset` may capture the reset time). @default [] */
  readonly pauseOn?: readonly string[] | undefined;
  /** The most a batch waits out usage limits in all, in milliseconds (the file's `pauseMax`, e.g. `"6h"`); else the pool's default. */
  readonly pauseMaxMs?: number | undefined;
  /** The command (argv) a task paused at a usage limit runs when it resumes; else the task's own command. */
  readonly resumeCommand?: readonly string[] | undefined;
}

/** Config `ports`: each live worktree holds `count` ports from `base` up that no other one holds. */
export interface PortsConfig {
  /** First port considered (1024–65535). @default 20000 */
  readonly base: number;
  /** Ports per worktree. @default 10 */
  readonly count: number;
}

/** Config `share` entry: how one ignored folder of the main checkout reaches new worktrees. */
export interface ShareEntry {
  /** Relative to the repository root, ignored by git, e.g. `node_modules`. */
  readonly path: string;
  /**
   * `clone`: copy-on-write copy where the filesystem supports it, else a plain copy; `symlink`: a
   * link to the main checkout's folder (refused together with `setup`, which would write through it).
   */
  readonly mode: ShareMode;
}

export type ShareMode = 'clone' | 'symlink';

/** Ports per worktree and first port when `ports` leaves them out. */
export const DEFAULT_PORTS: PortsConfig = Object.freeze({ base: 20000, count: 10 });
/** What a reused worktree keeps when nothing says otherwise. */
export const DEFAULT_KEEP_PATHS: readonly string[] = Object.freeze(['node_modules', '.venv', 'target']);

/** What reading a repository's configuration found. */
export interface LoadedConfig {
  readonly config: MiyabiConfig;
  /** Absolute path of the file the configuration came from (`package.json` for the key), or `null`. */
  readonly source: string | null;
  /** Things a person should know, e.g. a `package.json` key shadowed by the dedicated file. */
  readonly warnings: readonly string[];
}

/** The configuration a repository without a configuration file has. */
export const DEFAULT_CONFIG: MiyabiConfig = Object.freeze({
  branchPattern: DEFAULT_BRANCH_PATTERN,
  setup: Object.freeze([]),
  setupTimeoutMs: DEFAULT_SETUP_TIMEOUT_MS,
  include: true,
  reuse: false,
  keepPaths: DEFAULT_KEEP_PATHS,
  share: Object.freeze([]),
});

/** The branch name `pattern` gives for `issueNumber` (`feature/issue-{issue}` → `feature/issue-7`; variant 2: `feature/issue-7-v2`). */
export function expandBranchPattern(pattern: string, issueNumber: number, variant?: number): string {
  const name = pattern.replaceAll('{issue}', String(issueNumber));
  // A variant's branch: `{variant}` is its number; a pattern without it gets `-v<k>` appended.
  if (variant !== undefined) {
    return name.includes('{variant}') ? name.replaceAll('{variant}', String(variant)) : `${name}-v${variant}`;
  }
  // An issue's only attempt: `{variant}` and a separator before it drop out.
  return name.replace(/[-_./]?\{variant\}/g, '');
}
