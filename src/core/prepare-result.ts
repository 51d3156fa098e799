// What preparing a worktree did: data every layer may carry (a task's result, the batch record).

/** A file that matched but was not copied, and why. */
export interface SkippedInclude {
  /** Path relative to the repository root (`/`-separated, as git prints it). */
  readonly path: string;
  /**
   * - `not-ignored`: the pattern matched a file git does not ignore (it would show in `git status`),
   * - `nested-repository`: the pattern matched a nested repository's folder (never copied),
   * - `exists`: the worktree already has that file (never overwritten),
   * - `symlink-outside`: a symlink whose target is absolute or leaves the repository,
   * - `not-a-file`: neither a file nor a symlink any more when copied,
   * - `unsafe-destination`: the worktree has a file, a dangling link or a symlinked folder on the way,
   * - `copy-failed`: any other file system error (see `error`).
   */
  readonly reason:
    | 'not-ignored'
    | 'nested-repository'
    | 'exists'
    | 'symlink-outside'
    | 'not-a-file'
    | 'unsafe-destination'
    | 'copy-failed';
  /** For `copy-failed`: the file system's message (`EIO: i/o error, copyfile ...`). */
  readonly error?: string;
}

/** What happened to one `share` entry of a new worktree. */
export interface SharedPath {
  readonly path: string;
  readonly mode: 'clone' | 'symlink';
  /**
   * `reflink`: copy-on-write clone (no data copied); `copy`: a plain copy (the filesystem cannot
   * clone); `symlink`: a link to the main checkout's folder; `skipped`: see `note`.
   */
  readonly method: 'reflink' | 'copy' | 'symlink' | 'skipped';
  readonly durationMs: number;
  /** Why it was skipped (the source does not exist, the worktree has it already). */
  readonly note?: string;
}

/** What preparing a new worktree did. */
export interface PrepareResult {
  /** Files copied from the main checkout because `.worktreeinclude` lists them. */
  readonly copied: readonly string[];
  readonly skipped: readonly SkippedInclude[];
  /** What each `share` entry did (clone by reflink or copy, symlink, skipped) and how long it took. */
  readonly shared: readonly SharedPath[];
  /** Setup commands that ran, in order. */
  readonly setup: readonly { readonly argv: readonly string[]; readonly durationMs: number }[];
}
