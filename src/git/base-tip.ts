import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MiyabiError } from '../errors.js';
import type { BaseRef } from './repository.js';
import { runGit } from './run-git.js';

/**
 * A base branch as a manager keeps it: which ref, never a commit. The commit is read when a task
 * starts ({@link baseAtTip}), so a merge that moved the branch meanwhile is part of the next task's base.
 */
export type BaseBranchRef = Pick<BaseRef, 'name' | 'ref' | 'source'>;

const SHA = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

/**
 * `base` with the commit its ref points at now. Read from git's ref files (the loose ref, then
 * `packed-refs`) without a process, as each create does it under the repository lock; falls back
 * to `git rev-parse` where refs are kept otherwise (reftable, a symbolic ref). `NOT_FOUND` when the
 * branch is gone.
 */
export async function baseAtTip(
  repo: { readonly root: string; readonly commonDir: string },
  base: BaseBranchRef,
  signal?: AbortSignal,
): Promise<BaseRef> {
  const commit =
    (await readRefFiles(repo.commonDir, base.ref)) ?? (await revParse(repo.root, base.ref, signal));
  if (commit === undefined) {
    throw new MiyabiError('NOT_FOUND', `base branch '${base.name}' no longer exists (${base.ref})`, {
      hint: 'Pass another baseBranch, or restore the branch (git branch -a lists them).',
      details: { baseBranch: base.name },
    });
  }
  return { name: base.name, ref: base.ref, commit };
}

/** The commit a ref names in the loose ref file or `packed-refs`; undefined when neither says (git decides). */
async function readRefFiles(commonDir: string, ref: string): Promise<string | undefined> {
  // git's own lookup order: a loose ref wins over its packed value.
  const loose = await readFile(join(commonDir, ref), 'utf8').catch(() => undefined);
  if (loose !== undefined) {
    const value = loose.trim();
    return SHA.test(value) ? value : undefined;
  }
  const packed = await readFile(join(commonDir, 'packed-refs'), 'utf8').catch(() => undefined);
  if (packed === undefined) return undefined;
  for (const line of packed.split('\n')) {
    const space = line.indexOf(' ');
    if (space > 0 && line.slice(space + 1) === ref) {
      const value = line.slice(0, space);
      return SHA.test(value) ? value : undefined;
    }
  }
  return undefined;
}

async function revParse(cwd: string, ref: string, signal?: AbortSignal): Promise<string | undefined> {
  const found = await runGit(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], {
    cwd,
    signal,
    okExitCodes: [0, 1],
  });
  return found.exitCode === 0 ? found.stdout.trim() : undefined;
}
