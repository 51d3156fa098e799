import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { MiyabiError } from '../errors.js';
import { runGit } from '../git/run-git.js';
import type { Logger } from '../log.js';
import { WorktreeManager } from '../manager/worktree-manager.js';
import { ensureClone, isLocalPath } from './remote-git.js';

/**
 * The remote a worker serves, known before it takes any job (it names the worker's queue): with
 * `remote`, its clone is made now when it does not exist, else its `origin` must be that remote
 * (`REMOTE_MISMATCH`); without it, the clone must exist and its `origin` is the remote.
 */
export async function openWorkerClone(
  repo: string,
  remote: string | undefined,
  cwd: string,
): Promise<string> {
  if (existsSync(repo) && !statSync(repo).isDirectory()) {
    throw new MiyabiError('INVALID_ARGUMENT', `the worker's clone ${repo} is a file, not a folder`, {
      hint: 'Pass --repo a folder (made on start when it does not exist).',
    });
  }
  if (remote !== undefined) {
    if (typeof remote !== 'string' || remote.trim() === '') {
      throw new MiyabiError('INVALID_ARGUMENT', 'remote must be the URL of the shared remote', {
        hint: 'e.g. remote: "git@github.com:org/repo.git"',
        details: { option: 'remote' },
      });
    }
    const url = isLocalPath(remote) ? resolve(cwd, remote) : remote;
    await mkdir(dirname(repo), { recursive: true });
    await ensureClone(repo, url);
    return url;
  }
  if (!existsSync(repo) || readdirSync(repo).length === 0) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `the worker's clone ${repo} does not exist yet: name the remote it serves`,
      {
        hint: 'Pass remote (the shared remote URL): the worker clones it on start.',
        details: { option: 'remote' },
      },
    );
  }
  const origin = await runGit(['remote', 'get-url', 'origin'], { cwd: repo, okExitCodes: [0, 2, 128] });
  if (origin.exitCode !== 0 || origin.stdout.trim() === '') {
    throw new MiyabiError('INVALID_ARGUMENT', `${repo} is not a clone with an origin remote`, {
      hint: 'Pass another folder, or remote (the shared remote URL) for a new clone.',
      details: { option: 'remote' },
    });
  }
  const url = origin.stdout.trim();
  return isLocalPath(url) ? resolve(repo, url) : url;
}

/**
 * The manager of a worker's clone, or undefined while the clone has no branch at all (a fresh clone of
 * a remote whose HEAD names a missing branch: nothing to reclaim; the first job's base makes one). When
 * branches exist but none is a default base, it takes any of them, since every job brings its own.
 */
export async function openCloneManager(
  repo: string,
  concurrency: number,
  logger: Logger,
): Promise<WorktreeManager | undefined> {
  const options = { repoPath: repo, maxConcurrency: concurrency, logger };
  try {
    return await WorktreeManager.open(options);
  } catch (error) {
    if (error instanceof MiyabiError && error.code === 'NO_COMMITS') return undefined;
    if (!(error instanceof MiyabiError && error.code === 'NOT_FOUND')) throw error;
    const { stdout } = await runGit(
      ['for-each-ref', '--format=%(refname)', 'refs/heads/', 'refs/remotes/origin/'],
      { cwd: repo },
    );
    const ref = stdout.split('\n').find((name) => name !== '' && !name.endsWith('/HEAD'));
    const baseBranch = ref?.replace(/^refs\/(heads|remotes)\//, '');
    if (baseBranch === undefined) throw error;
    return WorktreeManager.open({ ...options, baseBranch });
  }
}
