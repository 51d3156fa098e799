import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MiyabiError } from '../errors.js';
import { runGit } from '../git/run-git.js';
import { identityEnv } from '../git/work-snapshot.js';
import type { ManagerContext } from './context.js';
import { liveRecord } from './merge-push.js';
import { assertLocalBranch } from './verify-targets.js';

/** What merging the target into a worktree's own branch found. */
export interface ConflictCheckout {
  readonly id: string;
  /** The worktree, where the merge happened (never the user's checkout). */
  readonly path: string;
  readonly branchName: string;
  /** The branch merged into the worktree (and later merged back into). */
  readonly into: string;
  /**
   * `already-merged`: the target contains the branch, nothing to do; `clean`: the target merged in
   * without conflict and is committed; `conflicted`: the merge is left in progress in the worktree.
   */
  readonly status: 'already-merged' | 'clean' | 'conflicted';
  /** Conflicting paths, relative to the worktree (empty unless `conflicted`). */
  readonly conflicts: readonly string[];
  /** A file listing `conflicts`, one per line (what `MIYABI_CONFLICTS` names). */
  readonly conflictsFile: string;
}

export interface ConflictOptions {
  /** The branch to merge in and later back into. @default the worktree's base branch */
  readonly into?: string;
  readonly signal?: AbortSignal;
}

// No user hooks or auto-gc in a merge the tool starts.
const QUIET = ['-c', 'core.hooksPath=/dev/null', '-c', 'gc.auto=0'];
const MARKER = /^(?:<{7}|>{7})(?: |$)|^={7}$/m;

/**
 * Merges the target branch into the worktree's own branch, in the worktree (ours: conflict markers
 * may appear there, never in the user's checkout). A merge left in progress by an earlier attempt is
 * aborted first. See {@link ConflictCheckout} for the outcomes.
 *
 * @throws MiyabiError `WORKTREE_DIRTY` when uncommitted changes would be overwritten, `INVALID_ARGUMENT`
 * for a target that is no local branch, `NOT_FOUND` for an unknown id.
 */
export async function mergeTargetIntoWorktree(
  ctx: ManagerContext,
  id: string,
  options: ConflictOptions = {},
): Promise<ConflictCheckout> {
  const record = await liveRecord(ctx, id);
  const into = options.into ?? record.baseBranch;
  await assertLocalBranch(ctx.repo.root, into, 'into', options.signal);
  const { signal } = options;
  const git = (args: string[], okExitCodes = [0]) => runGit(args, { cwd: record.path, signal, okExitCodes });
  const conflictsFile = join(ctx.repo.stateDir, 'conflicts', `${id}.txt`);
  const result = (status: ConflictCheckout['status'], conflicts: readonly string[]): ConflictCheckout => ({
    id,
    path: record.path,
    branchName: record.branchName,
    into,
    status,
    conflicts,
    conflictsFile,
  });
  if ((await git(['rev-parse', '-q', '--verify', 'MERGE_HEAD'], [0, 1])).exitCode === 0) {
    await git(['merge', '--abort']);
  }
  const contained = await git(['merge-base', '--is-ancestor', 'HEAD', `refs/heads/${into}`], [0, 1]);
  await writeConflictsFile(conflictsFile, []);
  if (contained.exitCode === 0) return result('already-merged', []);
  const merged = await runGit(
    [
      ...QUIET,
      'merge',
      '--no-ff',
      '--no-edit',
      '-m',
      `Merge ${into} into ${record.branchName}`,
      `refs/heads/${into}`,
    ],
    { cwd: record.path, signal, okExitCodes: [0, 1, 128], env: await identityEnv(record.path) },
  );
  if (merged.exitCode === 0) return result('clean', []);
  const unmerged = await git(['diff', '--name-only', '--diff-filter=U', '-z']);
  const conflicts = unmerged.stdout.split('\0').filter((path) => path !== '');
  if (merged.exitCode !== 1 || conflicts.length === 0) {
    throw new MiyabiError(
      'WORKTREE_DIRTY',
      `cannot merge ${into} into worktree ${id}: ${firstLine(merged.stderr)}`,
      {
        hint: 'Commit or discard the uncommitted changes in the worktree, then try again.',
        details: { id, path: record.path, stderr: merged.stderr },
      },
    );
  }
  await writeConflictsFile(conflictsFile, conflicts);
  return result('conflicted', conflicts);
}

/**
 * Checks that a resolution is complete: the merge committed (no `MERGE_HEAD`) and no conflict
 * markers left in the files that conflicted.
 *
 * @throws MiyabiError `CONFLICT_UNRESOLVED` naming what is left.
 */
export async function verifyResolution(
  ctx: ManagerContext,
  id: string,
  options: { readonly conflicts: readonly string[]; readonly signal?: AbortSignal },
): Promise<void> {
  const record = await liveRecord(ctx, id);
  const withMarkers: string[] = [];
  for (const path of options.conflicts) {
    const text = await readFile(join(record.path, path), 'utf8').catch(() => '');
    if (MARKER.test(text)) withMarkers.push(path);
  }
  if (withMarkers.length > 0) {
    throw new MiyabiError('CONFLICT_UNRESOLVED', `conflict markers remain in ${withMarkers.join(', ')}`, {
      hint: 'Edit those files to the intended content, then git add -A && git commit --no-edit.',
      details: { id, files: withMarkers },
    });
  }
  const pending = await runGit(['rev-parse', '-q', '--verify', 'MERGE_HEAD'], {
    cwd: record.path,
    signal: options.signal,
    okExitCodes: [0, 1],
  });
  if (pending.exitCode === 0) {
    throw new MiyabiError(
      'CONFLICT_UNRESOLVED',
      `the merge in worktree ${id} is resolved but not committed`,
      {
        hint: 'Commit the resolution: git add -A && git commit --no-edit.',
        details: { id, files: options.conflicts },
      },
    );
  }
}

async function writeConflictsFile(file: string, conflicts: readonly string[]): Promise<void> {
  await mkdir(join(file, '..'), { recursive: true });
  await writeFile(file, conflicts.map((path) => `${path}\n`).join(''), { mode: 0o644 });
}

function firstLine(text: string): string {
  return text.split('\n').find((line) => line.trim() !== '') ?? 'git merge failed';
}
