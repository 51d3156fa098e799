import { runGit } from '../git/run-git.js';
import type { ConflictPolicy, TaskResult } from '../pool/types.js';
import { commandOf } from './command-executor.js';
import { QUEUE_PAYLOAD_VERSION, type QueueJobPayload } from './payload.js';
import { ensureBaseOnRemote } from './remote-git.js';

/** What the queue runner lends a task's hand-back: its job, and how it enqueues and merges. */
export interface QueueHandBack {
  /** The task's own job. */
  readonly payload: QueueJobPayload;
  /** The merge target here. */
  readonly into: string;
  /** Enqueues a follow-up job of the task and waits for its result. */
  readonly run: (payload: QueueJobPayload) => Promise<TaskResult>;
  /** Merges a result here as the task's own merge does. */
  readonly merge: (result: TaskResult) => Promise<TaskResult>;
}

/**
 * `onConflict: { resolve, attempts }` for a queue task whose merge here conflicted: a hand-back job
 * like any other — on a worker, on the task's pushed branch with the target's tip (pushed where
 * workers fetch it) merged in, the resolver's argv run on the conflicts — then the resolved branch
 * merged here. Whatever the worker did is on the result (`resolveAttempts`); an unresolved
 * conflict stays a `merge` failure, so the task is kept here as a local one is.
 */
export async function handBackOnQueue(
  result: TaskResult,
  policy: Exclude<ConflictPolicy, 'keep' | 'remove'>,
  handBack: QueueHandBack,
  context: { readonly root: string; readonly remote: string; readonly signal: AbortSignal | undefined },
): Promise<TaskResult> {
  const argv = commandOf(policy.resolve);
  const branchCommit = result.push?.commit;
  if (!argv || !branchCommit) return result;
  const { payload } = handBack;
  const tip = await runGit(['rev-parse', '--verify', `refs/heads/${handBack.into}^{commit}`], {
    cwd: context.root,
    signal: context.signal,
  });
  const targetSha = tip.stdout.trim();
  await ensureBaseOnRemote(context.root, context.remote, targetSha, payload.batchId, context.signal);
  const back = await handBack.run({
    ...payload,
    v: QUEUE_PAYLOAD_VERSION,
    argv: [...argv],
    handBack: { branchCommit, targetSha, into: handBack.into, attempts: policy.attempts ?? 1 },
  });
  // The task's own output, worktree and base stay; the hand-back adds its attempts and its push.
  const attempts = back.resolveAttempts ?? [];
  const durationMs = result.durationMs + back.durationMs;
  if (back.status === 'success' && back.push) {
    const { stage: _s, error: _e, ...task } = result;
    return handBack.merge({
      ...task,
      status: 'success',
      push: back.push,
      resolveAttempts: attempts,
      durationMs,
    } as TaskResult);
  }
  return {
    ...result,
    status: back.status === 'cancelled' || back.status === 'timeout' ? back.status : 'failed',
    stage: 'merge',
    error: back.error ?? result.error,
    resolveAttempts: attempts,
    durationMs,
  } as TaskResult;
}
