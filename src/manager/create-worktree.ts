import { mkdir, readFile, rm, rmdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { expandBranchPattern } from '../config/config-types.js';
import type { CreateWorktreeOptions, StaleBranch, WorktreeInfo } from '../core/types.js';
import { MiyabiError, toError } from '../errors.js';
import { type BaseBranchRef, baseAtTip } from '../git/base-tip.js';
import { explainDiskFull } from '../git/disk-full.js';
import { assertValidBranchName, type BaseRef, resolveBaseBranch } from '../git/repository.js';
import { gitStderr, isTransientGitError, lockFileInTheWay, runGit } from '../git/run-git.js';
import { writeArchive } from '../git/work-snapshot.js';
import { ownLockReason, readIndexHeaderCount, SMALL_TREE_FILES } from '../git/worktree-admin.js';
import { listGitWorktrees } from '../git/worktree-list.js';
import { safeLog } from '../log.js';
import { WORKTREE_ID_VAR } from '../process/task-processes.js';
import { ensureExcluded } from '../state/info-exclude.js';
import { currentOwner } from '../state/owner.js';
import { type ManagerContext, releaseSlot, sayWorktreeDirNotes } from './context.js';
import { allocatePorts } from './port-blocks.js';
import { claimIdleWorktree } from './reuse-worktree.js';
import { reclaimStaleLocks } from './stale-locks.js';
import { assertIssueNumber } from './validate.js';
import { newSlotName, newWorktreeId } from './worktree-id.js';

const MAX_ATTEMPTS = 4;

/** Says at once that a create waits, and for which worktrees: a silent wait looks like a hang. */
function announceSlotWait(
  ctx: ManagerContext,
  id: string,
  issueNumber: number,
  batchId: string | undefined,
): void {
  const heldBy = [...ctx.heldSlots.keys()];
  ctx.telemetry.record({
    type: 'slot-wait',
    worktreeId: id,
    issueNumber,
    heldBy,
    ...(batchId !== undefined ? { batchId } : {}),
  });
  safeLog(
    ctx.logger,
    'warn',
    { worktreeId: id, issueNumber, maxConcurrency: ctx.slots.capacity, heldBy },
    `create waits for a free slot: ${ctx.slots.capacity} active worktree(s) held (${heldBy.join(', ') || 'creates in flight'}); one must leave 'active' (updateStatus, removeWorktree) first`,
  );
}

/**
 * Creates a worktree for an issue: the metadata step (`worktree add --no-checkout`, branch without
 * upstream, registry record) under the repository lock, the checkout itself in parallel outside it.
 * A failure or abort at any point undoes what this call made (folder, admin entry, branch, record).
 */
export async function createWorktree(
  ctx: ManagerContext,
  issueNumber: number,
  options: CreateWorktreeOptions = {},
): Promise<WorktreeInfo> {
  assertIssueNumber(issueNumber);
  const { signal } = options;
  const branchName = options.branchName ?? expandBranchPattern(ctx.branchPattern, issueNumber);
  if (options.branchName !== undefined)
    await assertValidBranchName(options.branchName, 'branchName', ctx.repo.root);
  // Only which branch: its commit is read when the task starts (after any wait for a slot).
  const base: BaseBranchRef =
    options.baseBranch === undefined
      ? ctx.defaultBase
      : await resolveBaseBranch(ctx.repo.root, options.baseBranch);

  const id = newWorktreeId(issueNumber);
  if (ctx.slots.available === 0) announceSlotWait(ctx, id, issueNumber, options.batchId);
  const release = await ctx.slots.acquire(signal);
  // A reusable worktree's folder claims no issue: it keeps its name for the tasks that follow.
  const slot = options.reuse ? newSlotName() : undefined;
  const path = join(ctx.worktreeDir, slot ?? id);
  const started = performance.now();
  const eventBase = {
    worktreeId: id,
    issueNumber,
    branch: branchName,
    ...(options.batchId ? { batchId: options.batchId } : {}),
  };
  ctx.telemetry.record({ type: 'create-start', ...eventBase });
  let registered: { createdBranch: boolean; baseCommit: string } | undefined;
  try {
    signal?.throwIfAborted();
    if (options.reuse) {
      const keepPaths = options.keepPaths ?? ctx.config.config.keepPaths;
      const claimed = await claimIdleWorktree(ctx, {
        id,
        issueNumber,
        branchName,
        base,
        keepPaths,
        signal,
        // The same policy as a fresh create for a branch an earlier run left (under the lock).
        inspectExistingBranch: (startBase) =>
          inspectExistingBranch(ctx, {
            issueNumber,
            branchName,
            base: startBase,
            restartStale: options.existingBranch === 'restart',
          }),
      });
      if (claimed) {
        ctx.heldSlots.set(id, release);
        ctx.telemetry.record({
          type: 'create-complete',
          ...eventBase,
          path: claimed.path,
          durationMs: Math.round(performance.now() - started),
        });
        return claimed;
      }
    }
    let info: WorktreeInfo;
    const checkoutInLock = await isSmallPlainTree(ctx);
    ({ info, registered } = await ctx.lock.run(() =>
      addWorktree(ctx, {
        checkoutInLock,
        id,
        path,
        issueNumber,
        branchName,
        base,
        restartStale: options.existingBranch === 'restart',
        ...(slot ? { slot } : {}),
      }),
    ));
    // The slow part: populating files. Each worktree has its own index, so this runs in parallel.
    // Tagged like a task's processes: if this process dies, removal finds and stops the checkout.
    if (!checkoutInLock) {
      await runGit(['reset', '--hard', '--quiet'], {
        cwd: path,
        signal,
        timeoutMs: 30 * 60_000,
        env: { [WORKTREE_ID_VAR]: id },
      });
    }
    signal?.throwIfAborted();
    ctx.heldSlots.set(id, release);
    ctx.telemetry.record({
      type: 'create-complete',
      ...eventBase,
      path,
      durationMs: Math.round(performance.now() - started),
    });
    return info;
  } catch (caught) {
    // Before the rollback frees the space again: a full disk is said as such.
    const error = await explainDiskFull(caught, ctx.worktreeDir);
    release();
    releaseSlot(ctx, id);
    if (registered) {
      await rollback(ctx, {
        id,
        path,
        branchName,
        createdAt: registered.createdBranch ? registered.baseCommit : null,
      });
    }
    const failure =
      signal?.aborted && !(error instanceof MiyabiError && error.code === 'CANCELLED')
        ? new MiyabiError('CANCELLED', `creating the worktree for issue ${issueNumber} was aborted`, {
            cause: signal.reason,
            hint: 'Nothing was left behind.',
          })
        : toError(error);
    ctx.telemetry.record({
      type: 'error',
      ...eventBase,
      operation: 'create',
      message: failure.message,
      ...(failure instanceof MiyabiError ? { code: failure.code } : {}),
      durationMs: Math.round(performance.now() - started),
    });
    throw failure;
  }
}

interface AddPlan {
  readonly id: string;
  readonly path: string;
  readonly issueNumber: number;
  readonly branchName: string;
  /** Its commit is read under the lock, right before `worktree add`: the tip when the task starts. */
  readonly base: BaseBranchRef;
  /** Set for a reusable worktree: its folder name. */
  readonly slot?: string;
  /** Archive an existing branch's own commits and start it from the base. */
  readonly restartStale: boolean;
  /** Write the files in `worktree add` itself (a small tree): one git process fewer. */
  readonly checkoutInLock?: boolean;
}

/**
 * A tree small enough to check out under the lock (the main index holds fewer than
 * {@link SMALL_TREE_FILES} entries) and without LFS, whose smudge may fetch over the network.
 */
async function isSmallPlainTree(ctx: ManagerContext): Promise<boolean> {
  const files = await readIndexHeaderCount(join(ctx.repo.commonDir, 'index'));
  if (files === undefined || files >= SMALL_TREE_FILES) return false;
  const attributes = await readFile(join(ctx.repo.root, '.gitattributes'), 'utf8').catch(() => '');
  return !attributes.includes('filter=lfs');
}

/** The serialised metadata step; runs under the repository lock. */
async function addWorktree(
  ctx: ManagerContext,
  plan: AddPlan,
): Promise<{ info: WorktreeInfo; registered: { createdBranch: boolean; baseCommit: string } }> {
  const { root } = ctx.repo;
  // The sha, not the ref, goes to git: the commit recorded is exactly the one the worktree starts at.
  const base = await baseAtTip(ctx.repo, plan.base);
  // The first folder this call had to create: a failed add removes it again, leaving no trace.
  const createdDir = await mkdir(ctx.worktreeDir, { recursive: true });
  const undo = async (branchWasNew: boolean) => {
    await undoFailedAdd(ctx, plan.path, branchWasNew ? { ...plan, base } : undefined);
    if (createdDir) await removeEmptyFolders(ctx.worktreeDir, createdDir);
  };
  // Try a new branch first (the common case: one git call); an existing branch is then reused.
  let reusedBranch = false;
  let staleBranch: StaleBranch | undefined;
  const owner = currentOwner();
  // Locked with our pid from birth, so that `git worktree prune` by anyone leaves it alone.
  // A checkout in `worktree add` runs the post-checkout hook, which `reset --hard` never ran: none here.
  const add = (createdBranch: boolean) => [
    ...(plan.checkoutInLock ? ['-c', 'core.hooksPath=/dev/null', 'worktree', 'add'] : ['worktree', 'add']),
    ...(plan.checkoutInLock ? [] : ['--no-checkout']),
    ...['--quiet', '--lock'],
    ...['--reason', ownLockReason(owner, { createdBranch })],
  ];
  for (let attempt = 1; ; attempt++) {
    const args = reusedBranch
      ? [...add(false), plan.path, plan.branchName]
      : [...add(true), '--no-track', '-b', plan.branchName, plan.path, base.commit];
    try {
      await runGit(args, {
        cwd: root,
        env: { GIT_LFS_SKIP_SMUDGE: '1', [WORKTREE_ID_VAR]: plan.id },
        ...(plan.checkoutInLock ? { timeoutMs: 30 * 60_000 } : {}),
      });
      break;
    } catch (caught) {
      // Before the undo frees the space again: a full disk is said as such (the checkout writes here).
      const error = await explainDiskFull(caught, ctx.worktreeDir);
      if (!reusedBranch && /a branch named .* already exists/i.test(gitStderr(error))) {
        // Nothing was created: git refuses -b before it touches anything.
        reusedBranch = true;
        staleBranch = await inspectExistingBranch(ctx, { ...plan, base });
        continue;
      }
      await undo(!reusedBranch);
      if (isBranchInUse(error)) throw await branchInUse(ctx, plan.branchName, error);
      if (!isTransientGitError(error) || attempt >= MAX_ATTEMPTS) throw error;
      // A lock file that outlives a retry may be one a killed git left: deleted only when it is old
      // and no git process runs in the repository (else the next attempt meets it again).
      if (attempt === 2 && lockFileInTheWay(gitStderr(error)))
        await reclaimStaleLocks(ctx, { dryRun: false });
      // Lock contention from a git process outside this tool: back off and try again.
      await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** attempt + Math.random() * 25));
    }
  }
  const now = new Date().toISOString();
  let info: WorktreeInfo = {
    id: plan.id,
    issueNumber: plan.issueNumber,
    path: plan.path,
    branchName: plan.branchName,
    baseBranch: base.name,
    baseCommit: base.commit,
    reusedBranch,
    ...(staleBranch ? { staleBranch } : {}),
    createdAt: now,
    worktreeDir: ctx.worktreeDir,
    ...(plan.slot ? { slot: plan.slot } : {}),
    updatedAt: now,
    status: 'active',
    owner,
  };
  try {
    // Only once a worktree exists: a create that fails leaves info/exclude as it was.
    if (!ctx.excludeChecked) {
      await ensureExcluded(root, ctx.repo.commonDir, ctx.worktreeDir);
      ctx.excludeChecked = true;
    }
    sayWorktreeDirNotes(ctx);
    const ports = await allocatePorts(ctx, await ctx.registry.read());
    if (ports) info = { ...info, ports };
    await ctx.registry.mutate((records) => [...records.filter((r) => r.id !== info.id), info]);
  } catch (error) {
    await undo(!reusedBranch);
    throw error;
  }
  return { info, registered: { createdBranch: !reusedBranch, baseCommit: base.commit } };
}

/**
 * An existing branch's commits that the base lacks; with `restartStale`, its tip is archived (a
 * restorable archive of a new id) and the branch moved to the base by compare-and-swap, all under
 * the repository lock this runs in. A branch checked out elsewhere is left alone (git refuses it next).
 */
async function inspectExistingBranch(
  ctx: ManagerContext,
  plan: Pick<AddPlan, 'issueNumber' | 'branchName' | 'restartStale'> & { readonly base: BaseRef },
): Promise<StaleBranch | undefined> {
  const { root } = ctx.repo;
  const ref = `refs/heads/${plan.branchName}`;
  const tip = (await runGit(['rev-parse', '--verify', `${ref}^{commit}`], { cwd: root })).stdout.trim();
  const counted = await runGit(['rev-list', '--count', tip, '--not', plan.base.commit], { cwd: root });
  const unmergedCommits = Number(counted.stdout.trim());
  if (unmergedCommits === 0) return undefined;
  if (!plan.restartStale) return { unmergedCommits };
  const inUse = (await listGitWorktrees(root)).some((entry) => entry.branch === ref);
  if (inUse) return { unmergedCommits };
  const archive = await writeArchive(root, `${tip}^{tree}`, {
    id: newWorktreeId(plan.issueNumber),
    issueNumber: plan.issueNumber,
    branchName: plan.branchName,
    baseBranch: plan.base.name,
    head: tip,
    uncommittedPaths: [],
    unmergedCommits,
    archivedAt: new Date().toISOString(),
  });
  await runGit(['update-ref', '-m', 'miyabi-worktree: restart stale branch', ref, plan.base.commit, tip], {
    cwd: root,
  });
  safeLog(
    ctx.logger,
    'info',
    { branch: plan.branchName, unmergedCommits, archiveRef: archive.ref },
    'existing branch archived and restarted from the base',
  );
  return { unmergedCommits, archiveRef: archive.ref };
}

/** `BRANCH_IN_USE` naming the worktree (its id when it is one of ours, and its path) that holds the branch. */
async function branchInUse(ctx: ManagerContext, branchName: string, cause: unknown): Promise<MiyabiError> {
  const entries = await listGitWorktrees(ctx.repo.root).catch(() => []);
  const holder = entries.find((entry) => entry.branch === `refs/heads/${branchName}`);
  const path = holder?.path ?? /already checked out at '([^']+)'/.exec(gitStderr(cause))?.[1];
  const ours = path !== undefined && dirname(path) === ctx.worktreeDir;
  const id = ours ? basename(path) : undefined;
  const where =
    path === undefined
      ? 'another worktree'
      : holder?.isMain
        ? `the main worktree (${path})`
        : id
          ? `worktree ${id} (${path})`
          : `a worktree not created by miyabi-worktree (${path})`;
  return new MiyabiError('BRANCH_IN_USE', `branch '${branchName}' is already checked out in ${where}`, {
    cause,
    hint: id
      ? `Remove that worktree first (miyabi-worktree remove ${id}), or pick another branch.`
      : 'Switch that checkout to another branch, or pick another branch name.',
    details: { branchName, ...(path ? { worktreePath: path } : {}), ...(id ? { worktreeId: id } : {}) },
  });
}

function isBranchInUse(error: unknown): boolean {
  return /is already (checked out|used by worktree)|already checked out at/i.test(gitStderr(error));
}

/** Undoes a failed `worktree add`: its admin entry, its folder, and the branch if it made one (`created`). */
async function undoFailedAdd(
  ctx: ManagerContext,
  path: string,
  created: { readonly branchName: string; readonly base: BaseRef } | undefined,
): Promise<void> {
  const { root } = ctx.repo;
  await runGit(['worktree', 'remove', '--force', '--force', path], { cwd: root }).catch(() => {});
  await rm(path, { recursive: true, force: true }).catch(() => {});
  if (created) await deleteBranchIfAt(root, created.branchName, created.base.commit);
}

/** Removes `dir` and its parents up to `top` while they are empty (folders a failed create made). */
async function removeEmptyFolders(dir: string, top: string): Promise<void> {
  for (let current = dir; ; current = dirname(current)) {
    if (
      !(await rmdir(current).then(
        () => true,
        () => false,
      ))
    )
      return;
    if (current === top || dirname(current) === current) return;
  }
}

/** Deletes a branch this call created, only while it still points where we made it (compare-and-swap). */
async function deleteBranchIfAt(root: string, branchName: string, commit: string): Promise<void> {
  await runGit(['update-ref', '-d', `refs/heads/${branchName}`, commit], { cwd: root }).catch(() => {});
}

/** Removes a half-created worktree after a failed or aborted checkout. */
async function rollback(
  ctx: ManagerContext,
  target: { id: string; path: string; branchName: string; createdAt: string | null },
): Promise<void> {
  try {
    await ctx.lock.run(async () => {
      const { root } = ctx.repo;
      await runGit(['worktree', 'remove', '--force', '--force', target.path], { cwd: root }).catch(() => {});
      await rm(target.path, { recursive: true, force: true });
      if (target.createdAt) await deleteBranchIfAt(root, target.branchName, target.createdAt);
      await ctx.registry.mutate((records) => records.filter((r) => r.id !== target.id));
    });
  } catch (error) {
    safeLog(
      ctx.logger,
      'error',
      { worktreeId: target.id, err: String(error) },
      'rollback of a failed create failed',
    );
  }
}
