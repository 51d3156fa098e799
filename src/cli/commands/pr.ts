import { branchSummary, openOrUpdatePullRequest, prBody } from '../../index.js';
import { openWorkspace } from '../context.js';
import { writeLine } from '../io.js';
import { formatJson } from '../render/json.js';
import { resolveWorktree } from '../resolve-target.js';
import { connectGitHub } from '../run/github-source.js';
import type { CommandHandler } from './index.js';

/**
 * `pr <issue|id> [--github owner/repo] [--github-api-url URL] [--draft] [--reviewer R] [--remote R] [--json]`:
 * pushes the worktree's branch and opens (or updates) its pull request against its base branch.
 */
const pr: CommandHandler = async ({ operands, options }, ctx) => {
  const { manager } = await openWorkspace(ctx);
  try {
    const worktree = await resolveWorktree(manager, String(operands[0]));
    // The token and repository are checked before the push.
    const { repo, client } = await connectGitHub(
      {
        github: typeof options.github === 'string' ? options.github : undefined,
        githubApiUrl: typeof options.githubApiUrl === 'string' ? options.githubApiUrl : undefined,
      },
      ctx,
    );
    const issue = await client.octokit
      .request('GET /repos/{owner}/{repo}/issues/{issue_number}', {
        ...repo,
        issue_number: worktree.issueNumber,
        request: { signal: ctx.signal },
      })
      .then((response) => response.data)
      .catch(() => undefined);
    const remote = typeof options.remote === 'string' ? options.remote : 'origin';
    await manager.pushWorktree(worktree.id, { remote, signal: ctx.signal });
    const summary = await branchSummary({
      cwd: worktree.path,
      base: worktree.baseBranch,
      head: worktree.branchName,
      signal: ctx.signal,
    }).catch(() => undefined);
    const result = await openOrUpdatePullRequest({
      client,
      repo,
      head: worktree.branchName,
      base: worktree.baseBranch
        .replace(/^refs\/heads\//, '')
        .replace(/^refs\/remotes\/[^/]+\//, '')
        .replace(/^origin\//, ''),
      title: issue?.title || `Issue #${worktree.issueNumber}`,
      body: prBody({
        issueNumber: worktree.issueNumber,
        ...(issue ? { issueUrl: issue.html_url, issueTitle: issue.title } : {}),
        ...(summary ?? {}),
      }),
      ...(options.draft === true ? { draft: true } : {}),
      ...(Array.isArray(options.reviewer) ? { reviewers: options.reviewer as string[] } : {}),
      signal: ctx.signal,
    });
    if (options.json === true) ctx.io.stdout.write(formatJson(result));
    else writeLine(ctx.io.stdout, `Pull request ${result.created ? 'opened' : 'updated'}: ${result.url}`);
    return 0;
  } finally {
    await manager.flush();
  }
};

export default pr;
