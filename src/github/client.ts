import type { Octokit } from '@octokit/core';
import type { PaginateInterface } from '@octokit/plugin-paginate-rest';
import type { ThrottlingOptions } from '@octokit/plugin-throttling';
import { MiyabiError } from '../errors.js';
import { type Logger, safeLog, silentLogger } from '../log.js';
import { toGitHubError } from './api-errors.js';
import { redact, redactValue } from './redact.js';
import { resolveGitHubToken, type TokenSource } from './token.js';

/** Octokit with the pagination, retry and throttling plugins. */
export type GitHubOctokit = Octokit & { paginate: PaginateInterface };

export const DEFAULT_GITHUB_API_URL = 'https://api.github.com';

export interface GitHubClientOptions {
  /** A token; else `GITHUB_TOKEN`, `GH_TOKEN`, then `gh auth token` when `gh` is installed. */
  readonly token?: string | undefined;
  /** The REST API root (GitHub Enterprise: `https://HOST/api/v3`). @default 'https://api.github.com' */
  readonly baseUrl?: string | undefined;
  /** Rate-limit waits and API warnings go here; the token never does. @default silentLogger */
  readonly logger?: Logger | undefined;
  /** Where the token variables (and `gh`'s PATH) are read. @default process.env */
  readonly env?: NodeJS.ProcessEnv | undefined;
  /**
   * `'github'` spaces writes 1 s, notifying writes (new pull requests, review requests) 3 s and
   * searches 2 s apart, as GitHub asks of integrations; `'off'` only for a server you run (tests).
   * @default 'github'
   */
  readonly pacing?: 'github' | 'off' | undefined;
  /** The longest rate-limit wait to sit out before failing with `GITHUB_RATE_LIMITED`. @default 300 */
  readonly maxRateLimitWaitSeconds?: number | undefined;
}

/** A GitHub REST client that knows how to keep its token out of every message. */
export interface GitHubClient {
  readonly octokit: GitHubOctokit;
  /** The REST API root in use, without a trailing slash. */
  readonly baseUrl: string;
  /** Where the token came from (never the token). */
  readonly tokenSource: TokenSource;
  /** A failed call as a coded `MiyabiError`, the token redacted. */
  toError(error: unknown, what: string): MiyabiError;
  /** `text` with the token replaced by `[REDACTED]`. */
  redact(text: string): string;
}

// Rate-limit retries per request before its 403/429 is reported.
const MAX_RATE_LIMIT_RETRIES = 3;

/**
 * Creates a client: resolves the token first (none → `GITHUB_AUTH`, before any request), then loads
 * Octokit lazily so commands that never talk to GitHub do not pay for it.
 */
export async function createGitHubClient(options: GitHubClientOptions = {}): Promise<GitHubClient> {
  const baseUrl = normaliseBaseUrl(options.baseUrl ?? DEFAULT_GITHUB_API_URL);
  const { token, source } = await resolveGitHubToken({
    token: options.token,
    env: options.env,
    host: ghHostFor(baseUrl),
  });
  const logger = options.logger ?? silentLogger;
  const maxWait = options.maxRateLimitWaitSeconds ?? 300;
  const [{ Octokit: Core }, { paginateRest }, { retry }, { throttling }] = await Promise.all([
    import('@octokit/core'),
    import('@octokit/plugin-paginate-rest'),
    import('@octokit/plugin-retry'),
    import('@octokit/plugin-throttling'),
  ]);
  const Client = Core.plugin(paginateRest, retry, throttling);
  const log = (level: keyof Logger) => (message: string, extra?: unknown) =>
    safeLog(
      logger,
      level,
      extra === undefined ? {} : { detail: redactValue(extra, token) },
      redact(String(message), token),
    );
  const onLimit =
    (kind: 'rate limit' | 'secondary rate limit') =>
    (retryAfter: number, request: { method: string; url: string }, _octokit: unknown, retryCount: number) => {
      const retrying = retryCount < MAX_RATE_LIMIT_RETRIES && retryAfter <= maxWait;
      safeLog(
        logger,
        'warn',
        { method: request.method, url: request.url, retryAfterSeconds: retryAfter, retryCount },
        retrying
          ? `GitHub ${kind} hit: waiting ${retryAfter} s, then retrying`
          : `GitHub ${kind} hit: giving up`,
      );
      return retrying;
    };
  const octokit = new Client({
    auth: token,
    baseUrl,
    userAgent: 'miyabi-worktree',
    log: { debug: () => {}, info: () => {}, warn: log('warn'), error: log('error') },
    throttle: {
      onRateLimit: onLimit('rate limit'),
      onSecondaryRateLimit: onLimit('secondary rate limit'),
      ...(options.pacing === 'off' ? unpaced() : {}),
    } as ThrottlingOptions,
  }) as unknown as GitHubOctokit;
  return {
    octokit,
    baseUrl,
    tokenSource: source,
    toError: (error, what) => toGitHubError(error, what, token),
    redact: (text) => redact(text, token),
  };
}

/** Per-request options that carry the caller's abort signal to fetch. */
export function withSignal(signal: AbortSignal | undefined): { request?: { signal: AbortSignal } } {
  return signal ? { request: { signal } } : {};
}

// Stand-ins for the throttling plugin's spacing groups that run each job at once.
function unpaced(): Partial<ThrottlingOptions> {
  const group = { key: () => ({ schedule: (_options: unknown, job: () => Promise<unknown>) => job() }) };
  return { write: group, search: group, notifications: group } as unknown as Partial<ThrottlingOptions>;
}

function normaliseBaseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new MiyabiError('INVALID_ARGUMENT', `"${value}" is not a URL for the GitHub API`, {
      hint: 'Pass the REST API root, e.g. https://api.github.com or https://ghe.example.com/api/v3.',
    });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new MiyabiError('INVALID_ARGUMENT', `the GitHub API URL must be http(s), not ${url.protocol}`, {
      hint: 'Pass the REST API root, e.g. https://api.github.com or https://ghe.example.com/api/v3.',
    });
  }
  if (url.username || url.password) {
    throw new MiyabiError('INVALID_ARGUMENT', 'the GitHub API URL must not carry credentials', {
      hint: 'Pass the token through GITHUB_TOKEN (or `gh auth login`), not in the URL.',
    });
  }
  return url.href.replace(/\/+$/, '');
}

/** The host `gh` knows the token under: github.com for the public API, else the API's host. */
function ghHostFor(baseUrl: string): string {
  const host = new URL(baseUrl).host;
  return host === 'api.github.com' ? 'github.com' : host;
}
