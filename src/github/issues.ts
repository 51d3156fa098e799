import { MiyabiError } from '../errors.js';
import { createGitHubClient, type GitHubClient, withSignal } from './client.js';
import { type ApiIssue, isPullRequest, issueToTask } from './issue-task.js';
import { repoSlug, toRepo } from './repo-slug.js';
import type { GitHubConnectionOptions, GitHubRepo, GitHubWorktreeTask, SkippedIssue } from './types.js';

export interface IssuesFromGitHubOptions extends GitHubConnectionOptions {
  /** `owner/repo` or `{ owner, repo }`. */
  readonly repo: string | GitHubRepo;
  /** Only issues with every one of these labels. */
  readonly labels?: readonly string[] | undefined;
  /** Only issues in this milestone: its title or number (`*` any, `none` without one). */
  readonly milestone?: string | number | undefined;
  /** These issue numbers, in this order (combined with the filters: those matching them). */
  readonly issues?: readonly number[] | undefined;
  /** A GitHub search (`is:issue label:bug no:assignee`), scoped to the repository. */
  readonly query?: string | undefined;
  /** Take closed issues too. @default false */
  readonly includeClosed?: boolean | undefined;
  /** Take pull requests too (GitHub lists them among issues). @default false */
  readonly includePullRequests?: boolean | undefined;
  /** An existing client (its token and base URL win over `token`/`baseUrl`). */
  readonly client?: GitHubClient | undefined;
}

export interface IssuesFromGitHubResult {
  /** One task per issue to run: explicit numbers in the order given, filters oldest first. */
  readonly tasks: GitHubWorktreeTask[];
  /** Issues asked for or listed that will not run, with why. */
  readonly skipped: SkippedIssue[];
  readonly repo: GitHubRepo;
}

// Explicit issue numbers fetched at once.
const FETCH_CONCURRENCY = 4;

/**
 * The issues of a GitHub repository as pool tasks (`context`: title, body, url, labels). Filters
 * (`labels`, `milestone`, `query`) list open issues unless `includeClosed`; explicit `issues` are
 * fetched one by one and skipped (never run) when closed, a pull request or missing. An unknown
 * repository is `GITHUB_NOT_FOUND`; no token is `GITHUB_AUTH` before any request.
 */
export async function issuesFromGitHub(options: IssuesFromGitHubOptions): Promise<IssuesFromGitHubResult> {
  const repo = toRepo(options.repo);
  const issues = options.issues ? [...new Set(options.issues)] : undefined;
  for (const number of issues ?? []) {
    if (!Number.isSafeInteger(number) || number < 1) {
      throw new MiyabiError('INVALID_ARGUMENT', `${number} is not an issue number`, {
        hint: 'Issue numbers are positive integers.',
      });
    }
  }
  const hasFilter =
    (options.labels?.length ?? 0) > 0 ||
    options.milestone !== undefined ||
    (options.query ?? '').trim() !== '';
  if (!issues && !hasFilter) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      'say which issues to take: issue numbers, labels, a milestone or a query',
      {
        hint: 'Pass --issues, --label, --milestone or --query.',
      },
    );
  }
  const client = options.client ?? (await createGitHubClient(options));
  const signal = options.signal;
  await assertRepository(client, repo, signal);

  const listed = hasFilter ? await listByFilters(client, repo, options) : undefined;
  const tasks: GitHubWorktreeTask[] = [];
  const skipped: SkippedIssue[] = [];
  const take = (issue: ApiIssue) => {
    if (isPullRequest(issue) && !options.includePullRequests) {
      skipped.push({ issueNumber: issue.number, reason: 'pull-request', title: issue.title });
    } else if (issue.state === 'closed' && !options.includeClosed) {
      skipped.push({ issueNumber: issue.number, reason: 'closed', title: issue.title });
    } else {
      tasks.push(issueToTask(issue, repo));
    }
  };
  if (!issues) {
    for (const issue of listed ?? []) take(issue);
    return { tasks, skipped, repo };
  }
  const matching = listed ? new Map(listed.map((issue) => [issue.number, issue])) : undefined;
  const fetched = await mapLimit(issues, FETCH_CONCURRENCY, (number) =>
    getIssue(client, repo, number, signal),
  );
  issues.forEach((number, index) => {
    const issue = fetched[index];
    if (!issue) skipped.push({ issueNumber: number, reason: 'not-found' });
    else if (matching && !matching.has(number) && !isPullRequest(issue) && issue.state !== 'closed')
      skipped.push({ issueNumber: number, reason: 'not-matching', title: issue.title });
    else take(issue);
  });
  return { tasks, skipped, repo };
}

/** Fails with `GITHUB_NOT_FOUND` (or `GITHUB_AUTH`) when the repository is not there for this token. */
async function assertRepository(client: GitHubClient, repo: GitHubRepo, signal: AbortSignal | undefined) {
  try {
    await client.octokit.request('GET /repos/{owner}/{repo}', { ...repo, ...withSignal(signal) });
  } catch (error) {
    const mapped = client.toError(error, `read repository ${repoSlug(repo)}`);
    if (mapped.code === 'GITHUB_NOT_FOUND') {
      throw new MiyabiError('GITHUB_NOT_FOUND', `repository ${repoSlug(repo)} not found on GitHub`, {
        hint: 'Check the owner/repo name, and that your token can see the repository (private ones need the repo scope).',
        details: { repo: repoSlug(repo) },
      });
    }
    throw mapped;
  }
}

/** One issue, or undefined when GitHub has none by that number (404, or 410 for a deleted one). */
/** One issue (or pull request) of `repo`; `undefined` when GitHub has none of that number. */
export async function getIssue(
  client: GitHubClient,
  repo: GitHubRepo,
  number: number,
  signal: AbortSignal | undefined,
): Promise<ApiIssue | undefined> {
  try {
    const response = await client.octokit.request('GET /repos/{owner}/{repo}/issues/{issue_number}', {
      ...repo,
      issue_number: number,
      ...withSignal(signal),
    });
    return response.data as ApiIssue;
  } catch (error) {
    const mapped = client.toError(error, `read issue #${number} of ${repoSlug(repo)}`);
    if (mapped.code === 'GITHUB_NOT_FOUND') return undefined;
    throw mapped;
  }
}

/** The issues the filters select: the search API for a query, else the issues list. */
async function listByFilters(
  client: GitHubClient,
  repo: GitHubRepo,
  options: IssuesFromGitHubOptions,
): Promise<ApiIssue[]> {
  const query = (options.query ?? '').trim();
  if (query !== '') return searchIssues(client, repo, query, options);
  const milestone =
    options.milestone === undefined
      ? undefined
      : await milestoneNumber(client, repo, options.milestone, options.signal);
  try {
    const issues = await client.octokit.paginate('GET /repos/{owner}/{repo}/issues', {
      ...repo,
      state: options.includeClosed ? 'all' : 'open',
      sort: 'created',
      direction: 'asc',
      per_page: 100,
      ...(options.labels?.length ? { labels: options.labels.join(',') } : {}),
      ...(milestone !== undefined ? { milestone } : {}),
      ...withSignal(options.signal),
    });
    return issues as ApiIssue[];
  } catch (error) {
    throw client.toError(error, `list issues of ${repoSlug(repo)}`);
  }
}

/** A milestone's number for the issues list: numbers and `*`/`none` as is, a title looked up. */
async function milestoneNumber(
  client: GitHubClient,
  repo: GitHubRepo,
  milestone: string | number,
  signal: AbortSignal | undefined,
): Promise<string> {
  const text = String(milestone).trim();
  if (/^(?:\d+|\*|none)$/.test(text)) return text;
  let milestones: { number: number; title: string }[];
  try {
    milestones = await client.octokit.paginate('GET /repos/{owner}/{repo}/milestones', {
      ...repo,
      state: 'all',
      per_page: 100,
      ...withSignal(signal),
    });
  } catch (error) {
    throw client.toError(error, `list milestones of ${repoSlug(repo)}`);
  }
  const found =
    milestones.find((item) => item.title === text) ??
    milestones.find((item) => item.title.toLowerCase() === text.toLowerCase());
  if (!found) {
    throw new MiyabiError('GITHUB_NOT_FOUND', `${repoSlug(repo)} has no milestone "${text}"`, {
      hint: 'Check the milestone title (or pass its number).',
      details: { repo: repoSlug(repo), milestone: text },
    });
  }
  return String(found.number);
}

/** Issues a search finds in the repository, with the labels and milestone added as qualifiers. */
async function searchIssues(
  client: GitHubClient,
  repo: GitHubRepo,
  query: string,
  options: IssuesFromGitHubOptions,
): Promise<ApiIssue[]> {
  const quote = (value: string) => `"${value.replaceAll('"', '')}"`;
  const parts = [`repo:${repoSlug(repo)}`, query];
  for (const label of options.labels ?? []) parts.push(`label:${quote(label)}`);
  if (options.milestone !== undefined) parts.push(`milestone:${quote(String(options.milestone))}`);
  // Open ones only, unless asked or the query already says which state it wants.
  if (!options.includeClosed && !/(?:^|\s)(?:is|state):(?:open|closed)\b/i.test(query)) parts.push('is:open');
  try {
    const items = await client.octokit.paginate('GET /search/issues', {
      q: parts.join(' '),
      sort: 'created',
      order: 'asc',
      per_page: 100,
      ...withSignal(options.signal),
    });
    return items as ApiIssue[];
  } catch (error) {
    throw client.toError(error, `search issues of ${repoSlug(repo)}`);
  }
}

/** `fn` over `items` with at most `limit` at once; results in input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
