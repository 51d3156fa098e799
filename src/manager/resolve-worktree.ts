import { describe } from '../core/describe.js';
import type { WorktreeInfo } from '../core/types.js';
import { MiyabiError } from '../errors.js';
import { listArchives } from './archives.js';
import type { ManagerContext } from './context.js';
import { listWorktrees } from './list-worktrees.js';

/**
 * The live worktree `issueOrId` names: a number (`42`, `'42'`, `'#42'`) is the only worktree of
 * that issue, anything else a worktree id.
 *
 * @throws MiyabiError `NOT_FOUND` (the ids of live worktrees, and of the issue's archives, in
 * `details`), `INVALID_ARGUMENT` when the issue has several worktrees or the value is empty.
 */
export async function resolveWorktree(
  ctx: ManagerContext,
  issueOrId: string | number,
  signal?: AbortSignal,
): Promise<WorktreeInfo> {
  const text = typeof issueOrId === 'number' ? String(issueOrId) : issueOrId;
  if (typeof text !== 'string' || text.trim() === '') {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `expected an issue number or a worktree id, got ${describe(issueOrId)}`,
    );
  }
  const trimmed = text.trim();
  const issue = /^#?\d+$/.test(trimmed) ? Number(trimmed.replace('#', '')) : undefined;
  const worktrees = await listWorktrees(ctx, signal);
  const matches = worktrees.filter((w) => (issue === undefined ? w.id === trimmed : w.issueNumber === issue));
  const [only] = matches;
  if (only && matches.length === 1) return only;
  if (matches.length > 1) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `issue ${issue} has ${matches.length} worktrees; name one by id`,
      {
        hint: `Pass one of: ${matches.map((w) => w.id).join(', ')}`,
        details: { issueNumber: issue, ids: matches.map((w) => w.id) },
      },
    );
  }
  const archives = (await listArchives(ctx.repo.root, signal)).filter((archive) =>
    issue === undefined ? archive.id === trimmed : archive.issueNumber === issue,
  );
  const newest = archives.at(-1);
  throw new MiyabiError(
    'NOT_FOUND',
    issue === undefined ? `no worktree with id '${trimmed}'` : `no worktree for issue ${issue}`,
    {
      hint: newest
        ? `It was removed; its work was archived: restoreWorktree('${newest.id}') brings it back.`
        : `Live worktrees: ${worktrees.map((w) => `${w.id} (#${w.issueNumber})`).join(', ') || 'none'}.`,
      details: {
        ...(issue === undefined ? { id: trimmed } : { issueNumber: issue }),
        known: worktrees.map((w) => w.id),
        archives: archives.map((archive) => archive.id),
      },
    },
  );
}
