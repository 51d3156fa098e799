import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runGit } from './run-git.js';
import type { WorktreeState } from './work-snapshot.js';
import { worktreeAdminDir } from './worktree-admin.js';

/**
 * True when a worktree is a checkout that was killed midway (`worktree add --no-checkout` done,
 * `reset --hard` interrupted) and holds nothing but part of HEAD: git writes a worktree's index
 * only when the checkout ends, so it has none, and measured against HEAD itself (a scratch index
 * read from HEAD's tree) every difference is a file not written yet — nothing new, nothing changed.
 * Its "uncommitted changes" (every HEAD file a staged deletion, those written also untracked) are
 * then no work, as is a file the kill cut short (empty, or a prefix of HEAD's content). Anything
 * else — an index, a new or edited file — is left to be archived as work.
 */
export async function isInterruptedCheckout(
  worktreePath: string,
  state: WorktreeState,
  signal?: AbortSignal,
): Promise<boolean> {
  if (state.head === undefined || state.uncommittedPaths.length === 0) return false;
  const adminDir = await worktreeAdminDir(worktreePath);
  if (adminDir === undefined || existsSync(join(adminDir, 'index'))) return false;
  const temp = await mkdtemp(join(tmpdir(), 'miyabi-checkout-'));
  try {
    const env = { GIT_INDEX_FILE: join(temp, 'index') };
    await runGit(['read-tree', state.head], { cwd: worktreePath, env, signal });
    const { stdout } = await runGit(
      ['status', '--porcelain=v2', '-z', '--untracked-files=all', '--no-renames', '--ignore-submodules=none'],
      { cwd: worktreePath, env, signal },
    );
    // `1 .D`: a tracked file not written yet. A written file equal to HEAD's is not listed at all.
    // `1 .M`: at most a few files being written when the kill came, cut short (empty, or a prefix
    // of HEAD's content). Anything else — another change, a new file (`?`) — is work.
    const records = stdout.split('\0').filter((record) => record !== '');
    const cutShort = records.filter((record) => !record.startsWith('1 .D '));
    if (cutShort.length > MAX_FILES_BEING_WRITTEN) return false;
    for (const record of cutShort) {
      if (!(await isCutShort(worktreePath, record, signal))) return false;
    }
    return true;
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

// git writes one file at a time (more with checkout.workers): more cut-short files is no kill.
const MAX_FILES_BEING_WRITTEN = 64;

/** A `1 .M` record of a regular file whose content on disk is a prefix of HEAD's (a write cut short). */
async function isCutShort(worktreePath: string, record: string, signal?: AbortSignal): Promise<boolean> {
  // `1 .M <sub> <mH> <mI> <mW> <hH> <hI> <path>`
  const [kind, xy, , modeHead, , modeWorktree, blob, , ...rest] = record.split(' ');
  const path = rest.join(' ');
  if (
    kind !== '1' ||
    xy !== '.M' ||
    !blob ||
    modeHead !== modeWorktree ||
    (modeHead !== '100644' && modeHead !== '100755')
  ) {
    return false;
  }
  const written = await readFile(join(worktreePath, path), 'utf8').catch(() => undefined);
  if (written === undefined) return false;
  const { stdout: original } = await runGit(['cat-file', 'blob', blob], { cwd: worktreePath, signal });
  // Compared as text, so only valid UTF-8 on both sides (decoding is then one-to-one): a binary
  // or cut-mid-character file is taken for work, which is the safe side.
  if (written.includes('\uFFFD') || original.includes('\uFFFD')) return false;
  return written.length < original.length && original.startsWith(written);
}
