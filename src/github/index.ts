// The GitHub integration: issues in, pull requests out. Octokit loads only when a client is made.

export {
  createGitHubClient,
  DEFAULT_GITHUB_API_URL,
  type GitHubClient,
  type GitHubClientOptions,
} from './client.js';
export {
  expandIssuePlaceholders,
  ISSUE_FILE_VAR,
  ISSUE_PLACEHOLDERS,
  ISSUE_TEXT_LIMIT_BYTES,
  issueEnvironment,
  writeIssueFile,
} from './issue-text.js';
export { type IssuesFromGitHubOptions, type IssuesFromGitHubResult, issuesFromGitHub } from './issues.js';
export { type OriginRepoOptions, repoFromOrigin } from './origin-repo.js';
export { type PrBodyCommit, type PrBodyInput, prBody } from './pr-body.js';
export { openOrUpdatePullRequest, type PullRequestOptions, type PullRequestResult } from './pull-request.js';
export { parseRepoSlug, type RemoteRepo, repoFromRemoteUrl } from './repo-slug.js';
export { type ResolvedToken, resolveGitHubToken, type TokenSource } from './token.js';
export type {
  GitHubConnectionOptions,
  GitHubRepo,
  GitHubWorktreeTask,
  IssueContext,
  SkippedIssue,
  SkipReason,
} from './types.js';
export { openWorktreePullRequest, type WorktreePullRequestOptions } from './worktree-pull-request.js';
