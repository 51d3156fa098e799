import { expandBranchPattern } from '../../config/config-types.js';
import { attemptKey } from '../../core/attempt.js';
import type { WorktreeTask } from '../../core/task.js';
import type { VariantSpec } from '../../core/variant.js';
import type { VariantContext } from '../types.js';
import { variantSpecs } from './resolve-variants.js';

/** One attempt of a batch with variants: the task as it runs, and what its variant adds. */
export interface PlannedAttempt {
  readonly task: WorktreeTask;
  /** Absent for an issue that runs once. */
  readonly variant?: VariantContext & { readonly env?: Readonly<Record<string, string>> };
}

/** A batch's tasks as attempts; `issues` lists each issue's attempts, in variant order. */
export interface AttemptPlan {
  readonly attempts: readonly PlannedAttempt[];
  /** Issues with more than one attempt (or a variant of their own): the ones the variants settle. */
  readonly issues: ReadonlyMap<number, readonly PlannedAttempt[]>;
  readonly byKey: ReadonlyMap<string, PlannedAttempt>;
}

/**
 * Expands each task into its attempts: `variants` (the task's, else the pool's) of N > 1 gives N
 * tasks with `variant` 1…N on branches `<pattern>-v<k>` (or `{variant}` in the pattern); one
 * variant with its own command or environment is one attempt with them. Undefined when no task has
 * a variant: the batch runs exactly as without variants.
 */
export function planAttempts(
  tasks: readonly WorktreeTask[],
  poolVariants: readonly VariantSpec[],
  branchPattern: string,
): AttemptPlan | undefined {
  const attempts: PlannedAttempt[] = [];
  const issues = new Map<number, PlannedAttempt[]>();
  for (const [index, task] of tasks.entries()) {
    const specs =
      task.variants === undefined ? poolVariants : variantSpecs(task.variants, `tasks[${index}].variants`);
    const only = specs.length === 1 ? specs[0] : undefined;
    if (specs.length === 1 && only?.command === undefined && only?.env === undefined) {
      attempts.push({ task });
      continue;
    }
    const own: PlannedAttempt[] = specs.map((spec, at) => {
      const variant = at + 1;
      const context = {
        variant,
        name: spec.name ?? `v${variant}`,
        ...(spec.command ? { command: spec.command } : {}),
        ...(spec.env ? { env: spec.env } : {}),
      };
      if (specs.length === 1) return { task, variant: context };
      const base = task.branchName ?? expandBranchPattern(branchPattern, task.issueNumber);
      const branchName = task.branchName
        ? `${base}-v${variant}`
        : expandBranchPattern(branchPattern, task.issueNumber, variant);
      return { task: { ...task, variant, branchName }, variant: context };
    });
    attempts.push(...own);
    if (specs.length > 1) issues.set(task.issueNumber, own);
  }
  if (!attempts.some((attempt) => attempt.variant)) return undefined;
  return {
    attempts,
    issues,
    byKey: new Map(attempts.map((attempt) => [attemptKey(attempt.task), attempt])),
  };
}
