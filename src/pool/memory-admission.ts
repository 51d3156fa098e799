import { MEMORY_SAMPLE_INTERVAL_MS } from '../core/limits.js';
import type { WorktreeManager } from '../manager/worktree-manager.js';
import { availableMemoryBytes } from '../process/free-memory.js';

/** The hold on new tasks of one batch while memory is short (`minFreeMemory`). */
export interface MemoryAdmission {
  /**
   * Resolves once the task may start: available memory is at least `minFreeMemory`, or none of the
   * batch's tasks is running (so a batch always makes progress), or `signal` aborted. The first
   * time it holds a task, a `memory-wait` event says why.
   */
  admit(issueNumber: number, signal: AbortSignal): Promise<void>;
  /** The task admitted for `issueNumber` ended: its memory is free for the next. */
  release(): void;
}

/** No hold at all (no `minFreeMemory`). */
const OPEN: MemoryAdmission = { admit: () => Promise.resolve(), release: () => {} };

/** The batch's admission by free memory (see {@link MemoryAdmission}); `available` reads it (tests). */
export function admitByMemory(
  manager: WorktreeManager,
  batchId: string,
  minFreeBytes: number | undefined,
  available: () => number | undefined = availableMemoryBytes,
): MemoryAdmission {
  if (minFreeBytes === undefined) return OPEN;
  let running = 0;
  const wakers = new Set<() => void>();
  return {
    async admit(issueNumber, signal) {
      let announced = false;
      for (;;) {
        const free = available();
        if (running === 0 || signal.aborted || free === undefined || free >= minFreeBytes) break;
        if (!announced) {
          announced = true;
          manager.recordEvent({
            type: 'memory-wait',
            // No worktree exists yet: the issue stands in for it.
            worktreeId: `issue-${issueNumber}`,
            issueNumber,
            batchId,
            availableBytes: free,
            minFreeBytes,
            running,
          });
        }
        // Polled while held: memory frees up outside this process too, not only when a task ends.
        await new Promise<void>((resolve) => {
          const wake = () => {
            clearTimeout(timer);
            wakers.delete(wake);
            signal.removeEventListener('abort', wake);
            resolve();
          };
          const timer = setTimeout(wake, MEMORY_SAMPLE_INTERVAL_MS);
          wakers.add(wake);
          signal.addEventListener('abort', wake, { once: true });
        });
      }
      running++;
    },
    release() {
      running--;
      for (const wake of [...wakers]) wake();
    },
  };
}
