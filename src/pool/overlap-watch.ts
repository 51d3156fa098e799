import type { WorktreeInfo } from '../core/types.js';
import type { WorktreeManager } from '../manager/worktree-manager.js';
import { ConflictRadar, type RadarTask } from '../radar/conflict-radar.js';
import type { Overlap } from '../telemetry/events.js';

/** The conflict radar of one batch: started with the batch, stopped when it ends. */
export interface OverlapWatch {
  /** A task's worktree is live (its branch is watched from now on). */
  add(worktree: WorktreeInfo): void;
  /** A task's worktree is gone (removed, or handed back idle). */
  remove(worktreeId: string): void;
  /** Stops the timer and waits for a look in progress to end. */
  stop(): Promise<void>;
  /** The latest result of every pair that overlapped during the batch (and still did at its last look). */
  overlaps(): Overlap[];
}

export interface OverlapWatchOptions {
  readonly manager: WorktreeManager;
  readonly batchId: string;
  /** Time between two looks. */
  readonly intervalMs: number;
  /** `git status` in each worktree at most this often (uncommitted work counts); absent: commits only. */
  readonly statusIntervalMs?: number;
  /** Called (after the `overlap` event is recorded) for each pair whose result changed. */
  readonly onChange: (overlap: Overlap) => void;
}

/**
 * Looks at the batch's live task branches every `intervalMs` (one `git for-each-ref` when nothing
 * moved, plus a `git status` per worktree every `statusIntervalMs`) and records an `overlap` event for each pair whose result changed: once per pair until it
 * changes again. A look never overlaps the next one; a failed look is retried at the next tick.
 */
export function watchOverlaps(options: OverlapWatchOptions): OverlapWatch {
  const { manager, batchId } = options;
  const radar = new ConflictRadar(
    manager.repoPath,
    options.statusIntervalMs !== undefined ? { statusIntervalMs: options.statusIntervalMs } : {},
  );
  const tasks = new Map<string, RadarTask>();
  const latest = new Map<string, Overlap>();
  const controller = new AbortController();
  let order = 0;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  const look = async () => {
    // One task alone makes no pair: such a look costs no git process at all.
    if (tasks.size < 2) return;
    const scan = await radar.scan([...tasks.values()], controller.signal);
    for (const overlap of scan.changed) {
      const key = `${overlap.a.worktreeId} ${overlap.b.worktreeId}`;
      if (overlap.files.length > 0 || overlap.conflict) latest.set(key, overlap);
      else latest.delete(key);
      manager.recordEvent({
        type: 'overlap',
        worktreeId: overlap.b.worktreeId,
        issueNumber: overlap.b.issue,
        branch: overlap.b.branch,
        batchId,
        ...overlap,
      });
      options.onChange(overlap);
    }
  };
  const tick = () => {
    timer = undefined;
    running = look()
      .catch(() => {})
      .finally(() => {
        running = undefined;
        schedule();
      });
  };
  const schedule = () => {
    if (stopped || timer !== undefined) return;
    timer = setTimeout(tick, options.intervalMs);
    // The radar alone never keeps a process alive.
    timer.unref();
  };
  schedule();

  return {
    add(worktree) {
      if (tasks.has(worktree.id) || worktree.issueNumber <= 0) return;
      tasks.set(worktree.id, {
        ref: { issue: worktree.issueNumber, worktreeId: worktree.id, branch: worktree.branchName },
        baseCommit: worktree.baseCommit,
        order: order++,
        path: worktree.path,
      });
    },
    remove(worktreeId) {
      tasks.delete(worktreeId);
    },
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      controller.abort();
      await running;
    },
    overlaps: () => [...latest.values()],
  };
}
