import { formatDuration, parseDuration } from '../config/duration.js';
import { describe } from '../core/describe.js';
import { MAX_AGE_MS } from '../core/limits.js';
import { MiyabiError } from '../errors.js';
import { runGit } from '../git/run-git.js';
import type { GitWorktreeEntry } from '../git/worktree-list.js';

/** Which worktrees (or archives) a housekeeping call takes; both set: those that match both. */
export interface AgeAndMergeFilter {
  /** Only those whose work is contained in the base (or, for archives, anywhere else). */
  readonly merged: boolean;
  /** Only those created (archived) at least this long ago, in milliseconds. */
  readonly olderThanMs: number | undefined;
  /** The instant ages are measured from (epoch ms). */
  readonly now: number;
}

/**
 * An `olderThan` option in milliseconds: a number of milliseconds, or a duration text (`7d`, `36h`,
 * `90m`; see `parseDuration`) up to {@link MAX_AGE_MS}. `INVALID_ARGUMENT` naming `optionName` else.
 */
export function resolveAge(value: unknown, optionName = 'olderThan'): number {
  if (typeof value === 'string') return parseDuration(value, optionName, { maxMs: MAX_AGE_MS });
  if (typeof value === 'number' && Number.isFinite(value) && value > 0 && value <= MAX_AGE_MS) return value;
  throw new MiyabiError(
    'INVALID_ARGUMENT',
    `${optionName} must be a duration such as '7d' or a positive number of milliseconds, got ${describe(value)}`,
    { hint: "e.g. olderThan: '7d' or olderThan: 3_600_000", details: { option: optionName } },
  );
}

/** The filter the options ask for, or undefined when they ask for none (take everything). */
export function resolveFilter(options: {
  readonly merged?: boolean | undefined;
  readonly olderThan?: number | string | undefined;
}): AgeAndMergeFilter | undefined {
  if (options.merged !== undefined && typeof options.merged !== 'boolean') {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `merged must be true or false, got ${describe(options.merged)}`,
    );
  }
  const olderThanMs = options.olderThan === undefined ? undefined : resolveAge(options.olderThan);
  if (options.merged !== true && olderThanMs === undefined) return undefined;
  return { merged: options.merged === true, olderThanMs, now: Date.now() };
}

/** Why something created (archived) at `isoTime` is too young for the filter; undefined when old enough. */
export function tooYoung(filter: AgeAndMergeFilter, isoTime: string): string | undefined {
  if (filter.olderThanMs === undefined) return undefined;
  const at = Date.parse(isoTime);
  // An unreadable time is never "old enough": housekeeping errs on the side of keeping.
  if (!Number.isFinite(at)) return `its age is unknown (${JSON.stringify(isoTime)})`;
  const age = filter.now - at;
  return age >= filter.olderThanMs
    ? undefined
    : `younger than ${formatAge(filter.olderThanMs)} (${formatAge(Math.max(0, age))} old)`;
}

/** An age for people: whole or tenth days from a day on (`7d`, `1.5d`), else as `formatDuration`. */
export function formatAge(ms: number): string {
  const days = Math.round((ms / 86_400_000) * 10) / 10;
  return days >= 1 ? `${days}d` : formatDuration(ms);
}

/**
 * Why a worktree is not merged into `baseBranch`: its checked-out commit is not contained in the
 * base (a branch with no commits of its own is). Undefined when it is merged. One git process.
 */
export async function notMergedReason(
  repoRoot: string,
  entry: GitWorktreeEntry,
  baseBranch: string,
  signal?: AbortSignal,
): Promise<string | undefined> {
  if (!entry.head || /^0+$/.test(entry.head)) return 'it has no commit checked out';
  const checked = await runGit(['merge-base', '--is-ancestor', entry.head, `refs/heads/${baseBranch}`], {
    cwd: repoRoot,
    signal,
    okExitCodes: [0, 1, 128],
  });
  if (checked.exitCode === 0) return undefined;
  if (checked.exitCode === 128) return `its base branch ${baseBranch} does not exist`;
  const what = entry.branch ? entry.branch.replace(/^refs\/heads\//, '') : 'its detached HEAD';
  return `not merged: ${what} has commits that ${baseBranch} does not contain`;
}
