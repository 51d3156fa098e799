import { existsSync } from 'node:fs';
import { type MergeConflict, MiyabiError } from '../errors.js';
import type { WithLock } from '../state/repo-lock.js';
import { readLooseRef } from './loose-ref.js';
import { gitStderr, lockFileInTheWay, runGit } from './run-git.js';
import { runGitAsUser } from './work-snapshot.js';
import { findCheckoutOfBranch } from './worktree-admin.js';
import { listGitWorktrees } from './worktree-list.js';

export type MergeStrategy = 'merge' | 'squash' | 'ff-only';

export interface MergeBranchOptions {
  /** Main worktree root. */
  readonly root: string;
  /** Branch to merge (short name). */
  readonly source: string;
  /**
   * The name the merge commit's message gives the branch, when `source` is a temporary ref standing
   * for it (a queue task's fetched branch). @default source
   */
  readonly sourceName?: string;
  /** Target branch (short name); must be a local branch. */
  readonly into: string;
  readonly strategy?: MergeStrategy;
  readonly message?: string;
  readonly signal?: AbortSignal | undefined;
  /** Serialises the ref move and the checkout sync with every other writer of the repository. */
  readonly withLock: WithLock;
  /** The git common dir: where the checkouts' HEADs are read without a `git worktree list`. */
  readonly commonDir?: string;
  /**
   * Under the lock: deletes the lock files killed git processes left; true when it deleted any.
   * Called once when one is in the way of the target's move.
   */
  readonly reclaimStaleLocks?: () => Promise<boolean>;
}

export interface MergeOutcome {
  readonly into: string;
  readonly source: string;
  readonly strategy: MergeStrategy;
  readonly status: 'merged' | 'fast-forwarded' | 'up-to-date';
  readonly commit: string;
  readonly previousCommit: string;
  readonly updatedCheckout: string | null;
  readonly changedFiles: number;
}

const MAX_ATTEMPTS = 8;
const OID = /^[0-9a-f]{40,64}$/;

/**
 * Merges `source` into `into` without any working tree: `merge-tree --write-tree` computes the
 * result, `commit-tree` records it, `update-ref <new> <old>` moves the target only if nobody moved
 * it meanwhile (else it recomputes). If `into` is checked out somewhere, that checkout is
 * fast-forwarded to the result by `git merge --ff-only` run in it, which refuses when local changes
 * would be overwritten — then the whole merge is refused (`CHECKOUT_DIRTY`) and nothing changes.
 * No checkout ever switches branch; a conflict (`MERGE_CONFLICT`) changes nothing anywhere.
 */
export async function mergeBranch(options: MergeBranchOptions): Promise<MergeOutcome> {
  const strategy = options.strategy ?? 'merge';
  if (!['merge', 'squash', 'ff-only'].includes(strategy)) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `strategy must be merge, squash or ff-only, got ${String(strategy)}`,
    );
  }
  if (options.source === options.into) {
    throw new MiyabiError('INVALID_ARGUMENT', `cannot merge branch '${options.source}' into itself`, {
      hint: 'Pick another target with into.',
    });
  }
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    const { target, source } = await readTips(options);
    const plan = await planMerge(options, strategy, target, source);
    if (plan.status === 'up-to-date') {
      return {
        ...base(options, strategy),
        status: 'up-to-date',
        commit: target,
        previousCommit: target,
        updatedCheckout: null,
        changedFiles: 0,
      };
    }
    // Counted while the lock is waited for and the ref moves: git's work overlaps, not adds up.
    const counting = countChangedFiles(options.root, target, plan.commit).catch(() => 0);
    const moved = await options.withLock(() => moveTarget(options, target, plan.commit));
    if (moved.ok) {
      const changedFiles = await counting;
      return {
        ...base(options, strategy),
        status: plan.status,
        commit: plan.commit,
        previousCommit: target,
        updatedCheckout: moved.checkout,
        changedFiles,
      };
    }
    // Another merge moved the target first: recompute from its new tip.
    if (attempt >= MAX_ATTEMPTS) {
      throw new MiyabiError(
        'LOCKED',
        `branch '${options.into}' kept moving; gave up after ${attempt} attempts`,
        {
          hint: 'Something else is updating the branch continuously; try again later.',
        },
      );
    }
  }
}

function base(options: MergeBranchOptions, strategy: MergeStrategy) {
  return { into: options.into, source: options.source, strategy };
}

export async function readTips(options: MergeBranchOptions): Promise<{ target: string; source: string }> {
  const refs = [`refs/heads/${options.into}`, `refs/heads/${options.source}`];
  if (options.commonDir) {
    // Both loose (the common case for branches that just moved): no git process.
    const [target, source] = await Promise.all(refs.map((ref) => readLooseRef(options.commonDir ?? '', ref)));
    if (target && source) return { target, source };
  }
  const { stdout } = await runGit(['for-each-ref', '--format=%(refname) %(objectname)', ...refs], {
    cwd: options.root,
  });
  const tips = new Map(
    stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' ') as [string, string]),
  );
  const target = tips.get(refs[0] as string);
  const source = tips.get(refs[1] as string);
  if (!target) {
    throw new MiyabiError('NOT_FOUND', `target branch '${options.into}' does not exist`, {
      hint: 'Merge into an existing local branch (git branch lists them).',
      details: { into: options.into },
    });
  }
  if (!source) {
    throw new MiyabiError('NOT_FOUND', `branch '${options.source}' does not exist`, {
      details: { branch: options.source },
    });
  }
  return { target, source };
}

export type Plan = { status: 'up-to-date' } | { status: 'merged' | 'fast-forwarded'; commit: string };

export async function planMerge(
  options: MergeBranchOptions,
  strategy: MergeStrategy,
  target: string,
  source: string,
): Promise<Plan> {
  const { root } = options;
  // One merge-base answers both questions: it is the source when the target already contains it,
  // the target when the source only adds to it (exit 1: no common history, neither).
  const found = await runGit(['merge-base', target, source], { cwd: root, okExitCodes: [0, 1] });
  const mergeBase = found.exitCode === 0 ? found.stdout.trim() : undefined;
  if (mergeBase === source) return { status: 'up-to-date' };
  const canFastForward = mergeBase === target;
  if (strategy === 'ff-only' || (strategy === 'merge' && canFastForward)) {
    if (!canFastForward) {
      throw new MiyabiError(
        'INVALID_ARGUMENT',
        `'${options.into}' has moved on; '${options.source}' cannot be fast-forwarded`,
        {
          hint: `Rebase ${options.source} onto ${options.into}, or merge with strategy 'merge'.`,
        },
      );
    }
    return { status: 'fast-forwarded', commit: source };
  }
  const tree = await mergedTree(options, target, source);
  const message =
    options.message ??
    (strategy === 'squash'
      ? `Squashed merge of branch '${options.sourceName ?? options.source}' into ${options.into}`
      : `Merge branch '${options.sourceName ?? options.source}' into ${options.into}`);
  const parents = strategy === 'squash' ? ['-p', target] : ['-p', target, '-p', source];
  const { stdout } = await runGitAsUser(['commit-tree', tree, ...parents, '-F', '-'], {
    cwd: root,
    input: `${message}\n`,
  });
  return { status: 'merged', commit: stdout.trim() };
}

/** The merged tree, or `MERGE_CONFLICT` listing the conflicted paths with git's reasons. */
async function mergedTree(options: MergeBranchOptions, target: string, source: string): Promise<string> {
  const result = await runGit(
    ['merge-tree', '--write-tree', '--name-only', '--messages', '-z', target, source],
    {
      cwd: options.root,
      okExitCodes: [0, 1],
      signal: options.signal,
    },
  );
  const tokens = result.stdout.split('\0');
  const tree = tokens[0] ?? '';
  if (!OID.test(tree)) {
    // git 2.39 exits 1 with no tree for a bad ref: that is a failure, not a conflict.
    throw new MiyabiError('GIT_FAILED', `git merge-tree failed: ${result.stderr.trim() || 'no result'}`);
  }
  if (result.exitCode === 0) return tree;
  throw new MiyabiError('MERGE_CONFLICT', `merging '${options.source}' into '${options.into}' conflicts`, {
    conflicts: parseConflicts(tokens.slice(1)),
    hint: `Merge ${options.into} into ${options.source} in its worktree, resolve, commit, then merge again. Nothing was changed.`,
    details: { branch: options.source, into: options.into },
  });
}

/** Parses merge-tree's `-z` sections after the tree: paths, an empty token, then message groups. */
export function parseConflicts(tokens: readonly string[]): MergeConflict[] {
  const end = tokens.indexOf('');
  const paths = [...new Set(tokens.slice(0, end === -1 ? tokens.length : end))];
  const info = new Map<string, { type?: string; message?: string }>();
  let i = end + 1;
  while (end !== -1 && i < tokens.length) {
    const count = Number(tokens[i]);
    if (!Number.isInteger(count) || count < 0) break;
    const groupPaths = tokens.slice(i + 1, i + 1 + count);
    const type = tokens[i + 1 + count] ?? '';
    const message = (tokens[i + 2 + count] ?? '').trim();
    i += count + 3;
    const kind = /^CONFLICT \(([^)]+)\)/.exec(type)?.[1];
    if (!kind) continue;
    for (const path of groupPaths) if (!info.has(path)) info.set(path, { type: kind, message });
  }
  return paths.map((path) => ({ path, ...info.get(path) }));
}

/**
 * Under the lock: moves the target from `old` to `next`. Not checked out anywhere: `update-ref`
 * with compare-and-swap. Checked out: one `git merge --ff-only` in that checkout, which refreshes
 * its index, refuses when local changes would be overwritten, and updates files and ref in one
 * process, so that even if we are killed midway the checkout and its branch end up consistent.
 * Returns ok: false if the ref moved.
 */
export async function moveTarget(
  options: MergeBranchOptions,
  old: string,
  next: string,
): Promise<{ ok: true; checkout: string | null } | { ok: false }> {
  const ref = `refs/heads/${options.into}`;
  const checkout = await findCheckout(options, ref);
  if (checkout && existsSync(checkout)) {
    // `merge --ff-only` compares with nothing: the target must still be where the plan started.
    const { tip, indexLock, busy } = await inspectCheckout(checkout, ref);
    if (tip !== old) return { ok: false };
    refuseBusy(checkout, options.into, busy);
    await fastForwardCheckout(
      options,
      checkout,
      next,
      repairAdvice(checkout, options.into, old, next, indexLock),
    );
    const { stdout: moved } = await runGit(['rev-parse', ref], { cwd: options.root });
    return moved.trim() === next ? { ok: true, checkout } : { ok: false };
  }
  // Not checked out: the compare-and-swap of update-ref is the only check needed.
  const update = () =>
    runGit(['update-ref', '-m', `miyabi-worktree: merge ${options.source}`, ref, next, old], {
      cwd: options.root,
    });
  try {
    await update().catch(async (error: unknown) => {
      // A lock file a killed git left (kill -9, a reboot) is no move of the target: gone if stale, then once more.
      if (!lockFileInTheWay(gitStderr(error)) || !(await options.reclaimStaleLocks?.())) throw error;
      await update();
    });
  } catch (error) {
    // Still in the way: git's error, whose hint says how the lock file goes (not "the target moved").
    if (lockFileInTheWay(gitStderr(error))) throw error;
    if (/cannot lock ref|but expected/i.test(gitStderr(error))) return { ok: false };
    throw error;
  }
  return { ok: true, checkout: null };
}

/** The folder of the checkout that has `ref` checked out, if any. */
async function findCheckout(options: MergeBranchOptions, ref: string): Promise<string | undefined> {
  if (options.commonDir) return findCheckoutOfBranch(options.root, options.commonDir, ref);
  const entry = (await listGitWorktrees(options.root)).find((e) => e.branch === ref && !e.bare);
  return entry?.path;
}

/**
 * `git merge --ff-only <next>` in the user's checkout, with nothing of theirs that could make it
 * more than a fast-forward (no autostash, no hooks, no signature policy, no auto gc). A branch
 * that moved so that `next` no longer fast-forwards it is left to the caller's retry.
 */
async function fastForwardCheckout(
  options: MergeBranchOptions,
  checkoutPath: string,
  next: string,
  repair: string,
): Promise<void> {
  const args = [
    '-c',
    'core.hooksPath=/dev/null',
    '-c',
    'gc.auto=0',
    'merge',
    '--ff-only',
    '--no-autostash',
    '--no-verify-signatures',
    '--no-stat',
    '--quiet',
    next,
  ];
  try {
    await runGit(args, {
      cwd: checkoutPath,
      env: { GIT_REFLOG_ACTION: `miyabi-worktree: merge ${options.source}` },
      // The user's checkout: a forced exit lets this finish rather than leave it half-updated.
      protectedCheckout: { path: checkoutPath, repair },
    });
  } catch (error) {
    const stderr = gitStderr(error);
    if (/Not possible to fast-forward/i.test(stderr)) return;
    if (/would be overwritten by merge|untracked working tree files would be/i.test(stderr)) {
      const paths = pathsFromReadTree(stderr);
      const named =
        paths.length > 0 ? ` (${paths.slice(0, 5).join(', ')}${paths.length > 5 ? ', …' : ''})` : '';
      throw new MiyabiError(
        'CHECKOUT_DIRTY',
        `the checkout of '${options.into}' at ${checkoutPath} has local changes the merge would overwrite${named}`,
        {
          cause: error,
          hint: `Commit or stash them in ${checkoutPath}, then merge again. Nothing was changed.`,
          details: { checkout: checkoutPath, paths },
        },
      );
    }
    throw error;
  }
}

/**
 * From one `rev-parse`: the tip of `ref`, the path of the checkout's index lock (for the repair
 * advice), and the marker of a merge, rebase, cherry-pick or revert under way there, if any.
 */
async function inspectCheckout(
  checkoutPath: string,
  ref: string,
): Promise<{ tip: string; indexLock: string; busy: string | undefined }> {
  const markers = ['MERGE_HEAD', 'rebase-merge', 'rebase-apply', 'CHERRY_PICK_HEAD', 'REVERT_HEAD'];
  const { stdout } = await runGit(
    [
      'rev-parse',
      ref,
      '--path-format=absolute',
      ...[...markers, 'index.lock'].flatMap((m) => ['--git-path', m]),
    ],
    {
      cwd: checkoutPath,
    },
  );
  const [tip = '', ...paths] = stdout.split('\n').filter(Boolean);
  const indexLock = paths.pop() ?? `${checkoutPath}/.git/index.lock`;
  return { tip, indexLock, busy: paths.find((path) => existsSync(path)) };
}

/** A checkout in the middle of a merge, rebase, cherry-pick or revert must not be moved. */
function refuseBusy(checkoutPath: string, branch: string, busy: string | undefined): void {
  if (busy) {
    throw new MiyabiError(
      'CHECKOUT_BUSY',
      `the checkout of '${branch}' at ${checkoutPath} is in the middle of an operation (${busy.split('/').pop()})`,
      {
        hint: `Finish or abort it in ${checkoutPath} (git merge --abort / git rebase --abort), then merge again.`,
        details: { checkout: checkoutPath },
      },
    );
  }
}

/**
 * How to finish a fast-forward of the user's checkout that was killed midway (its files partly at
 * `next`, index and branch at `old`). `git merge --ff-only` had refused to start if any file it
 * changes held local changes, so those files hold only its partial writes: restoring exactly them
 * to `next` finishes the update and keeps the user's other changes (a `reset --hard` would not).
 */
function repairAdvice(
  checkoutPath: string,
  branch: string,
  old: string,
  next: string,
  indexLock: string,
): string {
  const git = `git -C ${shellQuote(checkoutPath)}`;
  return [
    'Its own changes are untouched. To finish the update (once no git process runs there):',
    `  rm -f ${shellQuote(indexLock)}`,
    `  ${git} update-ref ${shellQuote(`refs/heads/${branch}`)} ${next} ${old}`,
    `  ${git} diff-tree -r --name-only -z ${old} ${next} | ${git} restore --source=${next} --staged --worktree --pathspec-from-file=- --pathspec-file-nul`,
  ].join('\n');
}

/** One POSIX shell word, for commands printed for the user to paste. */
function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

function pathsFromReadTree(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((line) => /^\s/.test(line))
    .map((line) => line.trim())
    .filter(Boolean);
}

export async function countChangedFiles(root: string, from: string, to: string): Promise<number> {
  const { stdout } = await runGit(['diff-tree', '-r', '--name-only', '--no-commit-id', '-z', from, to], {
    cwd: root,
  });
  return stdout.split('\0').filter(Boolean).length;
}
