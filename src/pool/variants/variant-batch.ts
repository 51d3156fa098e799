import { attemptKey, attemptLabel, sameAttempt } from '../../core/attempt.js';
import type { WorktreeInfo } from '../../core/types.js';
import type { WorktreeManager } from '../../manager/worktree-manager.js';
import type { AttemptJudgement, BatchRecord } from '../../state/batch-records.js';
import { TaskAbort } from '../task-outcome.js';
import type { TaskExecutor, TaskResult, WorktreeTask } from '../types.js';
import type { ResolvedPoolConfig } from '../worktree-pool.js';
import { type Judgement, judgeAttempt } from './judge-attempt.js';
import { type AttemptPlan, type PlannedAttempt, planAttempts } from './plan-attempts.js';
import { keptAttemptWorktree, resumedAttempts, resumedVariantConfig } from './resume-attempts.js';
import { type JudgedAttempt, settleIssue } from './settle-issue.js';
import { variantExecutor } from './variant-executor.js';

/** What the pool's batch engine asks of a batch with variants (one call site each). */
export interface VariantBatch {
  /** The attempts to run, in place of the tasks. */
  readonly tasks: readonly WorktreeTask[];
  readonly executor: TaskExecutor;
  /** An attempt whose landing waits for its issue's verdict: it runs without merge, its worktree kept. */
  held(task: WorktreeTask): boolean;
  /** The attempt's variant (its number, name, own command and environment): a queue's job carries it. */
  variantOf(task: WorktreeTask): PlannedAttempt['variant'];
  /** Aborted when a sibling reached `variantsStopAt`: the rest of the issue is cancelled. */
  signalOf(task: WorktreeTask): AbortSignal | undefined;
  /** Judges an attempt as it ends (gate, score), out of its slot; may stop its siblings. */
  ended(result: TaskResult): Promise<TaskResult>;
  /** One result per issue: winners landed, the others archived (or kept). */
  settle(results: readonly TaskResult[]): Promise<TaskResult[]>;
  /** In a resumed batch: the worktree the killed run left for this attempt, where it continues. */
  continueIn(task: WorktreeTask): Promise<WorktreeInfo | undefined>;
}

/** Where the batch's record learns of an issue's verdicts as they come (the record is made later). */
export interface VariantRecordHooks {
  /** An attempt was judged: `run --resume` keeps its verdict. */
  readonly judged: (key: string, judgement: AttemptJudgement) => Promise<void>;
  /** Before a winner's merge moves its target (a resumed batch never lands it twice). */
  readonly landing: (worktree: WorktreeInfo) => Promise<void>;
  /** An issue was settled (its winner landed or none passed): its one result. */
  readonly settled: (result: TaskResult) => void;
}

/** The batch's variants, or undefined when no task has any (the batch runs as it always did). */
export function variantBatch(options: {
  readonly manager: WorktreeManager;
  readonly config: ResolvedPoolConfig;
  readonly batchId: string;
  readonly tasks: readonly WorktreeTask[];
  readonly executor: TaskExecutor;
  /** The batch's signal: a cancelled batch lands nothing more. */
  readonly signal: AbortSignal;
  readonly hooks: VariantRecordHooks;
  /** A resumed batch: its record, and the issues whose merge landed before the kill. */
  readonly resume?: { readonly record: BatchRecord; readonly merged: ReadonlySet<number> };
}): VariantBatch | undefined {
  const { manager, batchId, hooks, resume } = options;
  // A resumed batch runs the attempts its first run planned.
  const config = resume ? resumedVariantConfig(options.config, resume.record) : options.config;
  const plan = planAttempts(options.tasks, config.variants, manager.branchPattern);
  if (!plan) return undefined;
  const stops = new Map<number, AbortController>();
  const judged = new Map<string, Promise<JudgedAttempt>>();
  const settling = new Map<number, Promise<TaskResult>>();
  const prior = resume ? resumedAttempts(resume.record, plan.attempts, resume.merged) : undefined;
  for (const [key, attempt] of prior?.judged ?? []) judged.set(key, Promise.resolve(attempt));
  let order = prior?.nextOrder ?? 0;
  const issueOf = (task: { issueNumber: number; variant?: number | undefined }) =>
    task.variant === undefined ? undefined : plan.issues.get(task.issueNumber);
  const context = { manager, config, batchId, signal: options.signal, hooks, landed: prior?.landed };
  const batch: VariantBatch = {
    // Attempts that ended before a kill keep their outcome: only the others run (again).
    tasks: plan.attempts
      .map((attempt) => attempt.task)
      .filter((task) => !prior?.judged.has(attemptKey(task)) && !prior?.unjudged.has(attemptKey(task))),
    executor: variantExecutor(options.executor, plan.byKey),
    held: (task) => issueOf(task) !== undefined,
    variantOf: (task) => plan.byKey.get(attemptKey(task))?.variant,
    signalOf(task) {
      if (!issueOf(task)) return undefined;
      let stop = stops.get(task.issueNumber);
      if (!stop) {
        stop = new AbortController();
        stops.set(task.issueNumber, stop);
      }
      return stop.signal;
    },
    async ended(result) {
      const attempt = plan.byKey.get(attemptKey(result));
      if (!issueOf(result) || !attempt?.variant) return result;
      const endedAt = order++;
      const judging = judge(result, config, batchId, attempt.variant, options.signal).then(
        async (judgement) => {
          reachStopAt(result, judgement, config.variantsStopAt, stops.get(result.issueNumber));
          await hooks.judged(attemptKey(result), { ...judgement, endedAt });
          return {
            variant: attempt.variant?.variant ?? 0,
            name: attempt.variant?.name ?? '',
            result,
            judgement,
            endedAt,
          };
        },
      );
      judged.set(attemptKey(result), judging);
      await judging;
      // The issue is decided (and its winner lands) as soon as its last attempt was judged.
      // Once: every sibling that ends after the last judgement sees all of them judged too.
      if (settling.has(result.issueNumber)) return result;
      const siblings = plan.issues.get(result.issueNumber) ?? [];
      const issue = settleWhenAllEnded(siblings, judged, context);
      if (issue) settling.set(result.issueNumber, issue);
      return result;
    },
    async settle(results) {
      // Resumed: attempts that ended before the kill without a verdict are judged now, and issues
      // none of whose attempts ran again (killed while settling) are settled now.
      for (const result of prior?.unjudged.values() ?? []) await batch.ended(result);
      for (const [issueNumber, siblings] of plan.issues) {
        if (settling.has(issueNumber)) continue;
        const issue = settleWhenAllEnded(siblings, judged, context);
        if (issue) settling.set(issueNumber, issue);
      }
      const ran = (task: WorktreeTask) =>
        results.find((result) => sameAttempt(result, task)) ??
        prior?.judged.get(attemptKey(task))?.result ??
        prior?.unjudged.get(attemptKey(task));
      return grouped(plan, plan.attempts.map((attempt) => ran(attempt.task)).filter(isResult), settling);
    },
    async continueIn(task) {
      return resume && issueOf(task) ? keptAttemptWorktree(manager, task) : undefined;
    },
  };
  return batch;
}

function isResult(result: TaskResult | undefined): result is TaskResult {
  return result !== undefined;
}

async function judge(
  result: TaskResult,
  config: ResolvedPoolConfig,
  batchId: string,
  variant: { readonly variant: number; readonly name: string },
  signal: AbortSignal,
): Promise<Judgement> {
  // A cancelled batch stops the gate and the score too (their process groups killed): no verdict then.
  return judgeAttempt(result, {
    check: config.check,
    score: config.score,
    logDir: config.logDir,
    batchId,
    env: {
      MIYABI_ISSUE_NUMBER: String(result.issueNumber),
      MIYABI_VARIANT: String(variant.variant),
      MIYABI_VARIANT_NAME: variant.name,
      ...(result.worktreePath ? { MIYABI_WORKTREE_PATH: result.worktreePath } : {}),
      ...(result.branchName ? { MIYABI_BRANCH: result.branchName } : {}),
    },
    signal,
  }).catch((error: unknown) => ({
    checkPassed: false,
    checkError: { message: `the gate could not run: ${String(error)}`, code: 'CHECK_FAILED' },
  }));
}

/** With `variantsStopAt`: an attempt that passed with at least that score stops the rest of its issue. */
function reachStopAt(
  result: TaskResult,
  judgement: Judgement,
  stopAt: number | undefined,
  stop: AbortController | undefined,
): void {
  if (stopAt === undefined || !stop || stop.signal.aborted) return;
  if (judgement.checkPassed === false || judgement.score === undefined || judgement.score < stopAt) return;
  stop.abort(
    new TaskAbort(
      'cancelled',
      `stopped: ${attemptLabel(result)} scored ${judgement.score} (variantsStopAt ${stopAt})`,
    ),
  );
}

/** The issue's result once every attempt of it was judged (undefined while some still run). */
function settleWhenAllEnded(
  attempts: readonly PlannedAttempt[],
  judged: ReadonlyMap<string, Promise<JudgedAttempt>>,
  context: {
    manager: WorktreeManager;
    config: ResolvedPoolConfig;
    batchId: string;
    signal: AbortSignal;
    hooks: VariantRecordHooks;
    landed: ReadonlyMap<number, string> | undefined;
  },
): Promise<TaskResult> | undefined {
  const all = attempts.map((attempt) => judged.get(attemptKey(attempt.task)));
  if (all.some((judging) => judging === undefined)) return undefined;
  const { config } = context;
  const started = performance.now();
  const issueNumber = attempts[0]?.task.issueNumber ?? 0;
  const landed = context.landed?.get(issueNumber);
  return Promise.all(all as Promise<JudgedAttempt>[]).then(async (ended) => {
    const result = await settleIssue(
      ended,
      {
        ...(landed !== undefined ? { landed } : {}),
        onLanding: async (id) => context.hooks.landing(await context.manager.getWorktree(id)),
        manager: context.manager,
        batchId: context.batchId,
        merge: config.merge,
        check: config.check,
        score: config.score,
        prepare: config.prepare,
        autoCleanup: config.autoCleanup,
        signal: context.signal,
      },
      started,
    );
    context.hooks.settled(result);
    return result;
  });
}

/** The batch's results with each issue's attempts replaced by its one result, where its first attempt was. */
async function grouped(
  plan: AttemptPlan,
  results: readonly TaskResult[],
  settling: ReadonlyMap<number, Promise<TaskResult>>,
): Promise<TaskResult[]> {
  const final: TaskResult[] = [];
  const done = new Set<number>();
  for (const result of results) {
    const issue = settling.get(result.issueNumber);
    if (result.variant === undefined || !plan.issues.has(result.issueNumber) || !issue) {
      final.push(result);
      continue;
    }
    if (done.has(result.issueNumber)) continue;
    done.add(result.issueNumber);
    final.push(await issue);
  }
  return final;
}
