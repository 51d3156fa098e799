import { basename } from 'node:path';
import {
  type BaseSource,
  expandBranchPattern,
  type WorktreeManager,
  type WorktreePool,
  type WorktreeTask,
} from '../../index.js';
import { formatArgv, planAttempts } from '../../internal.js';

/** What a task of `run` would do: `--dry-run` prints it (and `--json` gives it as is). */
export interface TaskPlan {
  readonly issueNumber: number;
  /** With variants: which attempt of its issue this is (1-based), its name and its own environment's names. */
  readonly variant?: { readonly variant: number; readonly name: string; readonly env: readonly string[] };
  readonly title?: string;
  readonly branch: string;
  /** The branch its worktree starts from, where that came from (`task`: the task names it), and why in words. */
  readonly base: { readonly branch: string; readonly source: BaseSource | 'task'; readonly why: string };
  /** The branch its work is merged into (`--merge`), else null: the task's branch keeps it. */
  readonly mergeInto: string | null;
  /** The remote its branch is pushed to (`--push`, `--pr`), else null. */
  readonly pushTo: string | null;
  /** The base branch of its pull request (`--pr`), else null. */
  readonly pullRequestInto: string | null;
  /** Setup commands run in the worktree first (config `setup`). */
  readonly setup: readonly (readonly string[])[];
  /** The command (a variant's own, else the batch's), `{issue}`, `{branch}` and `{variant}` replaced (the other placeholders need the worktree). */
  readonly command: readonly string[];
}

/** Why the base is what it is, in words a person typed or can check. */
export function baseSourceText(source: BaseSource, configSource: string | null, fromTask: boolean): string {
  if (fromTask) return 'the task names it';
  switch (source) {
    case 'option':
      return '--base';
    case 'config':
      return `baseBranch in ${configSource ? basename(configSource) : 'the configuration'}`;
    case 'origin/HEAD':
      return "the remote's default branch, origin/HEAD";
    case 'main':
    case 'master':
      return `no origin/HEAD; the local ${source} branch`;
    case 'current branch':
      return 'the current branch: no origin/HEAD, main or master';
  }
}

/** One plan per task, from the same options the batch runs with. */
export function planTasks(
  manager: WorktreeManager,
  pool: WorktreePool,
  tasks: readonly WorktreeTask[],
  command: readonly string[],
): TaskPlan[] {
  const { merge, push, pullRequest, prepare } = pool.config;
  // One plan per attempt: an issue with variants plans each of them, as the pool runs them.
  const attempts =
    planAttempts(tasks, pool.config.variants, manager.branchPattern)?.attempts ??
    tasks.map((task) => ({ task, variant: undefined }));
  return attempts.map(({ task, variant }) => {
    const base = task.baseBranch ?? manager.baseBranch;
    const branch = task.branchName ?? expandBranchPattern(manager.branchPattern, task.issueNumber);
    const values: Record<string, string> = {
      '{issue}': String(task.issueNumber),
      '{branch}': branch,
      ...(task.variant !== undefined ? { '{variant}': String(task.variant) } : {}),
    };
    const title = task.context?.title;
    const argv = variant?.command ?? command;
    return {
      issueNumber: task.issueNumber,
      ...(variant && task.variant !== undefined
        ? {
            variant: {
              variant: task.variant,
              name: variant.name,
              env: ['MIYABI_VARIANT', 'MIYABI_VARIANT_NAME', ...Object.keys(variant.env ?? {})],
            },
          }
        : {}),
      ...(title !== undefined ? { title } : {}),
      branch,
      base: {
        branch: base,
        source: task.baseBranch !== undefined ? 'task' : manager.baseSource,
        why: baseSourceText(manager.baseSource, manager.configSource, task.baseBranch !== undefined),
      },
      mergeInto: merge ? (merge.into ?? base) : null,
      pushTo: push ? (push.remote ?? 'origin') : null,
      pullRequestInto: pullRequest ? base : null,
      setup: prepare.setup,
      command: argv.map((arg) =>
        arg.replace(/\{(?:issue|branch|variant)\}/g, (token) => values[token] ?? token),
      ),
    };
  });
}

/**
 * The run's first line: where the tasks start (and why there) and where their work ends up.
 * `Base: main (the remote's default branch, origin/HEAD) → merged into main, pushed to origin`
 */
export function whereLine(plans: readonly TaskPlan[]): string {
  const [first] = plans;
  if (!first) return 'Base: no task to run';
  const same = plans.every(
    (plan) => plan.base.branch === first.base.branch && plan.mergeInto === first.mergeInto,
  );
  const base = same ? `${first.base.branch} (${first.base.why})` : 'per task (see --dry-run)';
  return `Base: ${base} → ${targetText(first, same)}`;
}

function targetText(plan: TaskPlan, same: boolean): string {
  const ends: string[] = [];
  if (plan.mergeInto !== null) ends.push(`merged into ${same ? plan.mergeInto : 'each base'}`);
  if (plan.pushTo !== null) ends.push(`pushed to ${plan.pushTo}`);
  if (plan.pullRequestInto !== null)
    ends.push(`pull request into ${same ? plan.pullRequestInto : 'each base'}`);
  return ends.length > 0
    ? ends.join(', ')
    : 'not merged: each task branch keeps its work (--merge merges it)';
}

/** The `--dry-run` text: a block per task. */
export function renderPlans(plans: readonly TaskPlan[]): string[] {
  const lines: string[] = [];
  for (const plan of plans) {
    const variant = plan.variant ? ` v${plan.variant.variant} (${plan.variant.name})` : '';
    lines.push(`#${plan.issueNumber}${variant}${plan.title !== undefined ? `  ${plan.title}` : ''}`);
    lines.push(`  branch   ${plan.branch} from ${plan.base.branch} (${plan.base.why})`);
    lines.push(`  target   ${targetText(plan, true)}`);
    lines.push(`  setup    ${plan.setup.length > 0 ? plan.setup.map(formatArgv).join(' && ') : 'none'}`);
    lines.push(`  command  ${formatArgv(plan.command)}`);
    if (plan.variant) lines.push(`  env      ${plan.variant.env.join(' ')}`);
  }
  return lines;
}
