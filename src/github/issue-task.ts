import { repoSlug } from './repo-slug.js';
import type { GitHubRepo, GitHubWorktreeTask, IssueContext } from './types.js';

/** The fields of a GitHub issue (REST shape) that tasks are made from. */
export interface ApiIssue {
  readonly number: number;
  readonly title: string;
  readonly body?: string | null | undefined;
  readonly html_url: string;
  readonly state?: string | undefined;
  readonly labels?: readonly (string | { readonly name?: string | undefined })[] | undefined;
  /** Present on pull requests (the issues API lists them too). */
  readonly pull_request?: unknown;
  readonly milestone?: { readonly number: number; readonly title: string } | null | undefined;
}

export function labelNames(issue: ApiIssue): string[] {
  return (issue.labels ?? [])
    .map((label) => (typeof label === 'string' ? label : (label.name ?? '')))
    .filter((name) => name !== '');
}

export function issueContext(issue: ApiIssue): IssueContext {
  return { title: issue.title, body: issue.body ?? '', url: issue.html_url, labels: labelNames(issue) };
}

/** A pool task for `issue`: its number, its title as description, its text as `context`. */
export function issueToTask(issue: ApiIssue, repo: GitHubRepo): GitHubWorktreeTask {
  return {
    issueNumber: issue.number,
    description: issue.title,
    context: issueContext(issue),
    metadata: { github: { repo: repoSlug(repo), url: issue.html_url } },
  };
}

export function isPullRequest(issue: ApiIssue): boolean {
  return issue.pull_request !== undefined && issue.pull_request !== null;
}
