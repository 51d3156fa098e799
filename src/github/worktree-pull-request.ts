import type { WorktreeInfo } from '../core/types.js';
import { branchSummary } from '../git/branch-summary.js';
import type { GitHubClient } from './client.js';
import { issueContext } from './issue-task.js';
import { getIssue } from './issues.js';
import { type PrBodyInput, prBody } from './pr-body.js';
import { openOrUpdatePullRequest, type PullRequestResult } from './pull-request.js';
import { parseRepoSlug } from './repo-slug.js';
import type { GitHubRepo, IssueContext } from './types.js';

export interface WorktreePullRequestOptions {
  readonly client: GitHubClient;
  /** `owner/repo` or `{ owner, repo }`. */
  readonly repo: string | GitHubRepo;
  /** The issue's text; read from GitHub when not given (a missing issue only makes the title plainer). */
  readonly issue?: IssueContext;
  /** Title when the issue has none. @default `Issue #<n>` */
  readonly fallbackTitle?: string;
  readonly draft?: boolean;
  readonly reviewers?: readonly string[];
  readonly labels?: readonly string[];
  /** The task's run time and last output lines, for the body. */
  readonly durationMs?: number;
  readonly lastLines?: string;
  /**
   * The local ref whose commits and files the body lists, when the branch has no local copy (a
   * queue task's, fetched into a remote-tracking ref). @default the worktree's branch
   */
  readonly summaryHead?: string;
  /** The landing check's verdict, for the body. */
  readonly check?: PrBodyInput['check'];
  readonly signal?: AbortSignal;
}

/** What a pull request is opened from: a worktree, or a pushed task branch described like one. */
export type PullRequestSource = Pick<WorktreeInfo, 'issueNumber' | 'branchName' | 'baseBranch' | 'path'>;

/**
 * Opens (or updates) the pull request of a worktree's pushed branch against its base branch: title
 * from the issue, body with `Closes #N`, the branch's commits and files, and the run's last lines.
 * The branch must be pushed first (`pushWorktree`); the pool's `pullRequest` option and the CLI's
 * `pr` command both go through here.
 */
export async function openWorktreePullRequest(
  worktree: PullRequestSource,
  options: WorktreePullRequestOptions,
): Promise<PullRequestResult> {
  const { client, signal } = options;
  const repo = typeof options.repo === 'string' ? parseRepoSlug(options.repo) : options.repo;
  const issue =
    options.issue ??
    (await getIssue(client, repo, worktree.issueNumber, signal)
      .then((found) => (found ? issueContext(found) : undefined))
      .catch(() => undefined));
  // The summary only decorates the body: a git hiccup here must not fail the pull request.
  const summary = await branchSummary({
    cwd: worktree.path,
    base: worktree.baseBranch,
    head: options.summaryHead ?? worktree.branchName,
    ...(signal ? { signal } : {}),
  }).catch(() => undefined);
  return openOrUpdatePullRequest({
    client,
    repo,
    head: worktree.branchName,
    base: remoteBranchName(worktree.baseBranch),
    title: issue?.title || options.fallbackTitle || `Issue #${worktree.issueNumber}`,
    body: prBody({
      issueNumber: worktree.issueNumber,
      ...(issue ? { issueUrl: issue.url, issueTitle: issue.title } : {}),
      ...(summary ?? {}),
      ...(options.durationMs !== undefined ? { durationMs: options.durationMs } : {}),
      ...(options.lastLines !== undefined ? { lastLines: options.lastLines } : {}),
      ...(options.check ? { check: options.check } : {}),
    }),
    ...(options.draft !== undefined ? { draft: options.draft } : {}),
    ...(options.reviewers ? { reviewers: options.reviewers } : {}),
    ...(options.labels ? { labels: options.labels } : {}),
    ...(signal ? { signal } : {}),
  });
}

/** The branch a base ref names on the remote: `origin/main` and `refs/heads/main` → `main`. */
function remoteBranchName(base: string): string {
  return base
    .replace(/^refs\/heads\//, '')
    .replace(/^refs\/remotes\/[^/]+\//, '')
    .replace(/^origin\//, '');
}
