import { expandBranchPattern } from '../config/config-types.js';
import type { WorktreeInfo } from '../core/types.js';
import { MiyabiError } from '../errors.js';
import { listArchives } from './archives.js';
import type { ManagerContext } from './context.js';
import { listWorktrees } from './list-worktrees.js';
import { parseIssueOrId } from './validate.js';

/**
 * The live worktree `issueOrId` names: a number (`42`, `'42'`, `'#42'`) is the only worktree of
 * that issue, anything else a worktree id.
 *
 * @throws MiyabiError `NOT_FOUND` (the ids of live worktrees, and of the issue's archives, in
 * `details`), `INVALID_ARGUMENT` when the issue has several worktrees or the value is neither an
 * issue number nor a well-formed id (`-1`, `../x`).
 */
export async function resolveWorktree(
  ctx: ManagerContext,
  issueOrId: string | number,
  signal?: AbortSignal,
): Promise<WorktreeInfo> {
  const { issue, id, variant } = parseIssueOrId(issueOrId);
  const trimmed = id ?? String(issue);
  const worktrees = await listWorktrees(ctx, signal);
  // A variant (`42/v2`) is found by its branch: the pattern's, or any task branch with `-v<k>`.
  const ofVariant = (w: WorktreeInfo) =>
    variant === undefined ||
    w.branchName === expandBranchPattern(ctx.branchPattern, w.issueNumber, variant) ||
    w.branchName.endsWith(`-v${variant}`);
  const matches = worktrees.filter((w) =>
    issue === undefined ? w.id === trimmed : w.issueNumber === issue && ofVariant(w),
  );
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
        ? [
            'It was removed; its work was archived: ',
            { call: 'restoreWorktree', id: newest.id },
            ' brings it back.',
          ]
        : worktrees.length > 0
          ? `Live worktrees: ${worktrees.map((w) => `${w.id} (#${w.issueNumber})`).join(', ')}.`
          : ['There is no live worktree; ', { call: 'listArchives' }, ' lists the work of removed ones.'],
      details: {
        ...(issue === undefined ? { id: trimmed } : { issueNumber: issue }),
        known: worktrees.map((w) => w.id),
        archives: archives.map((archive) => archive.id),
      },
    },
  );
}
