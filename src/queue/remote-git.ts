import { existsSync, readdirSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { MiyabiError } from '../errors.js';
import { firstLine, gitStderr, runGit } from '../git/run-git.js';

/** Where the submitter keeps a base commit the remote has on no branch. */
export function batchBaseRef(batchId: string, sha: string): string {
  return `refs/miyabi/batches/${batchId}/base-${sha}`;
}

/** Every base ref of a batch (an older submitter's single `base` among them), for one fetch. */
function batchBaseRefs(batchId: string): string {
  return `refs/miyabi/batches/${batchId}/*`;
}

/** Where a worker keeps an earlier attempt's pushed branch before a new attempt replaces it. */
export function attemptArchiveRef(batchId: string, issueNumber: number, sha: string): string {
  return `refs/miyabi/archive/queue/${batchId}/issue-${issueNumber}-${sha.slice(0, 12)}`;
}

/** The URL of `remote` as workers must see it: a local path made absolute. */
export async function remoteUrl(root: string, remote: string, signal?: AbortSignal): Promise<string> {
  const found = await runGit(['remote', 'get-url', remote], { cwd: root, signal, okExitCodes: [0, 2, 128] });
  if (found.exitCode !== 0) {
    throw new MiyabiError(
      'NO_REMOTE',
      `the repository has no remote '${remote}': workers clone the batch from it`,
      {
        hint: `Add the shared remote first: git remote add ${remote} <url>, or pass --remote.`,
      },
    );
  }
  const url = found.stdout.trim();
  return isLocalPath(url) ? resolve(root, url) : url;
}

/** A remote's URL without what does not make it another remote (surrounding space, trailing `/`, `.git`). */
export function normalizeRemote(url: string): string {
  return url
    .trim()
    .replace(/\/+$/, '')
    .replace(/\.git$/, '');
}

/** Two spellings of one remote (a trailing slash or `.git` aside) are the same remote. */
export function sameRemote(a: string, b: string): boolean {
  return normalizeRemote(a) === normalizeRemote(b);
}

export function isLocalPath(url: string): boolean {
  // Not scheme://, not scp-like host:path.
  return !/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && (isAbsolute(url) || !/^[^/]+:/.test(url));
}

/**
 * Makes sure workers can fetch `sha` from `remote`: refreshes the remote-tracking branches (unless
 * `fetch: false`: already done for this batch), and when none contains the commit pushes it to
 * `refs/miyabi/batches/<id>/base-<sha>` (never to a branch). Returns the ref pushed, if any.
 */
export async function ensureBaseOnRemote(
  root: string,
  remote: string,
  sha: string,
  batchId: string,
  signal?: AbortSignal,
  options: { readonly fetch?: boolean } = {},
): Promise<string | undefined> {
  if (options.fetch !== false) {
    await runGit(['fetch', '--quiet', remote], { cwd: root, signal, timeoutMs: 10 * 60_000 }).catch(
      (error: unknown) => {
        throw gitFailure(`could not fetch from '${remote}'`, error);
      },
    );
  }
  const holders = await runGit(
    ['for-each-ref', '--count=1', '--contains', sha, '--format=%(refname)', `refs/remotes/${remote}/`],
    { cwd: root, signal },
  );
  if (holders.stdout.trim() !== '') return undefined;
  const ref = batchBaseRef(batchId, sha);
  await runGit(['push', '--quiet', remote, `${sha}:${ref}`], {
    cwd: root,
    signal,
    timeoutMs: 10 * 60_000,
  }).catch((error: unknown) => {
    throw gitFailure(`could not push the base commit to '${remote}' (${ref})`, error);
  });
  return ref;
}

/**
 * The worker's clone: cloned from `remote` when `repo` does not exist (or is an empty folder);
 * otherwise its `origin` must be `remote`, else `REMOTE_MISMATCH` and nothing is touched.
 */
export async function ensureClone(repo: string, remote: string, signal?: AbortSignal): Promise<void> {
  const empty = !existsSync(repo) || readdirSync(repo).length === 0;
  if (empty) {
    await runGit(['clone', '--quiet', remote, repo], {
      cwd: resolve(repo, '..'),
      signal,
      timeoutMs: 30 * 60_000,
    }).catch((error: unknown) => {
      throw gitFailure(`could not clone ${remote} into ${repo}`, error);
    });
    return;
  }
  const origin = await runGit(['remote', 'get-url', 'origin'], {
    cwd: repo,
    signal,
    okExitCodes: [0, 2, 128],
  });
  const actual = origin.exitCode === 0 ? origin.stdout.trim() : '(none)';
  const local = origin.exitCode === 0 && isLocalPath(actual) ? resolve(repo, actual) : actual;
  if (!sameRemote(local, remote)) {
    throw new MiyabiError(
      'REMOTE_MISMATCH',
      `the worker's clone ${repo} has origin ${actual}, but the job's remote is ${remote}`,
      { details: { repo, origin: actual, remote } },
    );
  }
}

/**
 * Fetches the remote's branches, then the batch's base ref if the commit is still missing. A commit
 * the remote lacks is `NOT_FOUND`, with the clone's refs as the fetch left them (no worktree made).
 */
export async function fetchBase(
  repo: string,
  sha: string,
  batchId: string,
  signal?: AbortSignal,
): Promise<void> {
  await runGit(['fetch', '--quiet', '--prune', 'origin'], {
    cwd: repo,
    signal,
    timeoutMs: 10 * 60_000,
  }).catch((error: unknown) => {
    throw gitFailure('could not fetch from origin', error);
  });
  if (await hasCommit(repo, sha, signal)) return;
  const refs = batchBaseRefs(batchId);
  await runGit(['fetch', '--quiet', 'origin', `+${refs}:${refs}`], {
    cwd: repo,
    signal,
    okExitCodes: [0, 1, 128],
  });
  if (await hasCommit(repo, sha, signal)) return;
  throw new MiyabiError('NOT_FOUND', `commit ${sha} is not on the remote: nothing to start the task from`, {
    hint: 'The submitter pushes the base before enqueueing; was the remote reset, or the job forged?',
    details: { sha },
  });
}

export async function hasCommit(cwd: string, sha: string, signal?: AbortSignal): Promise<boolean> {
  const found = await runGit(['cat-file', '-e', `${sha}^{commit}`], {
    cwd,
    signal,
    okExitCodes: [0, 1, 128],
  });
  return found.exitCode === 0;
}

/**
 * An earlier attempt's (or run's) pushed task branch is moved aside before a new attempt starts from
 * the base: archived under `refs/miyabi/archive/queue/...` and deleted, atomically and only if the
 * remote still has what the last fetch saw. Returns the archive ref, if any.
 */
export async function archiveRemoteBranch(
  repo: string,
  branch: string,
  batchId: string,
  issueNumber: number,
  signal?: AbortSignal,
): Promise<string | undefined> {
  // `fetchBase` just fetched with --prune: the remote-tracking ref is the remote's branch.
  const seen = await runGit(['rev-parse', '--verify', '--quiet', `refs/remotes/origin/${branch}`], {
    cwd: repo,
    signal,
    okExitCodes: [0, 1],
  });
  const sha = seen.stdout.trim();
  if (seen.exitCode !== 0 || sha === '') return undefined;
  const archive = attemptArchiveRef(batchId, issueNumber, sha);
  await runGit(
    [
      'push',
      '--quiet',
      '--atomic',
      `--force-with-lease=refs/heads/${branch}:${sha}`,
      'origin',
      `${sha}:${archive}`,
      `:refs/heads/${branch}`,
    ],
    { cwd: repo, signal, timeoutMs: 10 * 60_000 },
  ).catch((error: unknown) => {
    throw gitFailure(`could not archive the earlier attempt's ${branch} on origin`, error);
  });
  return archive;
}

/**
 * With `existingBranches: 'continue'`: the clone's `branch` set to the remote's (just fetched), so the
 * task builds on what earlier runs pushed. `git branch -f` refuses a branch checked out in a worktree.
 * A branch the remote lacks is left as it is (the task then starts from its base).
 */
export async function followRemoteBranch(repo: string, branch: string, signal?: AbortSignal): Promise<void> {
  const seen = await runGit(['rev-parse', '--verify', '--quiet', `refs/remotes/origin/${branch}`], {
    cwd: repo,
    signal,
    okExitCodes: [0, 1],
  });
  const sha = seen.stdout.trim();
  if (seen.exitCode !== 0 || sha === '') return;
  await runGit(['branch', '--quiet', '--no-track', '-f', branch, sha], { cwd: repo, signal }).catch(
    (error: unknown) => {
      throw gitFailure(`could not set ${branch} to the remote's to continue it`, error);
    },
  );
}

function gitFailure(what: string, error: unknown): MiyabiError {
  return new MiyabiError('GIT_FAILED', `${what}: ${firstLine(gitStderr(error)) || 'no message'}`, {
    cause: error,
    hint: "Check that the remote is reachable and you may write to it (see git's message).",
    ...(error instanceof MiyabiError && error.git ? { git: error.git } : {}),
  });
}
