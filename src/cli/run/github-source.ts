import {
  createGitHubClient,
  type GitHubClient,
  type GitHubRepo,
  type GitHubWorktreeTask,
  issuesFromGitHub,
  MiyabiError,
  parseRepoSlug,
  repoFromOrigin,
  type SkippedIssue,
} from '../../index.js';
import { apiUrlForHost } from '../../internal.js';
import type { CommandContext } from '../context.js';

/** The GitHub flags of `run` (and `pr`), as commander parsed them. */
export interface GitHubFlags {
  /** `--github owner/repo`, or `true` for `--github` alone (the origin remote's). */
  readonly github?: string | boolean | undefined;
  readonly label?: readonly string[] | undefined;
  readonly milestone?: string | undefined;
  readonly query?: string | undefined;
  readonly githubApiUrl?: string | undefined;
}

/** True when the flags ask for GitHub input. */
export function wantsGitHub(flags: GitHubFlags): boolean {
  return (
    flags.github !== undefined ||
    (flags.label?.length ?? 0) > 0 ||
    flags.milestone !== undefined ||
    flags.query !== undefined
  );
}

export interface GitHubConnection {
  readonly repo: GitHubRepo;
  readonly client: GitHubClient;
}

/**
 * The repository (`--github`, else the origin remote's owner/repo) and a client for it: the API
 * URL is `--github-api-url`, else the remote's host (GitHub Enterprise) or api.github.com. The
 * token is found here, before anything starts (none: `GITHUB_AUTH`).
 */
export async function connectGitHub(flags: GitHubFlags, ctx: CommandContext): Promise<GitHubConnection> {
  let repo: GitHubRepo;
  let baseUrl = flags.githubApiUrl;
  if (typeof flags.github === 'string') {
    repo = parseRepoSlug(flags.github);
  } else {
    const origin = await repoFromOrigin({ cwd: ctx.globals.cwd, signal: ctx.signal });
    repo = { owner: origin.owner, repo: origin.repo };
    baseUrl ??= apiUrlForHost(origin.host);
  }
  const client = await createGitHubClient({
    ...(baseUrl !== undefined ? { baseUrl } : {}),
    logger: ctx.logger,
  });
  return { repo, client };
}

export interface GitHubSelection {
  readonly tasks: GitHubWorktreeTask[];
  readonly skipped: SkippedIssue[];
}

/** The issues the flags select (and `--issues`, when given, among them), as tasks with their text. */
export async function selectIssues(
  flags: GitHubFlags,
  issues: readonly number[] | undefined,
  connection: GitHubConnection,
  ctx: CommandContext,
): Promise<GitHubSelection> {
  if (!issues && !flags.label?.length && flags.milestone === undefined && flags.query === undefined) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      'say which issues to run: --issues, --label, --milestone or --query',
      {
        hint: 'e.g. --github owner/repo --label ready -- <command>',
      },
    );
  }
  const { tasks, skipped } = await issuesFromGitHub({
    repo: connection.repo,
    client: connection.client,
    ...(issues ? { issues } : {}),
    ...(flags.label?.length ? { labels: flags.label } : {}),
    ...(flags.milestone !== undefined ? { milestone: flags.milestone } : {}),
    ...(flags.query !== undefined ? { query: flags.query } : {}),
    signal: ctx.signal,
  });
  return { tasks, skipped };
}
