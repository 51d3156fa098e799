/** Every reason a miyabi-worktree operation can fail, as a literal union callers can switch on. */
export type MiyabiErrorCode =
  | 'NOT_A_REPOSITORY'
  | 'BARE_REPOSITORY'
  | 'NO_COMMITS'
  | 'INVALID_ARGUMENT'
  | 'INVALID_CONFIG'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'BRANCH_IN_USE'
  | 'ISSUE_BUSY'
  | 'GIT_FAILED'
  | 'LOCKED'
  | 'TIMEOUT'
  | 'CANCELLED'
  | 'NO_REMOTE'
  | 'PUSH_REJECTED'
  | 'MERGE_CONFLICT'
  | 'CHECKOUT_DIRTY'
  | 'CHECKOUT_BUSY'
  | 'WORKTREE_DIRTY'
  | 'COMMAND_NOT_FOUND'
  | 'COMMAND_FAILED'
  | 'USAGE_LIMIT'
  | 'NOTHING_COMMITTED'
  | 'UNMERGED_WORK'
  | 'PORTS_EXHAUSTED'
  | 'CONFLICT_UNRESOLVED'
  | 'FOREIGN_WORKTREE'
  | 'GITHUB_AUTH'
  | 'GITHUB_NOT_FOUND'
  | 'GITHUB_RATE_LIMITED'
  | 'GITHUB_API'
  | 'STATE_UNAVAILABLE'
  | 'QUEUE_UNAVAILABLE'
  | 'QUEUE_PAYLOAD'
  | 'QUEUE_UNTRUSTED'
  | 'BATCH_ORPHANED'
  | 'REMOTE_MISMATCH'
  | 'COMMAND_NOT_ALLOWED'
  | 'MEMORY_LIMIT'
  | 'CHECK_FAILED'
  | 'CHECK_FAILS_ON_BASE';

/** The failed git invocation behind a `GIT_FAILED` (or git-derived) error. */
export interface GitFailure {
  /** argv passed to git, without the leading `git`. */
  readonly args: readonly string[];
  readonly cwd: string;
  /** `undefined` when git was killed or never started. */
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  readonly stderr: string;
  readonly stdout: string;
  readonly durationMs: number;
  readonly timedOut: boolean;
  readonly aborted: boolean;
}

/** One path git could not merge cleanly. */
export interface MergeConflict {
  readonly path: string;
  /** git's conflict kind when it says one, e.g. `content`, `modify/delete`. */
  readonly type?: string;
  /** git's own message for this path, when it gave one. */
  readonly message?: string;
}

/**
 * A step a hint points to, named by the library call that takes it: the library's hint says
 * `listArchives()`, the CLI's says `miyabi-worktree archives`. Plain data.
 */
export type HintStep =
  | { readonly call: 'listWorktrees' | 'listArchives' | 'cleanupAll' }
  | { readonly call: 'restoreWorktree'; readonly id: string }
  | { readonly call: 'landWorktree'; readonly id: string }
  /** `run --resume` in the CLI; without `id`, the newest unfinished batch. */
  | { readonly call: 'resumeBatch'; readonly id?: string }
  | { readonly call: 'dropArchive'; readonly id?: string }
  | { readonly call: 'pruneArchives'; readonly merged?: true; readonly olderThan?: string }
  /** An option of the call that failed (the CLI's `--force`). */
  | { readonly option: 'force' | 'allowRedBase' };

/** A hint as text and steps: each interface names the steps in its own words. */
export type HintPart = string | HintStep;

export interface MiyabiErrorOptions {
  /** What a person can do about it: text, or text and {@link HintStep}s. @default the code's own hint */
  readonly hint?: string | readonly HintPart[];
  readonly cause?: unknown;
  readonly git?: GitFailure;
  readonly conflicts?: readonly MergeConflict[];
  /** Extra machine-readable facts (ids, paths) for callers and `--json` output. */
  readonly details?: Readonly<Record<string, unknown>>;
}

/**
 * The single error type thrown by miyabi-worktree.
 *
 * `code` says why (switch on it), `hint` says what a person can do about it, `cause` keeps the
 * underlying error, and `git` keeps the command, exit code and stderr of a failed git call.
 */
export class MiyabiError extends Error {
  override readonly name = 'MiyabiError';
  readonly code: MiyabiErrorCode;
  /** What a person can do about it, in the library's words (`listWorktrees()`). */
  readonly hint: string;
  /** The hint with its steps kept apart: the CLI names its own commands for them. */
  readonly hintParts: readonly HintPart[];
  readonly git: GitFailure | undefined;
  readonly conflicts: readonly MergeConflict[] | undefined;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: MiyabiErrorCode, message: string, options: MiyabiErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    const hint = options.hint ?? defaultHint(code);
    this.hintParts = typeof hint === 'string' ? [hint] : hint;
    this.hint = renderHint(this.hintParts, libraryStep);
    this.git = options.git;
    this.conflicts = options.conflicts;
    this.details = options.details;
  }

  /** Plain data for logs and `--json` output (Error fields are not enumerable). */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      hint: this.hint,
      ...(this.conflicts ? { conflicts: this.conflicts } : {}),
      ...(this.details ? { details: this.details } : {}),
      ...(this.git
        ? { git: { args: this.git.args, exitCode: this.git.exitCode, stderr: this.git.stderr } }
        : {}),
    };
  }
}

/** True when `error` is a MiyabiError, optionally with the given code. */
export function isMiyabiError(error: unknown, code?: MiyabiErrorCode): error is MiyabiError {
  return error instanceof MiyabiError && (code === undefined || error.code === code);
}

/** Wraps anything thrown (including non-Error values) so that callers always get a message. */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  if (typeof value === 'string') return new Error(value);
  try {
    return new Error(`Non-error thrown: ${JSON.stringify(value)}`);
  } catch {
    return new Error(`Non-error thrown: ${String(value)}`);
  }
}

/** A hint's text, each step named by `name`. */
function renderHint(parts: readonly HintPart[], name: (step: HintStep) => string): string {
  return parts.map((part) => (typeof part === 'string' ? part : name(part))).join('');
}

/** A step as a library call (or option) a caller of the library makes. */
function libraryStep(step: HintStep): string {
  if ('option' in step) return step.option === 'force' ? 'pass force' : `pass ${step.option}: true`;
  switch (step.call) {
    case 'restoreWorktree':
      return `restoreWorktree('${step.id}')`;
    case 'landWorktree':
      return `landWorktree('${step.id}')`;
    case 'resumeBatch':
      return step.id === undefined ? 'resumeBatch(batchId)' : `resumeBatch('${step.id}')`;
    case 'dropArchive':
      return step.id === undefined ? 'dropArchive(id)' : `dropArchive('${step.id}')`;
    case 'pruneArchives':
      return step.olderThan === undefined
        ? 'pruneArchives({ merged: true })'
        : `pruneArchives({ olderThan: '${step.olderThan}' })`;
    default:
      return `${step.call}()`;
  }
}

function defaultHint(code: MiyabiErrorCode): string | readonly HintPart[] {
  switch (code) {
    case 'NOT_A_REPOSITORY':
      return 'Run it inside a git repository, or pass cwd/repoPath pointing at one.';
    case 'BARE_REPOSITORY':
      return 'Worktrees need a repository with a working tree; clone it without --bare.';
    case 'NO_COMMITS':
      return 'Make a first commit (git commit --allow-empty -m init), then try again.';
    case 'INVALID_ARGUMENT':
      return 'Check the value named in the message.';
    case 'INVALID_CONFIG':
      return 'Fix the configuration key named in the message.';
    case 'NOT_FOUND':
      return ['List what exists with ', { call: 'listWorktrees' }, '.'];
    case 'ALREADY_EXISTS':
      return 'Choose another name, or remove the existing one first.';
    case 'BRANCH_IN_USE':
      return 'The branch is checked out in another worktree; remove that worktree or pick another branch.';
    case 'ISSUE_BUSY':
      return "The issue's worktree is kept from an earlier run: merge it (mergeWorktree(id)), remove it (removeWorktree(id)), or pass existingBranches: 'continue' to run again in it.";
    case 'GIT_FAILED':
      return "The message quotes git's first error line (its whole output is in the error's `git.stderr`, or shown with --verbose); the repository was left as it was.";
    case 'LOCKED':
      return ['Another process holds the lock; wait for it, or run ', { call: 'cleanupAll' }, ' if it died.'];
    case 'TIMEOUT':
      return 'Raise the timeout, or make the task faster.';
    case 'CANCELLED':
      return 'The operation was aborted before it finished; nothing was left half-done.';
    case 'NO_REMOTE':
      return 'Add the remote first: git remote add origin <url>.';
    case 'PUSH_REJECTED':
      return 'Fetch and integrate the remote changes, then push again.';
    case 'MERGE_CONFLICT':
      return 'Resolve the conflicts in the worktree (merge or rebase the target into it), then merge again.';
    case 'CHECKOUT_DIRTY':
      return 'Commit or stash the local changes in the target checkout, then merge again.';
    case 'CHECKOUT_BUSY':
      return 'Finish or abort the merge/rebase in the target checkout, then try again.';
    case 'WORKTREE_DIRTY':
      return ['Commit the changes, or ', { option: 'force' }, ' to discard them.'];
    case 'COMMAND_NOT_FOUND':
      return 'Check the command name and your PATH.';
    case 'COMMAND_FAILED':
      return "See the command's output.";
    case 'USAGE_LIMIT':
      return [
        "The provider's usage limit resets after pauseMax: its worktree was kept; ",
        { call: 'resumeBatch' },
        ' continues it after the reset.',
      ];
    case 'NOTHING_COMMITTED':
      return 'The task left changes but no commit: commit them (git add -A && git commit) so they can be merged.';
    case 'CONFLICT_UNRESOLVED':
      return 'Finish the resolution in the worktree (no conflict markers, merge committed), then try again.';
    case 'UNMERGED_WORK':
      return ['Merge or push that work first, or ', { option: 'force' }, ' to delete it anyway.'];
    case 'FOREIGN_WORKTREE':
      return 'The registry names a worktree this tool did not create; it was left alone. Remove it with git worktree remove if it is yours to delete.';
    case 'PORTS_EXHAUSTED':
      return 'Every port block is held by a worktree or in use: remove worktrees (cleanup), or change ports in the configuration.';
    case 'GITHUB_AUTH':
      return 'Run `gh auth login`, or set GITHUB_TOKEN (or GH_TOKEN) to a token that can read the repository.';
    case 'GITHUB_NOT_FOUND':
      return 'Check the owner/repo name and the number, and that your token can see the repository.';
    case 'GITHUB_RATE_LIMITED':
      return "GitHub's rate limit is used up; wait until it resets, or use a token with a higher limit.";
    case 'GITHUB_API':
      return "See GitHub's message; nothing was changed on our side.";
    case 'STATE_UNAVAILABLE':
      return 'Make <git common dir>/miyabi a folder this user can write, then try again.';
    case 'QUEUE_UNAVAILABLE':
      return 'Start Redis (redis-server --port 6379 --bind 127.0.0.1) or fix the --queue URL, then try again.';
    case 'QUEUE_PAYLOAD':
      return 'The submitter and the worker run different miyabi-worktree versions: upgrade the older one.';
    case 'QUEUE_UNTRUSTED':
      return "Sign the batch with the workers' secret (MIYABI_QUEUE_SECRET or run --secret-file; queue.secret in the library), and check who can write to this Redis.";
    case 'BATCH_ORPHANED':
      return [
        "The batch's submitter stopped (its heartbeat in Redis ended): the job's work was pushed to its task branch; ",
        { call: 'resumeBatch' },
        ' at the submitter continues it.',
      ];
    case 'REMOTE_MISMATCH':
      return "Give the worker a --repo folder cloned from the batch's remote (or a new folder: it is cloned on first use).";
    case 'COMMAND_NOT_ALLOWED':
      return "Add the program to the worker's --allow list, or submit a command it allows.";
    case 'MEMORY_LIMIT':
      return 'Raise maxMemory (run --max-memory), or make the task use less: the message names the process that held the most.';
    case 'CHECK_FAILED':
      return 'See the check log named in the message; fix the branch in its kept worktree, then land it again (landWorktree(id)).';
    case 'CHECK_FAILS_ON_BASE':
      return 'The check fails on the base itself: fix the base first, or pass allowRedBase: true (every candidate still has to pass).';
  }
}
