import type { TaskExecutor } from '../pool/types.js';
import { keepCommandMarks } from './command-executor.js';
import type { QueueJobPayload } from './payload.js';

/**
 * A worker's executor for a job that runs one variant of an issue: `ctx.variant` says which, so
 * `{variant}` in the job's argv is expanded as a local run expands it (its own command is the
 * job's argv already, its environment in the job's `env`). Without a variant: the executor untouched.
 */
export function withJobVariant(executor: TaskExecutor, variant: QueueJobPayload['variant']): TaskExecutor {
  if (!variant) return executor;
  const wrapped: TaskExecutor = (worktree, task, ctx) =>
    executor(worktree, task, { ...ctx, variant: { variant: variant.variant, name: variant.name } });
  // The command's marks stay: the worker's pool pauses by them.
  return keepCommandMarks(wrapped, executor);
}
