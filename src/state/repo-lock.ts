import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import PQueue from 'p-queue';
import { MiyabiError } from '../errors.js';
import { type Logger, safeLog, silentLogger } from '../log.js';
import { loadProperLockfile } from './lazy-modules.js';
import { stateUnavailable, withStateErrors } from './state-errors.js';

/** Runs `fn` while holding the repository's metadata lock. */
export type WithLock = <T>(fn: () => Promise<T>) => Promise<T>;

export interface RepoLockOptions {
  /** Give up waiting after this long. @default 60_000 */
  readonly waitMs?: number;
  /** A lock not refreshed for this long belongs to a dead process and may be taken over. @default 10_000 */
  readonly staleMs?: number;
  readonly logger?: Logger;
}

// One FIFO per lock path, shared by every manager in this process, so in-process waiters never poll.
const localQueues = new Map<string, PQueue>();

/**
 * The per-repository lock around git metadata writes (branch creation, `worktree add/remove`,
 * ref updates of shared branches, `info/exclude`, registry writes): an in-process FIFO plus a
 * cross-process lock directory in the git common dir (proper-lockfile: mkdir-atomic, refreshed
 * while held, reclaimed when its holder died and it went stale).
 */
export class RepoLock {
  readonly lockPath: string;
  readonly #dir: string;
  readonly #waitMs: number;
  readonly #staleMs: number;
  readonly #logger: Logger;

  constructor(stateDir: string, options: RepoLockOptions = {}) {
    this.#dir = stateDir;
    this.lockPath = join(stateDir, 'repo.lock');
    this.#waitMs = options.waitMs ?? 60_000;
    this.#staleMs = options.staleMs ?? 10_000;
    this.#logger = options.logger ?? silentLogger;
  }

  /** How many runs in this process wait for this lock behind the one holding it (observable state for tests and diagnostics). */
  get waiting(): number {
    return localQueues.get(this.lockPath)?.size ?? 0;
  }

  /** Runs `fn` exclusively against every other holder of this repository's lock, in any process. */
  readonly run: WithLock = <T>(fn: () => Promise<T>): Promise<T> => {
    let queue = localQueues.get(this.lockPath);
    if (!queue) {
      queue = new PQueue({ concurrency: 1 });
      localQueues.set(this.lockPath, queue);
    }
    return queue.add(() => this.#crossProcess(fn)) as Promise<T>;
  };

  async #crossProcess<T>(fn: () => Promise<T>): Promise<T> {
    await withStateErrors(this.#dir, this.#dir, () => mkdir(this.#dir, { recursive: true }));
    const lockfile = await loadProperLockfile();
    const started = Date.now();
    let release: (() => Promise<void>) | undefined;
    while (!release) {
      try {
        release = await lockfile.lock(join(this.#dir, 'repo'), {
          lockfilePath: this.lockPath,
          realpath: false,
          stale: this.#staleMs,
          retries: { retries: 20, minTimeout: 5, maxTimeout: 100, factor: 1.5 },
          onCompromised: (error) =>
            safeLog(
              this.#logger,
              'warn',
              { err: error.message, lock: this.lockPath },
              'repository lock compromised',
            ),
        });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ELOCKED')
          throw stateUnavailable(error, this.lockPath, this.#dir);
        if (Date.now() - started > this.#waitMs) {
          throw new MiyabiError('LOCKED', `repository lock ${this.lockPath} is held by another process`, {
            cause: error,
            hint: `Another miyabi-worktree process is working on this repository. If none is, the lock goes stale after ${Math.round(this.#staleMs / 1000)} s.`,
          });
        }
      }
    }
    try {
      return await fn();
    } finally {
      await release().catch((error: unknown) =>
        safeLog(this.#logger, 'warn', { err: String(error), lock: this.lockPath }, 'could not release lock'),
      );
    }
  }
}
