import { createServer, type IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An issue (or, with `pullRequest`, a pull request as the issues API lists it) the server holds. */
export interface FakeIssue {
  readonly number: number;
  readonly title: string;
  readonly body?: string | null;
  readonly state?: 'open' | 'closed';
  readonly labels?: readonly string[];
  readonly milestone?: number;
  readonly pullRequest?: boolean;
}

export interface FakePull {
  number: number;
  title: string;
  body: string;
  head: string;
  base: string;
  draft: boolean;
  state: 'open' | 'closed';
  requestedReviewers: string[];
  labels: string[];
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly authorization: string | undefined;
  readonly body: unknown;
  /** performance.now() when it arrived. */
  readonly at: number;
}

/** A canned answer given instead of the normal one to the next `times` matching requests. */
export interface CannedAnswer {
  readonly method?: string;
  readonly path: RegExp;
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** The JSON body. */
  readonly body?: unknown;
  /** The JSON body as a function of the request (e.g. to echo what the client sent). */
  readonly reply?: (request: RecordedRequest) => unknown;
  times?: number;
}

export interface FakeGitHubOptions {
  /** The one token the server accepts. */
  readonly token: string;
  /** `owner/repo` names that exist. @default ['octo/hello'] */
  readonly repos?: readonly string[];
  readonly issues?: readonly FakeIssue[];
  readonly milestones?: readonly { readonly number: number; readonly title: string }[];
}

/** A GitHub REST API stand-in on 127.0.0.1: the endpoints miyabi-worktree uses, requests recorded. */
export interface FakeGitHub {
  /** The API root to pass as `baseUrl`. */
  readonly url: string;
  readonly requests: RecordedRequest[];
  readonly issues: FakeIssue[];
  readonly pulls: FakePull[];
  /** Answer the next matching request(s) with this instead. */
  answer(canned: CannedAnswer): void;
  /**
   * Does what matching requests ask (a pull request is opened) but never answers them, as to a
   * client that dies waiting; returns what ends it (later requests are answered).
   */
  withhold(method: string, path: RegExp): () => void;
  /** Requests whose method and path match. */
  requestsTo(method: string, path: RegExp): RecordedRequest[];
  close(): Promise<void>;
}

const HTML = 'https://github.example';

/** Starts the server on a random port of 127.0.0.1. */
export async function startFakeGitHub(options: FakeGitHubOptions): Promise<FakeGitHub> {
  const repos = new Set(options.repos ?? ['octo/hello']);
  const issues: FakeIssue[] = [...(options.issues ?? [])];
  const milestones = [...(options.milestones ?? [])];
  const pulls: FakePull[] = [];
  const requests: RecordedRequest[] = [];
  const canned: CannedAnswer[] = [];
  const withheld: { method: string; path: RegExp }[] = [];
  let url = '';

  const nextNumber = () => Math.max(0, ...issues.map((i) => i.number), ...pulls.map((p) => p.number)) + 1;

  const issueJson = (repo: string, issue: FakeIssue) => ({
    number: issue.number,
    title: issue.title,
    body: issue.body ?? null,
    state: issue.state ?? 'open',
    html_url: `${HTML}/${repo}/${issue.pullRequest ? 'pull' : 'issues'}/${issue.number}`,
    labels: (issue.labels ?? []).map((name) => ({ name })),
    milestone:
      issue.milestone === undefined
        ? null
        : {
            number: issue.milestone,
            title: milestones.find((m) => m.number === issue.milestone)?.title ?? '',
          },
    ...(issue.pullRequest ? { pull_request: { url: `${url}/repos/${repo}/pulls/${issue.number}` } } : {}),
  });

  const pullJson = (repo: string, pull: FakePull) => ({
    number: pull.number,
    title: pull.title,
    body: pull.body,
    state: pull.state,
    draft: pull.draft,
    html_url: `${HTML}/${repo}/pull/${pull.number}`,
    head: { label: pull.head, ref: pull.head.split(':')[1] ?? pull.head },
    base: { ref: pull.base },
    requested_reviewers: pull.requestedReviewers.map((login) => ({ login })),
    labels: pull.labels.map((name) => ({ name })),
  });

  /** One page of `items` and the Link header that leads to the others, as GitHub does. */
  const paginate = (
    res: ServerResponse,
    path: string,
    query: Record<string, string>,
    items: unknown[],
    wrap?: (page: unknown[]) => unknown,
  ) => {
    const perPage = Math.min(100, Number(query.per_page ?? 30));
    const page = Math.max(1, Number(query.page ?? 1));
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const link = (p: number, rel: string) => {
      const params = new URLSearchParams({ ...query, page: String(p) });
      return `<${url}${path}?${params}>; rel="${rel}"`;
    };
    const links: string[] = [];
    if (page < last) links.push(link(page + 1, 'next'), link(last, 'last'));
    if (page > 1) links.push(link(1, 'first'), link(page - 1, 'prev'));
    const slice = items.slice((page - 1) * perPage, page * perPage);
    send(res, 200, wrap ? wrap(slice) : slice, links.length > 0 ? { link: links.join(', ') } : {});
  };

  const route = (req: RecordedRequest, res: ServerResponse) => {
    const { method, path, query } = req;
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (method === 'GET' && path === '/search/issues') {
      const q = query.q ?? '';
      const repo = /repo:(\S+)/.exec(q)?.[1] ?? '';
      const found = issues
        .filter((issue) => matchesSearch(q, issue, milestones))
        .map((i) => issueJson(repo, i));
      return paginate(res, path, query, found, (items) => ({
        total_count: found.length,
        incomplete_results: false,
        items,
      }));
    }
    const match = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(path);
    const repo = match ? `${match[1]}/${match[2]}` : '';
    if (!match || !repos.has(repo)) return send(res, 404, notFound);
    const rest = match[3] ?? '';
    if (method === 'GET' && rest === '') {
      return send(res, 200, { full_name: repo, default_branch: 'main', html_url: `${HTML}/${repo}` });
    }
    if (method === 'GET' && rest === '/issues') {
      const state = query.state ?? 'open';
      const labels = (query.labels ?? '').split(',').filter(Boolean);
      const list = issues
        .filter((issue) => state === 'all' || (issue.state ?? 'open') === state)
        .filter((issue) => labels.every((label) => issue.labels?.includes(label)))
        .filter((issue) => milestoneMatches(query.milestone, issue))
        .sort((a, b) => (query.direction === 'asc' ? a.number - b.number : b.number - a.number))
        .map((issue) => issueJson(repo, issue));
      return paginate(res, path, query, list);
    }
    if (method === 'GET' && rest === '/milestones') {
      return paginate(res, path, query, milestones);
    }
    const issueMatch = /^\/issues\/(\d+)$/.exec(rest);
    if (method === 'GET' && issueMatch) {
      const issue = issues.find((i) => i.number === Number(issueMatch[1]));
      return issue ? send(res, 200, issueJson(repo, issue)) : send(res, 404, notFound);
    }
    if (method === 'GET' && rest === '/pulls') {
      const list = pulls
        .filter((pull) => (query.state ?? 'open') === 'all' || pull.state === (query.state ?? 'open'))
        .filter((pull) => query.head === undefined || pull.head === query.head)
        .map((pull) => pullJson(repo, pull));
      return paginate(res, path, query, list);
    }
    if (method === 'POST' && rest === '/pulls') {
      const pull: FakePull = {
        number: nextNumber(),
        title: String(body.title),
        body: String(body.body ?? ''),
        head: String(body.head).includes(':') ? String(body.head) : `${match[1]}:${String(body.head)}`,
        base: String(body.base),
        draft: body.draft === true,
        state: 'open',
        requestedReviewers: [],
        labels: [],
      };
      pulls.push(pull);
      return send(res, 201, pullJson(repo, pull));
    }
    const pullMatch = /^\/pulls\/(\d+)(\/requested_reviewers)?$/.exec(rest);
    const pull = pullMatch ? pulls.find((p) => p.number === Number(pullMatch[1])) : undefined;
    if (pullMatch && !pull) return send(res, 404, notFound);
    if (method === 'PATCH' && pull && !pullMatch?.[2]) {
      if (typeof body.title === 'string') pull.title = body.title;
      if (typeof body.body === 'string') pull.body = body.body;
      if (typeof body.base === 'string') pull.base = body.base;
      return send(res, 200, pullJson(repo, pull));
    }
    if (method === 'POST' && pull && pullMatch?.[2]) {
      for (const login of (body.reviewers as string[] | undefined) ?? []) {
        if (!pull.requestedReviewers.includes(login)) pull.requestedReviewers.push(login);
      }
      return send(res, 201, pullJson(repo, pull));
    }
    const labelsMatch = /^\/issues\/(\d+)\/labels$/.exec(rest);
    const labelled = labelsMatch ? pulls.find((p) => p.number === Number(labelsMatch[1])) : undefined;
    if (method === 'POST' && labelled) {
      for (const name of (body.labels as string[] | undefined) ?? []) {
        if (!labelled.labels.includes(name)) labelled.labels.push(name);
      }
      return send(
        res,
        200,
        labelled.labels.map((name) => ({ name })),
      );
    }
    return send(res, 404, notFound);
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const parsed = new URL(req.url ?? '/', 'http://127.0.0.1');
      const text = Buffer.concat(chunks).toString('utf8');
      const recorded: RecordedRequest = {
        method: req.method ?? 'GET',
        path: parsed.pathname,
        query: Object.fromEntries(parsed.searchParams),
        authorization: req.headers.authorization,
        body: text ? JSON.parse(text) : undefined,
        at: performance.now(),
      };
      requests.push(recorded);
      const index = canned.findIndex(
        (c) => (c.method === undefined || c.method === recorded.method) && c.path.test(recorded.path),
      );
      const answer = canned[index];
      if (answer) {
        answer.times = (answer.times ?? 1) - 1;
        if (answer.times <= 0) canned.splice(index, 1);
        const payload = answer.reply ? answer.reply(recorded) : answer.body;
        return send(res, answer.status, payload, answer.headers ?? {});
      }
      if (withheld.some((w) => w.method === recorded.method && w.path.test(recorded.path))) {
        // Done, its answer written nowhere: the client's request stays open.
        return route(recorded, new ServerResponse(req));
      }
      const auth = recorded.authorization ?? '';
      if (auth !== `token ${options.token}` && auth !== `Bearer ${options.token}`) {
        return send(res, 401, {
          message: 'Bad credentials',
          documentation_url: 'https://docs.github.com/rest',
        });
      }
      route(recorded, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    issues,
    pulls,
    answer: (c) => canned.push({ ...c }),
    withhold: (method, path) => {
      const rule = { method, path };
      withheld.push(rule);
      return () => {
        withheld.splice(withheld.indexOf(rule), 1);
      };
    },
    requestsTo: (method, path) => requests.filter((r) => r.method === method && path.test(r.path)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const notFound = { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' };

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

function milestoneMatches(wanted: string | undefined, issue: FakeIssue): boolean {
  if (wanted === undefined) return true;
  if (wanted === '*') return issue.milestone !== undefined;
  if (wanted === 'none') return issue.milestone === undefined;
  return issue.milestone === Number(wanted);
}

/** The few search qualifiers tests use: is:open/closed/issue/pr, label:, milestone:, free words. */
function matchesSearch(
  q: string,
  issue: FakeIssue,
  milestones: readonly { number: number; title: string }[],
): boolean {
  const tokens = q.match(/\S+:"[^"]*"|\S+/g) ?? [];
  return tokens.every((token) => {
    const [key, ...rest] = token.split(':');
    const value = rest.join(':').replace(/^"|"$/g, '');
    if (rest.length === 0) {
      const text = `${issue.title} ${issue.body ?? ''}`.toLowerCase();
      return text.includes(token.toLowerCase());
    }
    switch (key) {
      case 'repo':
        return true;
      case 'is':
        if (value === 'open' || value === 'closed') return (issue.state ?? 'open') === value;
        if (value === 'issue') return !issue.pullRequest;
        if (value === 'pr') return issue.pullRequest === true;
        return true;
      case 'label':
        return issue.labels?.includes(value) ?? false;
      case 'milestone':
        return milestones.find((m) => m.title === value)?.number === issue.milestone;
      default:
        return true;
    }
  });
}
