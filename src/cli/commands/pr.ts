import { openWorktreePullRequest } from '../../index.js';
import { openWorkspace } from '../context.js';
import { writeLine } from '../io.js';
import { formatJson } from '../render/json.js';
import { connectGitHub } from '../run/github-source.js';
import type { CommandHandler } from './index.js';

/**
 * `pr <issue|id> [--github owner/repo] [--github-api-url URL] [--draft] [--reviewer R] [--remote R] [--json]`:
 * pushes the worktree's branch and opens (or updates) its pull request against its base branch.
 */
const pr: CommandHandler = async ({ operands, options }, ctx) => {
  const { manager } = await openWorkspace(ctx);
  try {
    const worktree = await manager.resolveWorktree(String(operands[0]), { signal: ctx.signal });
    // The token and repository are checked before the push.
    const { repo, client } = await connectGitHub(
      {
        github: typeof options.github === 'string' ? options.github : undefined,
        githubApiUrl: typeof options.githubApiUrl === 'string' ? options.githubApiUrl : undefined,
      },
      ctx,
    );
    const remote = typeof options.remote === 'string' ? options.remote : 'origin';
    await manager.pushWorktree(worktree.id, { remote, signal: ctx.signal });
    const result = await openWorktreePullRequest(worktree, {
      client,
      repo,
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
