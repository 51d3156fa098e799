import { runGit } from '../git/run-git.js';
import { type Logger, safeLog, silentLogger } from '../log.js';
import type { TaskResult } from '../pool/types.js';

/** Every archive ref a task's result names (its removal's, its unmerged work's, its stale branch's). */
export function archiveRefsOf(result: TaskResult): string[] {
  const refs = [result.archiveRef, result.unmergedWork?.archiveRef, result.staleBranch?.archiveRef];
  return [...new Set(refs.filter((ref): ref is string => typeof ref === 'string' && ref !== ''))];
}

export interface WorkerPlace {
  readonly worker: string;
  readonly host: string;
  /** The worker's clone. */
  readonly repo: string;
}

/**
 * On a worker: says where the task's archives are (this worker, its clone) and, with `share`,
 * pushes them to `origin` under the same refs so the submitter can fetch and restore them. A failed
 * push is logged and the archives stay unshared (still in the clone): the task's outcome is unchanged.
 */
export async function placeArchives(
  result: TaskResult,
  place: WorkerPlace,
  share: boolean,
  logger: Logger,
  signal?: AbortSignal,
): Promise<TaskResult> {
  const refs = archiveRefsOf(result);
  if (refs.length === 0) return result;
  let shared = false;
  if (share) {
    shared = await runGit(['push', '--quiet', 'origin', ...refs.map((ref) => `${ref}:${ref}`)], {
      cwd: place.repo,
      signal,
      timeoutMs: 10 * 60_000,
    }).then(
      () => true,
      (error: unknown) => {
        safeLog(logger, 'warn', { refs, error: String(error) }, 'could not share the archives on origin');
        return false;
      },
    );
  }
  return { ...result, archivedOn: { ...place, shared } };
}

/**
 * At the submitter: fetches the archives a worker shared from `remote` under the same refs, so
 * `restoreWorktree(id)` works here; when the fetch fails they are said to be on the worker only.
 */
export async function fetchSharedArchives(
  root: string,
  remote: string,
  result: TaskResult,
  signal?: AbortSignal,
  logger: Logger = silentLogger,
): Promise<TaskResult> {
  if (!result.archivedOn?.shared) return result;
  const refs = archiveRefsOf(result);
  const fetched = await runGit(['fetch', '--quiet', remote, ...refs.map((ref) => `+${ref}:${ref}`)], {
    cwd: root,
    signal,
    timeoutMs: 10 * 60_000,
  }).then(
    () => true,
    (error: unknown) => {
      safeLog(logger, 'warn', { refs, error: String(error) }, 'could not fetch the archives a worker shared');
      return false;
    },
  );
  return fetched ? result : { ...result, archivedOn: { ...result.archivedOn, shared: false } };
}
