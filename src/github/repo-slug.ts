import { MiyabiError } from '../errors.js';
import type { GitHubRepo } from './types.js';

// GitHub's own rules: owner names are alphanumerics and dashes; repository names add `.` and `_`.
const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;
const NAME = /^[A-Za-z0-9._-]{1,100}$/;

/** `owner/repo` → `{ owner, repo }`; anything else is an `INVALID_ARGUMENT`. */
export function parseRepoSlug(slug: string): GitHubRepo {
  const parts = slug.trim().split('/');
  const [owner, repo] = parts;
  if (parts.length !== 2 || !owner || !repo || !OWNER.test(owner) || !NAME.test(repo) || /^\.+$/.test(repo)) {
    throw new MiyabiError('INVALID_ARGUMENT', `"${slug}" is not a GitHub repository name`, {
      hint: 'Name it as owner/repo, e.g. octocat/hello-world.',
    });
  }
  return { owner, repo: repo.replace(/\.git$/, '') };
}

/** `{ owner, repo }` or `owner/repo` → `{ owner, repo }`, validated. */
export function toRepo(repo: string | GitHubRepo): GitHubRepo {
  return typeof repo === 'string' ? parseRepoSlug(repo) : parseRepoSlug(`${repo.owner}/${repo.repo}`);
}

/** `owner/repo` for messages and JSON. */
export function repoSlug(repo: GitHubRepo): string {
  return `${repo.owner}/${repo.repo}`;
}

/** A remote URL's host and `owner/repo`, from its https, ssh (`ssh://` or scp-like) or git form. */
export interface RemoteRepo extends GitHubRepo {
  readonly host: string;
}

/**
 * Reads `owner/repo` (and the host) from a remote URL: `https://github.com/o/r.git`,
 * `git@github.com:o/r.git`, `ssh://git@github.com/o/r`, `git://…`; `undefined` for anything else
 * (a local path, a URL with fewer than two path segments).
 */
export function repoFromRemoteUrl(url: string): RemoteRepo | undefined {
  const text = url.trim();
  let host: string;
  let path: string;
  const scpLike = /^(?:[^@/\s]+@)?([^:/\s]+):(?!\/)(.+)$/.exec(text);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    let parsed: URL;
    try {
      parsed = new URL(text);
    } catch {
      return undefined;
    }
    if (!['https:', 'http:', 'ssh:', 'git:', 'git+ssh:', 'ssh+git:'].includes(parsed.protocol))
      return undefined;
    host = parsed.hostname;
    path = decodeURIComponent(parsed.pathname);
  } else if (scpLike?.[1] && scpLike[2]) {
    host = scpLike[1];
    path = scpLike[2];
  } else {
    return undefined;
  }
  const segments = path
    .replace(/\/+$/, '')
    .replace(/\.git$/, '')
    .split('/')
    .filter(Boolean);
  const owner = segments.at(-2);
  const repo = segments.at(-1);
  if (!owner || !repo || !OWNER.test(owner) || !NAME.test(repo)) return undefined;
  return { host, owner, repo };
}

/** The REST API root for a GitHub host: api.github.com for github.com, `/api/v3` on Enterprise. */
export function apiUrlForHost(host: string): string {
  return host === 'github.com' || host === 'www.github.com'
    ? 'https://api.github.com'
    : `https://${host}/api/v3`;
}
