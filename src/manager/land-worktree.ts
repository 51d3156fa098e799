import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Landing } from '../core/task-result.js';
import type { MergeResult, MergeStrategy, WorktreeInfo } from '../core/types.js';
import { isMiyabiError, MiyabiError, toError } from '../errors.js';
import {
  buildCandidate,
  buildChain,
  type Candidate,
  changedPaths,
  swapTarget,
} from '../git/land-candidate.js';
import type { MergeBranchOptions } from '../git/merge.js';
import { pushBranch } from '../git/push.js';
import { assertValidBranchName } from '../git/repository.js';
import { runGit } from '../git/run-git.js';
import { readWorktreeState, snapshotWorktree, writeArchive } from '../git/work-snapshot.js';
import { type CheckOption, type CheckSpec, resolveCheck } from '../process/check-command.js';
import { worktreeEnvironment } from '../process/task-environment.js';
import type { PrepareSettings } from '../setup/prepare-worktree.js';
import { type CheckRun, runCheck } from '../setup/run-check.js';
import { type ManagerContext, releaseSlot } from './context.js';
import { joinLanding, type KnownFailure, type Together, treeOf } from './land-batch.js';
import { liveRecord } from './merge-push.js';
import { prepareWorktreeOf } from './prepare-worktree.js';
import { recordFailure } from './record-failure.js';
import { DEFAULT_SETUP_INPUTS, matchesSetupInput } from './setup-inputs.js';
import { reclaimedAny } from './stale-locks.js';

/** Options of `WorktreeManager.landWorktree`. */
export interface LandWorktreeOptions {
  /** The branch to land into. @default the worktree's base branch */
  readonly into?: string;
  /** @default 'merge' */
  readonly strategy?: MergeStrategy;
  /** Message of the merge (or squash) commit. */
  readonly message?: string;
  /** The check every candidate must pass. @default the configuration's `check` */
  readonly check?: CheckOption;
  /** Files whose change makes the setup run again on a candidate. @default the configuration's `setupInputs` (the usual lockfiles) */
  readonly setupInputs?: readonly string[];
  /** The setup run again when a candidate changes a setup input. @default the configuration's `setup` */
  readonly prepare?: PrepareSettings;
  /** Environment of the check and setup on top of the worktree's `MIYABI_*` variables. */
  readonly env?: Readonly<Record<string, string>>;
  /** The check's output is appended here too (the task's log). */
  readonly logFile?: string;
  readonly batchId?: string;
  readonly signal?: AbortSignal;
  /**
   * After the target moved: push it to this remote (a plain push, which the remote refuses unless
   * it is a fast-forward there: never a force). `PUSH_REJECTED` then; the local landing stands.
   */
  readonly pushTarget?: { readonly remote: string };
  /**
   * Check the candidate but move no branch (what a pull request gets: the check's verdict on what
   * merging it would make). `merge.status` then says what the merge would do. @default false
   */
  readonly checkOnly?: boolean;
  /** Called as each check starts: the live view's "checking on top of main". */
  readonly onCheck?: (candidate: {
    readonly into: string;
    readonly commit: string;
    readonly target: string;
  }) => void;
}

/** What `landWorktree` did: the merge (as `mergeWorktree` reports it) and the landing. */
export interface LandResult {
  readonly merge: MergeResult;
  readonly landing: Landing;
}

// Rebuilds after the target moved; each costs a check, so a target moving this often is refused.
const MAX_ROUNDS = 8;

/**
 * Lands a worktree's branch: builds the candidate exactly as `mergeWorktree` would (merge commit on
 * the target's tip, or the fast-forward), checks it out detached in the worktree, runs the setup
 * again when it changes a setup input, runs the check, and only when it passes moves the target to
 * that exact commit with compare-and-swap; when the target moved meanwhile, builds and checks again.
 * The worktree is back on its branch afterwards (its uncommitted files archived, then restored).
 *
 * @throws MiyabiError `CHECK_FAILED` (target untouched; `details.landing`), `MERGE_CONFLICT`,
 * `CHECKOUT_DIRTY`, `COMMAND_NOT_FOUND` for a check that does not exist.
 */
export async function landWorktree(
  ctx: ManagerContext,
  id: string,
  options: LandWorktreeOptions = {},
): Promise<LandResult> {
  const record = await liveRecord(ctx, id);
  const into = options.into ?? record.baseBranch;
  if (options.into !== undefined) await assertValidBranchName(options.into, 'into', ctx.repo.root);
  if (into === record.branchName) {
    throw new MiyabiError('INVALID_ARGUMENT', `cannot land worktree ${id} into its own branch '${into}'`, {
      hint: 'Pass into: the branch that should receive the work, e.g. main.',
    });
  }
  landingCheck(ctx, record, options);
  // A task waiting to land or checking gives its slot back: the next task starts meanwhile.
  releaseSlot(ctx, id);
  // Its landing starts as it joins the queue (the wait is part of it; a batch forms of who waits).
  if (!options.checkOnly)
    ctx.telemetry.record({ type: 'merge-start', ...eventBaseOf(record, options), into });
  return joinLanding(ctx, { record, into, options }, landInTurn);
}

/** The check a landing runs; `INVALID_ARGUMENT` when there is none. */
function landingCheck(ctx: ManagerContext, record: WorktreeInfo, options: LandWorktreeOptions): CheckSpec {
  const check = resolveCheck(
    options.check ?? ctx.config.config.check,
    options.check ? 'check' : 'config check',
  );
  if (!check) {
    throw new MiyabiError('INVALID_ARGUMENT', `no check to land worktree ${record.id} with`, {
      hint: "Pass check: ['npm', 'test'] (or set check in the configuration file), or merge it unchecked with mergeWorktree(id).",
    });
  }
  return check;
}

function eventBaseOf(record: WorktreeInfo, options: LandWorktreeOptions): EventBase {
  return {
    worktreeId: record.id,
    issueNumber: record.issueNumber,
    branch: record.branchName,
    ...(options.batchId !== undefined ? { batchId: options.batchId } : {}),
  };
}

/**
 * One landing's turn: `record`'s branch, alone or (with `together`) on top of the branches ahead of
 * it in its batch, all checked in one run of the check in `record`'s worktree. With `together`, a
 * failing check is the batch's (`CHECK_FAILED` unrecorded: the caller bisects) and a branch that
 * cannot join the others is `TakenOut`.
 */
export async function landInTurn(
  ctx: ManagerContext,
  record: WorktreeInfo,
  into: string,
  waitedMs: number,
  options: LandWorktreeOptions,
  together?: Together,
  known?: KnownFailure,
): Promise<{ host: LandResult; ahead: readonly LandResult[] }> {
  const { id } = record;
  const check = landingCheck(ctx, record, options);
  const { signal } = options;
  const eventBase = eventBaseOf(record, options);
  const merge: MergeBranchOptions = {
    root: ctx.repo.root,
    source: record.branchName,
    into,
    ...(options.strategy ? { strategy: options.strategy } : {}),
    ...(options.message ? { message: options.message } : {}),
    signal,
    withLock: ctx.lock.run,
    commonDir: ctx.repo.commonDir,
    reclaimStaleLocks: () => reclaimedAny(ctx),
  };
  const git = (args: string[]) => runGit(args, { cwd: record.path, signal });
  const log = (line: string) =>
    options.logFile ? appendFile(options.logFile, `# ${line}\n`).catch(() => {}) : Promise.resolve();
  const env = { ...options.env, ...worktreeEnvironment(record, options.batchId) };
  const setupInputs = options.setupInputs ?? ctx.config.config.setupInputs ?? DEFAULT_SETUP_INPUTS;
  const setup = options.prepare?.setup ?? ctx.config.config.setup ?? [];
  const checkLog = join(ctx.repo.stateDir, 'checks', `${id}.log`);
  const started = performance.now();
  const ahead = together?.ahead ?? [];
  const aheadBases = ahead.map((member) => eventBaseOf(member.record, member.options));
  const everyBase = [...aheadBases, eventBase];
  let links: Candidate[] = [];

  let checks = 0;
  let checkMs = 0;
  let lastRun: CheckRun | undefined;
  let archiveRef: string | undefined;
  let archived: string | undefined;
  let detached = false;
  let targetBefore: string | undefined;
  let candidateCommit = '';
  const discarded = new Set<string>();
  const landing = (targetAfter: string, checkedCommit?: string): Landing => ({
    candidate: candidateCommit,
    ...(checkedCommit ? { checkedCommit } : {}),
    checks,
    targetBefore: targetBefore ?? targetAfter,
    targetAfter,
    waitedMs,
    checkMs,
    ...(lastRun
      ? {
          lastCheck: {
            ok: lastRun.ok,
            exitCode: lastRun.exitCode,
            timedOut: lastRun.timedOut,
            lastLines: lastRun.lastLines,
            checkLog: lastRun.checkLog,
          },
        }
      : {}),
    ...(archiveRef ? { archiveRef } : {}),
    ...(discarded.size > 0 ? { discarded: [...discarded] } : {}),
    ...(ahead.length > 0 && checkedCommit ? { landedTogether: ahead.length + 1 } : {}),
  });
  const checkFailed = (run: CheckRun, target: string) => {
    const why = run.timedOut ? `timed out after ${check.timeoutMs} ms` : `exit ${run.exitCode}`;
    return new MiyabiError(
      'CHECK_FAILED',
      `the check failed on top of ${into} (${why})${run.lastLines ? `: ${run.lastLines}` : ''}; log: ${checkLog}`,
      {
        hint: [
          `Fix the branch in its worktree (${record.path}), the check's output is in ${checkLog}; then land it again with `,
          { call: 'landWorktree', id },
          `. ${into} was not changed.`,
        ],
        details: {
          id,
          into,
          checkLog,
          exitCode: run.exitCode,
          timedOut: run.timedOut,
          landing: landing(target),
        },
      },
    );
  };
  // Back on its branch with its uncommitted files, whatever happened (a kept worktree is worked in).
  const restore = async () => {
    if (!detached) return;
    await runGit(['checkout', '-q', '-f', record.branchName], { cwd: record.path });
    await runGit(['clean', '-q', '-fd'], { cwd: record.path });
    if (archived)
      await runGit(['restore', `--source=${archived}`, '--worktree', '--', '.'], { cwd: record.path });
    detached = false;
  };
  try {
    // The commit the worktree's setup last ran on: its base, until a candidate runs it again.
    let setupAt: string | undefined = record.baseCommit;
    for (let round = 1; ; round++) {
      signal?.throwIfAborted();
      if (together) links = await buildChain([...ahead.map((m) => sourceOf(merge, m.record)), merge]);
      const candidate = together ? groupCandidate(links) : await buildCandidate(merge);
      targetBefore ??= candidate.target;
      candidateCommit = candidate.commit;
      if (candidate.status === 'up-to-date') {
        await restore();
        const result = mergeResult(
          id,
          record.branchName,
          into,
          merge,
          candidate.status,
          candidate.target,
          candidate.target,
          null,
          0,
        );
        recordComplete(ctx, eventBase, into, result, started);
        return { host: { merge: result, landing: landing(candidate.target) }, ahead: [] };
      }
      // A run of its batch (or a prefix of it) was on this very tree, in this worktree (it was that
      // run's last branch): that verdict is this candidate's, so it needs no run of its own.
      const reused =
        round === 1 && known && (await treeOf(ctx, candidate.commit)) === known.tree ? known.run : undefined;
      if (reused) lastRun = reused;
      if (reused && !reused.ok) throw checkFailed(reused, candidate.target);
      if (!reused) {
        if (!detached) {
          // The worktree must be clean to hold the candidate: what it has uncommitted is saved first.
          const state = await readWorktreeState(record.path, signal);
          const snapshot = await snapshotWorktree(record.path, { signal, state });
          if (snapshot) {
            const written = await writeArchive(ctx.repo.root, snapshot.tree, {
              id: record.id,
              issueNumber: record.issueNumber,
              branchName: record.branchName,
              baseBranch: record.baseBranch,
              head: snapshot.head,
              uncommittedPaths: snapshot.uncommittedPaths,
              unmergedCommits: 0,
              archivedAt: new Date().toISOString(),
            });
            archiveRef = written.ref;
            archived = written.commit;
            await log(
              `landing: ${snapshot.uncommittedPaths.length} uncommitted file(s) saved under ${written.ref} first`,
            );
          }
        }
        detached = true;
        await git(['checkout', '-q', '-f', '--detach', candidate.commit]);
        await git(['clean', '-q', '-fd']);
        const changed =
          setup.length > 0 && setupAt
            ? await changedPaths(record.path, setupAt, candidate.commit, signal)
            : [];
        if (changed.some((path) => matchesSetupInput(path, setupInputs))) {
          await log(`landing: the candidate changes a setup input; running the setup again`);
          await prepareWorktreeOf(ctx, id, {
            ...options.prepare,
            include: false,
            share: [],
            env,
            ...(signal ? { signal } : {}),
            ...(options.logFile ? { logFile: options.logFile } : {}),
            ...(options.batchId !== undefined ? { batchId: options.batchId } : {}),
          });
          setupAt = candidate.commit;
        }
        const checking = { into, commit: candidate.commit, target: candidate.target };
        for (const member of ahead) member.options.onCheck?.(checking);
        options.onCheck?.(checking);
        const { stdout: aheadText } = await runGit(
          ['rev-list', '--count', `${candidate.target}..${candidate.commit}`],
          {
            cwd: ctx.repo.root,
          },
        );
        const checkEvent = { into, candidate: candidate.commit };
        for (const base of everyBase) {
          ctx.telemetry.record({
            type: 'check-start',
            ...base,
            ...checkEvent,
            target: candidate.target,
            ahead: Number(aheadText.trim()) || 0,
            ...(ahead.length > 0 ? { together: ahead.length + 1 } : {}),
          });
        }
        checks++;
        lastRun = await runCheck(check, {
          cwd: record.path,
          env,
          checkLog,
          logFile: options.logFile,
          title: `of ${candidate.commit.slice(0, 12)} on top of ${into} (${candidate.target.slice(0, 12)})`,
          signal,
        });
        checkMs += lastRun.durationMs;
        for (const base of everyBase) {
          ctx.telemetry.record({
            type: 'check-complete',
            ...base,
            ...checkEvent,
            durationMs: lastRun.durationMs,
            ok: lastRun.ok,
            exitCode: lastRun.exitCode,
            timedOut: lastRun.timedOut,
          });
        }
        if (!lastRun.ok) {
          await restore();
          throw checkFailed(lastRun, candidate.target);
        }
        // What the check changed or committed is not what was checked: the candidate commit lands.
        const after = await readWorktreeState(record.path, signal);
        const moved = after.head !== candidate.commit;
        for (const path of after.uncommittedPaths) discarded.add(path);
        if (after.uncommittedPaths.length > 0 || moved) {
          await log(
            `landing: the check changed ${after.uncommittedPaths.length} file(s)${moved ? ' and moved HEAD' : ''}; discarded, ${candidate.commit.slice(0, 12)} (as checked) lands`,
          );
        }
      }
      if (options.checkOnly) {
        await restore();
        const result = mergeResult(
          id,
          record.branchName,
          into,
          merge,
          candidate.status,
          candidate.target,
          candidate.target,
          null,
          0,
        );
        return { host: { merge: result, landing: landing(candidate.target, candidate.commit) }, ahead: [] };
      }
      const swapped = await swapTarget(merge, candidate.target, candidate.commit);
      if (swapped.ok) {
        await restore();
        // In a batch, its own merge is the last link: onto the branch ahead of it, not the old tip.
        const from = together ? (links[links.length - 1] as Candidate).target : candidate.target;
        const changedFiles = (await changedPaths(ctx.repo.root, from, candidate.commit)).length;
        const result = mergeResult(
          id,
          record.branchName,
          into,
          merge,
          candidate.status,
          candidate.commit,
          from,
          swapped.checkout,
          changedFiles,
        );
        recordComplete(ctx, eventBase, into, result, started);
        await log(
          `landing: ${into} ${candidate.target.slice(0, 12)} -> ${candidate.commit.slice(0, 12)} (checked${ahead.length > 0 ? `, ${ahead.length + 1} branches together` : ''})`,
        );
        const landed = landing(candidate.commit, candidate.commit);
        // The branches ahead in the batch landed in the same move: each its own link of the chain.
        const aheadResults: LandResult[] = [];
        for (const [index, member] of ahead.entries()) {
          const link = links[index] as Candidate;
          const memberResult = mergeResult(
            member.record.id,
            member.record.branchName,
            into,
            merge,
            link.status,
            link.commit,
            link.target,
            swapped.checkout,
            (await changedPaths(ctx.repo.root, link.target, link.commit)).length,
          );
          recordComplete(ctx, aheadBases[index] as EventBase, into, memberResult, started);
          const { archiveRef: _host, discarded: _hostFiles, ...shared } = landed;
          aheadResults.push({ merge: memberResult, landing: { ...shared, waitedMs: member.waitedMs } });
        }
        if (options.pushTarget) {
          const { remote } = options.pushTarget;
          await pushBranch({
            cwd: ctx.repo.root,
            branch: into,
            remote,
            signal,
            withLock: ctx.lock.run,
            setUpstream: false,
          }).catch((error: unknown) => {
            // The landing stands (checked, local): only the push failed, and the caller says so.
            throw new MiyabiError(
              isMiyabiError(error) ? error.code : 'GIT_FAILED',
              `landed, but ${toError(error).message}`,
              {
                cause: error,
                ...(isMiyabiError(error) ? { hint: error.hintParts } : {}),
                details: { landed: { merge: result, landing: landed }, remote },
              },
            );
          });
          await log(`landing: pushed ${into} to ${remote}`);
        }
        return { host: { merge: result, landing: landed }, ahead: aheadResults };
      }
      await log(`landing: ${into} moved while the check ran; building the candidate again on its new tip`);
      if (round >= MAX_ROUNDS) {
        throw new MiyabiError(
          'LOCKED',
          `branch '${into}' kept moving; gave up landing after ${round} checks`,
          {
            hint: 'Something else is updating the branch continuously; land again later.',
          },
        );
      }
    }
  } catch (error) {
    await restore().catch(() => {});
    // A batch's failure is not yet anyone's: the caller bisects, and records whose it is.
    if (together) throw error;
    if (isMiyabiError(error, 'CHECK_FAILED')) {
      ctx.telemetry.record({
        type: 'error',
        ...eventBase,
        operation: 'check',
        code: error.code,
        message: error.message,
        durationMs: Math.round(performance.now() - started),
      });
      throw error;
    }
    if (isMiyabiError(error) && error.details?.landed)
      throw recordFailure(ctx, 'push', eventBase, started, error);
    throw recordFailure(ctx, 'merge', eventBase, started, error);
  }
}

function mergeResult(
  id: string,
  branchName: string,
  into: string,
  merge: MergeBranchOptions,
  status: MergeResult['status'],
  commit: string,
  previousCommit: string,
  updatedCheckout: string | null,
  changedFiles: number,
): MergeResult {
  return {
    id,
    branchName,
    into,
    strategy: merge.strategy ?? 'merge',
    status,
    commit,
    previousCommit,
    updatedCheckout,
    changedFiles,
  };
}

type EventBase = { worktreeId: string; issueNumber: number; branch: string; batchId?: string };

/** `merge` with another worktree's branch as its source (a branch ahead in a batch). */
function sourceOf(merge: MergeBranchOptions, record: WorktreeInfo): MergeBranchOptions {
  return { ...merge, source: record.branchName };
}

/** A batch's candidate: the last link of its chain, built on the target's tip the first was built on. */
function groupCandidate(links: readonly Candidate[]): Candidate {
  const first = links[0] as Candidate;
  const last = links[links.length - 1] as Candidate;
  return { ...last, target: first.target };
}

function recordComplete(
  ctx: ManagerContext,
  eventBase: EventBase,
  into: string,
  result: MergeResult,
  started: number,
): void {
  ctx.telemetry.record({
    type: 'merge-complete',
    ...eventBase,
    into,
    status: result.status,
    commit: result.commit,
    durationMs: Math.round(performance.now() - started),
  });
}
