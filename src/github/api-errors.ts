import { isMiyabiError, MiyabiError } from '../errors.js';
import { redact } from './redact.js';

/** The fields of an Octokit `RequestError` we read (duck-typed: the class loads lazily). */
interface RequestErrorLike {
  readonly status: number;
  readonly message: string;
  readonly response?: {
    readonly headers?: Readonly<Record<string, string | number | undefined>>;
    readonly data?: unknown;
  };
}

function isRequestError(error: unknown): error is RequestErrorLike {
  return error instanceof Error && typeof (error as { status?: unknown }).status === 'number';
}

/**
 * A failed GitHub call as a `MiyabiError`: 401 → `GITHUB_AUTH`, 404/410 → `GITHUB_NOT_FOUND`, a used-up
 * rate limit → `GITHUB_RATE_LIMITED`, anything else → `GITHUB_API` with GitHub's own message.
 * `what` says what was being done ("list issues of o/r"). The token never reaches the result:
 * messages are redacted and the Octokit error (which holds the request) is not kept as `cause`.
 */
export function toGitHubError(error: unknown, what: string, token: string | undefined): MiyabiError {
  if (isMiyabiError(error)) return error;
  if (error instanceof Error && error.name === 'AbortError') {
    return new MiyabiError('CANCELLED', `${what}: cancelled`);
  }
  if (!isRequestError(error)) {
    const message = redact(error instanceof Error ? error.message : String(error), token);
    return new MiyabiError('GITHUB_API', `${what}: ${message}`, {
      hint: 'GitHub could not be reached; check the network and --github-api-url.',
    });
  }
  const status = error.status;
  const apiMessage = redact(apiMessageOf(error), token);
  const details = { status };
  if (status === 401) {
    return new MiyabiError('GITHUB_AUTH', `${what}: GitHub refused the token (401 ${apiMessage})`, {
      details,
    });
  }
  if (status === 404 || status === 410) {
    return new MiyabiError('GITHUB_NOT_FOUND', `${what}: not found (${status} ${apiMessage})`, { details });
  }
  if ((status === 403 || status === 429) && isRateLimit(error)) {
    return new MiyabiError('GITHUB_RATE_LIMITED', `${what}: ${apiMessage}`, { details });
  }
  return new MiyabiError('GITHUB_API', `${what}: GitHub answered ${status}: ${apiMessage}`, { details });
}

/** GitHub's `message` plus the details of a validation error (`errors[].message`), on one line. */
function apiMessageOf(error: RequestErrorLike): string {
  const data = error.response?.data;
  if (data && typeof data === 'object' && 'message' in data && typeof data.message === 'string') {
    const errors: unknown = (data as { errors?: unknown }).errors;
    const extra = Array.isArray(errors)
      ? errors
          .map((item) =>
            item && typeof item === 'object' && 'message' in item && typeof item.message === 'string'
              ? item.message
              : item && typeof item === 'object' && 'code' in item
                ? String(item.code)
                : '',
          )
          .filter(Boolean)
      : [];
    return extra.length > 0 ? `${data.message}: ${extra.join('; ')}` : data.message;
  }
  return error.message.replace(/\s*-\s*https:\/\/docs\.github\.com\S*$/, '');
}

function isRateLimit(error: RequestErrorLike): boolean {
  return error.response?.headers?.['x-ratelimit-remaining'] === '0' || /rate limit/i.test(error.message);
}
