import { execFile } from 'node:child_process';
import { MiyabiError } from '../errors.js';

export interface TokenOptions {
  /** Used as is when given (trimmed). */
  readonly token?: string | undefined;
  /** Where `GITHUB_TOKEN`/`GH_TOKEN` and `gh`'s PATH come from. @default process.env */
  readonly env?: NodeJS.ProcessEnv | undefined;
  /** The host `gh auth token --hostname` is asked about. @default 'github.com' */
  readonly host?: string | undefined;
  /** How long `gh auth token` may take. @default 10_000 */
  readonly ghTimeoutMs?: number | undefined;
}

/** Where the token came from, for messages (never the token itself). */
export type TokenSource = 'option' | 'GITHUB_TOKEN' | 'GH_TOKEN' | 'gh';

export interface ResolvedToken {
  readonly token: string;
  readonly source: TokenSource;
}

/**
 * The token to call GitHub with: the option, else `GITHUB_TOKEN`, else `GH_TOKEN`, else what
 * `gh auth token` prints when the GitHub CLI is installed and logged in. None → `GITHUB_AUTH`.
 */
export async function resolveGitHubToken(options: TokenOptions = {}): Promise<ResolvedToken> {
  const env = options.env ?? process.env;
  const candidates: [TokenSource, string | undefined][] = [
    ['option', options.token],
    ['GITHUB_TOKEN', env.GITHUB_TOKEN],
    ['GH_TOKEN', env.GH_TOKEN],
  ];
  for (const [source, value] of candidates) {
    const token = value?.trim();
    if (token) return { token, source };
  }
  const fromGh = await ghAuthToken(env, options.host ?? 'github.com', options.ghTimeoutMs ?? 10_000);
  if (fromGh) return { token: fromGh, source: 'gh' };
  throw new MiyabiError(
    'GITHUB_AUTH',
    'no GitHub token: GITHUB_TOKEN and GH_TOKEN are unset and `gh auth token` gave none',
  );
}

/** What `gh auth token` prints, or undefined when gh is missing, logged out, slow or failing. */
function ghAuthToken(env: NodeJS.ProcessEnv, host: string, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(
      'gh',
      ['auth', 'token', '--hostname', host],
      { env, timeout: timeoutMs, windowsHide: true, encoding: 'utf8', maxBuffer: 64 * 1024 },
      (error, stdout) => {
        const token = error ? '' : stdout.trim();
        // One line of printable ASCII is a token; anything else (a prompt, a notice) is not.
        resolve(token && /^[\x21-\x7e]+$/.test(token) ? token : undefined);
      },
    ).stdin?.end();
  });
}
