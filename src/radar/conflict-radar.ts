import { readWorktreeState } from '../git/work-snapshot.js';
import type { Overlap, TaskRef } from '../telemetry/events.js';
import { readBranchTips } from './branch-tips.js';
import { changedFiles, nestedPaths, sharedPaths } from './changed-files.js';
import { checkMerges } from './merge-check.js';
import { SNAPSHOT_GIT_CALLS, uncommittedCommit, uncommittedFingerprint } from './uncommitted-commit.js';

/** A live task branch the radar watches. */
export interface RadarTask {
  readonly ref: TaskRef;
  /** The commit the task started from: "changed" means changed since it. */
  readonly baseCommit: string;
  /** Smaller started first: it becomes `a` of a pair. */
  readonly order: number;
  /** The task's worktree folder: with `statusIntervalMs`, its uncommitted changes count as its work too. */
  readonly path?: string;
}

/** Options of a {@link ConflictRadar}. */
export interface ConflictRadarOptions {
  /**
   * Runs `git status` in each task's worktree (`path`) at most this often, and compares a commit
   * standing for its uncommitted changes instead of its branch tip. `0`: at every scan. Absent:
   * only commits are compared. @default undefined
   */
  readonly statusIntervalMs?: number;
  /** The clock (ms) the status interval is measured with. @default Date.now */
  readonly now?: () => number;
}

/** One look of the radar at its tasks. */
export interface RadarScan {
  /** Every pair that overlaps now (`files` or `conflict`), `a` before `b`, ordered by `a` then `b`. */
  readonly overlaps: readonly Overlap[];
  /** Pairs whose result changed since the previous scan (one that went away comes with empty `files`). */
  readonly changed: readonly Overlap[];
  /**
   * Git processes this scan started: 1 when nothing moved, plus one `git status` per worktree
   * whose interval has passed, plus a few to build a commit for each whose uncommitted state changed.
   */
  readonly gitCalls: number;
}

interface TaskState {
  readonly task: RadarTask;
  readonly tip: string;
  readonly files: readonly string[];
}

/** What the last `git status` of a task's worktree found. */
interface WorktreeLook {
  readonly at: number;
  /** The worktree's HEAD then: the stand-in applies only while the branch is still there. */
  readonly head: string | undefined;
  readonly fingerprint: string;
  /** The commit standing for its uncommitted state; undefined when nothing was uncommitted. */
  readonly commit: string | undefined;
}

interface PairState {
  readonly tips: string;
  readonly overlap: Overlap;
}

/** Changed-file lists kept per `base...tip`, at most this many (oldest dropped first). */
const FILES_CACHE_LIMIT = 1024;
/** `git diff` processes at once while recomputing moved branches. */
const DIFF_CONCURRENCY = 4;

/**
 * Watches task branches for overlapping work: which files two branches both changed since their
 * base, and whether merging their tips would conflict (`git merge-tree`, no working tree).
 *
 * Each {@link scan} reads every tip with one `git for-each-ref`. Only branches whose tip moved are
 * diffed again (cached per `base...tip`), only pairs with a moved side are compared again, and only
 * pairs sharing a path (or a folder of one) are merged, all of them in one `git merge-tree --stdin`.
 * When nothing moved, a scan costs that one `for-each-ref`, whatever the number of tasks.
 * With `statusIntervalMs`, uncommitted work counts too: one `git status` per worktree at most that
 * often, and where its state changed, a commit built through a temporary index stands in for the
 * branch tip (in the diff and in `merge-tree`).
 */
export class ConflictRadar {
  readonly #cwd: string;
  readonly #statusIntervalMs: number | undefined;
  readonly #now: () => number;
  readonly #files = new Map<string, readonly string[]>();
  #tasks = new Map<string, TaskState>();
  #pairs = new Map<string, PairState>();
  #looks = new Map<string, WorktreeLook>();
  #overlaps: readonly Overlap[] = [];

  /** `cwd`: any folder of the repository. */
  constructor(cwd: string, options: ConflictRadarOptions = {}) {
    this.#cwd = cwd;
    this.#statusIntervalMs = options.statusIntervalMs;
    this.#now = options.now ?? Date.now;
  }

  /** Looks at `tasks` now. Tasks absent from the list (or whose branch is gone) are forgotten. */
  async scan(tasks: readonly RadarTask[], signal?: AbortSignal): Promise<RadarScan> {
    const tips = await readBranchTips(this.#cwd, [...new Set(tasks.map((task) => task.ref.branch))], signal);
    let gitCalls = 1 + (await this.#lookAtWorktrees(tasks, signal));
    const next = new Map<string, TaskState>();
    const moved = new Set<string>();
    const toDiff: { task: RadarTask; tip: string; key: string }[] = [];
    for (const task of tasks) {
      const branchTip = tips.get(task.ref.branch);
      if (branchTip === undefined) continue;
      const look = this.#looks.get(task.ref.worktreeId);
      // Uncommitted work on top of the branch as it still is; a newer commit wins until the next look.
      const tip = look?.commit !== undefined && look.head === branchTip ? look.commit : branchTip;
      const id = task.ref.worktreeId;
      const previous = this.#tasks.get(id);
      if (previous && previous.tip === tip && previous.task.baseCommit === task.baseCommit) {
        next.set(id, { ...previous, task });
        continue;
      }
      moved.add(id);
      const key = `${task.baseCommit}...${tip}`;
      const cached = tip === task.baseCommit ? [] : this.#files.get(key);
      if (cached) next.set(id, { task, tip, files: cached });
      else toDiff.push({ task, tip, key });
    }
    gitCalls += toDiff.length;
    for (let at = 0; at < toDiff.length; at += DIFF_CONCURRENCY) {
      const chunk = toDiff.slice(at, at + DIFF_CONCURRENCY);
      const lists = await Promise.all(
        chunk.map(({ task, tip }) => changedFiles(this.#cwd, task.baseCommit, tip, signal)),
      );
      chunk.forEach(({ task, tip, key }, index) => {
        const files = lists[index] ?? [];
        this.#remember(key, files);
        next.set(task.ref.worktreeId, { task, tip, files });
      });
    }
    const gone = [...this.#tasks.keys()].some((id) => !next.has(id));
    this.#tasks = next;
    if (moved.size === 0 && !gone) return { overlaps: this.#overlaps, changed: [], gitCalls };

    const ordered = [...next.values()]
      .filter((state) => state.files.length > 0)
      .sort((x, y) => x.task.order - y.task.order || compare(x.task.ref.worktreeId, y.task.ref.worktreeId));
    const pairs = new Map<string, PairState>();
    const toMerge: { key: string; a: TaskState; b: TaskState; files: string[] }[] = [];
    for (const [i, a] of ordered.entries()) {
      for (const b of ordered.slice(i + 1)) {
        // Sibling variants of one issue compete by design: never a pair (nor a stop) of the radar.
        if (a.task.ref.issue === b.task.ref.issue) continue;
        const key = `${a.task.ref.worktreeId} ${b.task.ref.worktreeId}`;
        const tipsKey = `${a.tip} ${b.tip}`;
        const known = this.#pairs.get(key);
        if (known && known.tips === tipsKey) {
          pairs.set(key, known);
          continue;
        }
        const files = sharedPaths(a.files, b.files);
        if (files.length > 0 || nestedPaths(a.files, b.files)) toMerge.push({ key, a, b, files });
        else pairs.set(key, { tips: tipsKey, overlap: overlapOf(a, b, [], false, []) });
      }
    }
    if (toMerge.length > 0) {
      gitCalls++;
      const checks = await checkMerges(
        this.#cwd,
        toMerge.map(({ a, b }) => [a.tip, b.tip] as const),
        signal,
      );
      toMerge.forEach(({ key, a, b, files }, index) => {
        const check = checks[index] ?? { conflict: false, paths: [] };
        pairs.set(key, {
          tips: `${a.tip} ${b.tip}`,
          overlap: overlapOf(a, b, files, check.conflict, check.paths),
        });
      });
    }

    const changed: Overlap[] = [];
    for (const [key, pair] of pairs) {
      const before = this.#pairs.get(key)?.overlap;
      const reported = before !== undefined && overlaps(before);
      if (!sameResult(before, pair.overlap) && (reported || overlaps(pair.overlap))) {
        changed.push(pair.overlap);
      }
    }
    // A pair whose tasks are both still here but one has no change left: its overlap went away.
    for (const [key, { overlap }] of this.#pairs) {
      if (pairs.has(key) || !overlaps(overlap)) continue;
      if (next.has(overlap.a.worktreeId) && next.has(overlap.b.worktreeId)) {
        changed.push({ ...overlap, files: [], conflict: false, conflictPaths: [] });
      }
    }
    this.#pairs = pairs;
    this.#overlaps = [...pairs.values()].map((pair) => pair.overlap).filter(overlaps);
    return { overlaps: this.#overlaps, changed, gitCalls };
  }

  /**
   * `git status` in each task's worktree whose interval has passed, and a commit for each whose
   * uncommitted state changed since (unchanged: the previous one stands). Returns the git calls made.
   */
  async #lookAtWorktrees(tasks: readonly RadarTask[], signal: AbortSignal | undefined): Promise<number> {
    const interval = this.#statusIntervalMs;
    const looks = new Map<string, WorktreeLook>();
    for (const task of tasks) {
      const look = this.#looks.get(task.ref.worktreeId);
      if (look) looks.set(task.ref.worktreeId, look);
    }
    this.#looks = looks;
    if (interval === undefined) return 0;
    const now = this.#now();
    const due = tasks.filter((task): task is RadarTask & { path: string } => {
      const look = looks.get(task.ref.worktreeId);
      return task.path !== undefined && (look === undefined || now - look.at >= interval);
    });
    let calls = 0;
    for (let at = 0; at < due.length; at += DIFF_CONCURRENCY) {
      await Promise.all(
        due.slice(at, at + DIFF_CONCURRENCY).map(async (task) => {
          const id = task.ref.worktreeId;
          calls++;
          // A worktree gone or unreadable counts with its commits only.
          const state = await readWorktreeState(task.path, signal).catch(() => undefined);
          if (!state || state.uncommittedPaths.length === 0) {
            looks.set(id, { at: now, head: state?.head, fingerprint: '', commit: undefined });
            return;
          }
          const fingerprint = await uncommittedFingerprint(task.path, state);
          const previous = looks.get(id);
          if (previous?.fingerprint === fingerprint) {
            looks.set(id, { ...previous, at: now });
            return;
          }
          calls += SNAPSHOT_GIT_CALLS;
          const commit = await uncommittedCommit(task.path, state, signal).catch(() => undefined);
          looks.set(id, { at: now, head: state.head, fingerprint: commit ? fingerprint : '', commit });
        }),
      );
    }
    return calls;
  }

  #remember(key: string, files: readonly string[]): void {
    this.#files.set(key, files);
    if (this.#files.size > FILES_CACHE_LIMIT) {
      const oldest = this.#files.keys().next().value;
      if (oldest !== undefined) this.#files.delete(oldest);
    }
  }
}

function overlapOf(
  a: TaskState,
  b: TaskState,
  files: readonly string[],
  conflict: boolean,
  conflictPaths: readonly string[],
): Overlap {
  return { a: a.task.ref, b: b.task.ref, files, conflict, conflictPaths };
}

/** A pair worth reporting: shared files, or a conflict. */
function overlaps(overlap: Overlap): boolean {
  return overlap.files.length > 0 || overlap.conflict;
}

function sameResult(x: Overlap | undefined, y: Overlap): boolean {
  return (
    x !== undefined &&
    x.conflict === y.conflict &&
    x.files.join('\0') === y.files.join('\0') &&
    x.conflictPaths.join('\0') === y.conflictPaths.join('\0')
  );
}

function compare(x: string, y: string): number {
  return x < y ? -1 : x > y ? 1 : 0;
}
