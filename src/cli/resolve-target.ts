import { MiyabiError, type WorktreeInfo, type WorktreeManager } from '../index.js';
import { BIN } from './bin-name.js';
import { tryParseIssueNumber } from './parse-issues.js';

/**
 * The worktree an `<issue|id>` argument names: a number (`42`, `#42`) is the single live worktree
 * of that issue; anything else is a worktree id.
 *
 * @throws MiyabiError `NOT_FOUND` when nothing matches; `INVALID_ARGUMENT` when an issue has
 * several worktrees (their ids are in the hint) or the text is neither a number nor an id.
 */
export async function resolveWorktree(manager: WorktreeManager, text: string): Promise<WorktreeInfo> {
  const issue = tryParseIssueNumber(text);
  if (issue === undefined) return manager.getWorktree(text.trim());
  const matches = (await manager.listWorktrees()).filter((w) => w.issueNumber === issue);
  const [only] = matches;
  if (only && matches.length === 1) return only;
  if (matches.length === 0) {
    // A removed worktree whose work was archived is what the user most likely means.
    const archived = (await manager.listArchives()).filter((archive) => archive.issueNumber === issue);
    const newest = archived.at(-1);
    throw new MiyabiError('NOT_FOUND', `no worktree for issue ${issue}`, {
      hint: newest
        ? `Its work was archived when its worktree was removed: bring it back with '${BIN} restore ${newest.id}'.`
        : `List worktrees with '${BIN} list'; create one with '${BIN} create ${issue}'.`,
      details: { issueNumber: issue, archives: archived.map((archive) => archive.id) },
    });
  }
  throw new MiyabiError(
    'INVALID_ARGUMENT',
    `issue ${issue} has ${matches.length} worktrees; name one by id`,
    {
      hint: `Pass one of: ${matches.map((w) => w.id).join(', ')}`,
      details: { issueNumber: issue, ids: matches.map((w) => w.id) },
    },
  );
}
