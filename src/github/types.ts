import type { IssueContext, WorktreeTask } from '../core/task.js';
import type { Logger } from '../log.js';

export type { IssueContext };

/** A repository on GitHub, as `owner/repo` names it. */
export interface GitHubRepo {
  readonly owner: string;
  readonly repo: string;
}

/**
 * A task made from a GitHub issue.
 * (`context` lives here until `WorktreeTask` carries an optional `context` of its own.)
 */
export interface GitHubWorktreeTask extends WorktreeTask {
  readonly description: string;
  readonly context: IssueContext;
}

/** Why an issue that was asked for, or that a filter listed, will not be run. */
export type SkipReason = 'closed' | 'pull-request' | 'not-found' | 'not-matching';

export interface SkippedIssue {
  readonly issueNumber: number;
  readonly reason: SkipReason;
  /** The title, when GitHub gave one. */
  readonly title?: string;
}

/** How to reach GitHub; every function that talks to it takes these. */
export interface GitHubConnectionOptions {
  /** A token; else `GITHUB_TOKEN`, `GH_TOKEN`, then `gh auth token` when `gh` is installed. */
  readonly token?: string | undefined;
  /** The REST API root (GitHub Enterprise: `https://HOST/api/v3`). @default 'https://api.github.com' */
  readonly baseUrl?: string | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Receives rate-limit waits and API warnings; never the token. @default silentLogger */
  readonly logger?: Logger | undefined;
  /** Where `GITHUB_TOKEN`/`GH_TOKEN` (and `gh`'s PATH) are read. @default process.env */
  readonly env?: NodeJS.ProcessEnv | undefined;
}
