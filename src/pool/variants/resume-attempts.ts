// `run --resume` of a batch that ran variants: what its record says of each attempt and each issue.
import { attemptKey } from '../../core/attempt.js';
import type { WorktreeTask } from '../../core/task.js';
import type { TaskResult } from '../../core/task-result.js';
import type { WorktreeInfo } from '../../core/types.js';
import type { WorktreeManager } from '../../manager/worktree-manager.js';
import type { BatchRecord } from '../../state/batch-records.js';
import { isOwnerAlive } from '../../state/owner.js';
import type { ResolvedPoolConfig } from '../worktree-pool.js';
import { type PlannedAttempt, planAttempts } from './plan-attempts.js';
import type { JudgedAttempt } from './settle-issue.js';

/** What a resumed batch carries over from its record, for its variants. */
export interface ResumedAttempts {
  /** The attempts that ended before the kill, judged (their verdict recorded), by attempt key. */
  readonly judged: ReadonlyMap<string, JudgedAttempt>;
  /** The attempts that ended but were not judged yet (killed while judging): judged again. */
  readonly unjudged: ReadonlyMap<string, TaskResult>;
  /** Issues whose winner's merge already moved the target before the kill: the winner's branch. */
  readonly landed: ReadonlyMap<number, string>;
  /** The next ordinal of an attempt's end (after the recorded ones). */
  readonly nextOrder: number;
}

/**
 * The variant settings a resumed batch runs with: its record's (the same attempts as its first run),
 * its score command unless the pool has one. A record without variants: each issue runs once.
 */
export function resumedVariantConfig(config: ResolvedPoolConfig, record: BatchRecord): ResolvedPoolConfig {
  const recorded = record.options;
  return {
    ...config,
    variants: recorded.variants ?? [{}],
    score: config.score ?? (recorded.score ? { ...recorded.score, batch: 1 } : undefined),
    variantsStopAt: recorded.variantsStopAt,
  };
}

/** The issues of a resumed batch that run as several attempts (kept worktrees are found per attempt). */
export function resumedVariantIssues(
  record: BatchRecord,
  tasks: readonly WorktreeTask[],
  branchPattern: string,
): ReadonlySet<number> {
  const plan = planAttempts(tasks, record.options.variants ?? [{}], branchPattern);
  return new Set(plan?.issues.keys() ?? []);
}

/** What the record says of the attempts of `attempts`' issues (`merged`: issues whose merge landed). */
export function resumedAttempts(
  record: BatchRecord,
  attempts: readonly PlannedAttempt[],
  merged: ReadonlySet<number>,
): ResumedAttempts {
  const judged = new Map<string, JudgedAttempt>();
  const unjudged = new Map<string, TaskResult>();
  let nextOrder = 0;
  for (const { task, variant } of attempts) {
    if (!variant) continue;
    const key = attemptKey(task);
    const result = record.results.find((r) => r.variant !== undefined && attemptKey(r) === key);
    if (!result || result.status === 'cancelled') continue;
    const said = record.judgements?.[key];
    if (!said) {
      unjudged.set(key, result);
      continue;
    }
    const { endedAt, ...judgement } = said;
    nextOrder = Math.max(nextOrder, endedAt + 1);
    judged.set(key, { variant: variant.variant, name: variant.name, result, judgement, endedAt });
  }
  const landed = new Map<number, string>();
  for (const intent of record.mergeIntents ?? []) {
    if (merged.has(intent.issueNumber)) landed.set(intent.issueNumber, intent.branch);
  }
  return { judged, unjudged, landed, nextOrder };
}

/** The worktree a killed run left on the attempt's own branch, for it to continue in (none: it starts anew). */
export async function keptAttemptWorktree(
  manager: WorktreeManager,
  task: WorktreeTask,
): Promise<WorktreeInfo | undefined> {
  if (task.branchName === undefined) return undefined;
  const kept = (await manager.listWorktrees()).find(
    (worktree) => worktree.branchName === task.branchName && worktree.status !== 'idle',
  );
  // A worktree whose process still runs is never shared: the attempt then fails to create its own.
  if (!kept || (kept.status === 'active' && isOwnerAlive(kept.owner))) return undefined;
  return kept;
}
