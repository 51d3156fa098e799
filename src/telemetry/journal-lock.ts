import { join } from 'node:path';
import { type Logger, safeLog } from '../log.js';
import { loadProperLockfile } from '../state/lazy-modules.js';

/** How long a lock may go unrefreshed before another process takes it over (its holder died). */
export const JOURNAL_LOCK_STALE_MS = 10_000;

/** Whether to wait for the lock or give up at once when another process holds it. */
export type LockWait = 'wait' | 'try';

/**
 * Runs `fn` holding the journal's cross-process lock (`<dir>/telemetry.lock`, proper-lockfile:
 * atomic mkdir, refreshed while held, reclaimed once stale). Only compaction and the rare
 * contended read take it; appends never do. Resolves `{ acquired: false }` when `try` finds it held.
 */
export async function withJournalLock<T>(
  dir: string,
  wait: LockWait,
  logger: Logger,
  fn: () => Promise<T>,
): Promise<{ acquired: true; value: T } | { acquired: false }> {
  const lockfilePath = join(dir, 'telemetry.lock');
  const lockfile = await loadProperLockfile();
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(join(dir, 'telemetry'), {
      lockfilePath,
      realpath: false,
      stale: JOURNAL_LOCK_STALE_MS,
      retries:
        wait === 'wait' ? { retries: 60, minTimeout: 10, maxTimeout: 500, factor: 1.5, randomize: true } : 0,
      // The default throws from a timer and would crash the host process.
      onCompromised: (error) =>
        safeLog(logger, 'warn', { lock: lockfilePath, err: error.message }, 'telemetry lock compromised'),
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOCKED') return { acquired: false };
    throw error;
  }
  try {
    return { acquired: true, value: await fn() };
  } finally {
    await release().catch((error: unknown) =>
      safeLog(logger, 'warn', { lock: lockfilePath, err: String(error) }, 'could not release telemetry lock'),
    );
  }
}
