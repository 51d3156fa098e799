import type { PullRequestResult } from '../core/task-result.js';
import { MiyabiError } from '../errors.js';
import { createGitHubClient, type GitHubClient, withSignal } from './client.js';
import { repoSlug, toRepo } from './repo-slug.js';
import type { GitHubConnectionOptions, GitHubRepo } from './types.js';

export type { PullRequestResult };

export interface PullRequestOptions extends GitHubConnectionOptions {
  /** The repository the pull request is opened in: `owner/repo` or `{ owner, repo }`. */
  readonly repo: string | GitHubRepo;
  /** The pushed branch (`feature/issue-12`), or `owner:branch` for a fork's. */
  readonly head: string;
  /** The branch it should merge into. */
  readonly base: string;
  readonly title: string;
  readonly body: string;
  /** Open it as a draft (an existing pull request keeps its state). @default false */
  readonly draft?: boolean | undefined;
  /** Logins asked to review. */
  readonly reviewers?: readonly string[] | undefined;
  /** Labels added to it. */
  readonly labels?: readonly string[] | undefined;
  /** An existing client (its token and base URL win over `token`/`baseUrl`). */
  readonly client?: GitHubClient | undefined;
}

// GitHub refuses a body over 65,536 characters.
const MAX_BODY_CHARS = 65_536;

/**
 * Opens a pull request from `head` into `base`, or updates the title, body and base of the open one
 * for that branch (a rerun never opens a second), then requests the reviewers and adds the labels.
 * Failures are coded `MiyabiError`s carrying GitHub's message; when the pull request exists but a
 * review request or label failed, `details` names it (`url`, `number`, `created`).
 */
export async function openOrUpdatePullRequest(options: PullRequestOptions): Promise<PullRequestResult> {
  const repo = toRepo(options.repo);
  if (options.head.trim() === '' || options.base.trim() === '' || options.title.trim() === '') {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      'a pull request needs a head branch, a base branch and a title',
    );
  }
  const client = options.client ?? (await createGitHubClient(options));
  const octokit = client.octokit;
  const signal = withSignal(options.signal);
  const head = options.head.includes(':') ? options.head : `${repo.owner}:${options.head}`;
  const body = options.body.replaceAll('\0', '').slice(0, MAX_BODY_CHARS);
  const slug = repoSlug(repo);

  let result: PullRequestResult;
  try {
    const open = await octokit.request('GET /repos/{owner}/{repo}/pulls', {
      ...repo,
      head,
      state: 'open',
      per_page: 1,
      ...signal,
    });
    const existing = open.data[0];
    if (existing) {
      const updated = await octokit.request('PATCH /repos/{owner}/{repo}/pulls/{pull_number}', {
        ...repo,
        pull_number: existing.number,
        title: options.title,
        body,
        base: options.base,
        ...signal,
      });
      result = { url: updated.data.html_url, number: updated.data.number, created: false };
    } else {
      const created = await octokit.request('POST /repos/{owner}/{repo}/pulls', {
        ...repo,
        head,
        base: options.base,
        title: options.title,
        body,
        draft: options.draft ?? false,
        ...signal,
      });
      result = { url: created.data.html_url, number: created.data.number, created: true };
    }
  } catch (error) {
    throw client.toError(error, `open a pull request for ${options.head} in ${slug}`);
  }

  try {
    if (options.reviewers?.length) {
      await octokit.request('POST /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers', {
        ...repo,
        pull_number: result.number,
        reviewers: [...options.reviewers],
        ...signal,
      });
    }
    if (options.labels?.length) {
      await octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/labels', {
        ...repo,
        issue_number: result.number,
        labels: [...options.labels],
        ...signal,
      });
    }
  } catch (error) {
    const mapped = client.toError(error, `pull request ${result.url}: request reviewers or add labels`);
    throw new MiyabiError(mapped.code, mapped.message, {
      hint: `The pull request exists (${result.url}); ${mapped.hint}`,
      details: { ...mapped.details, ...result },
    });
  }
  return result;
}
