import { attemptKey } from '../../core/attempt.js';
import { keepCommandMarks } from '../../queue/command-executor.js';
import type { TaskExecutor } from '../types.js';
import type { PlannedAttempt } from './plan-attempts.js';

/**
 * The batch's executor, told which variant each attempt is: `ctx.variant` (its number, name and
 * own command) and `MIYABI_VARIANT`, `MIYABI_VARIANT_NAME` and its `env` in `ctx.env`. An attempt
 * without a variant gets the executor untouched. Keeps the executor's command mark (the batch record, pauses).
 */
export function variantExecutor(
  executor: TaskExecutor,
  byKey: ReadonlyMap<string, PlannedAttempt>,
): TaskExecutor {
  const wrapped: TaskExecutor = (worktree, task, ctx) => {
    const variant = byKey.get(attemptKey(task))?.variant;
    if (!variant) return executor(worktree, task, ctx);
    const { env, ...context } = variant;
    return executor(worktree, task, {
      ...ctx,
      variant: context,
      env: {
        ...ctx.env,
        ...env,
        MIYABI_VARIANT: String(variant.variant),
        MIYABI_VARIANT_NAME: variant.name,
      },
    });
  };
  // The batch's command still describes the batch (its record, usage-limit pauses, a queue's jobs).
  return keepCommandMarks(wrapped, executor);
}
