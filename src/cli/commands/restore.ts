import { MiyabiError, type WorktreeManager } from '../../index.js';
import { BIN } from '../bin-name.js';
import { openWorkspace } from '../context.js';
import { writeLine } from '../io.js';
import { parseIssueNumber, tryParseIssueNumber } from '../parse-issues.js';
import { formatJson } from '../render/json.js';
import type { CommandHandler } from './index.js';

/**
 * `restore <id> [--issue N] [--json]`: recreates a removed worktree from `refs/miyabi/archive/<id>` (its
 * branch and uncommitted files). An issue number works when that issue has exactly one archive.
 * Prints the new `WorktreeInfo` (it has a new id) with `--json`.
 */
const restore: CommandHandler = async ({ operands, options }, ctx) => {
  const { manager } = await openWorkspace(ctx);
  try {
    const id = await archiveId(manager, String(operands[0]), ctx.signal);
    const issueNumber =
      options.issue === undefined ? undefined : parseIssueNumber(String(options.issue), '--issue');
    const worktree = await manager.restoreWorktree(id, {
      signal: ctx.signal,
      ...(issueNumber !== undefined ? { issueNumber } : {}),
    });
    if (options.json === true) {
      ctx.io.stdout.write(formatJson(worktree));
    } else {
      writeLine(ctx.io.stdout, `Restored ${id} as ${worktree.id} on branch ${worktree.branchName}`);
      writeLine(ctx.io.stdout, worktree.path);
    }
    return 0;
  } finally {
    await manager.flush();
  }
};

/** The archive id `text` names: an id as is, or the only archive of an issue number. */
async function archiveId(manager: WorktreeManager, text: string, signal: AbortSignal): Promise<string> {
  const issue = tryParseIssueNumber(text);
  if (issue === undefined) return text.trim();
  const matches = (await manager.listArchives({ signal })).filter((a) => a.issueNumber === issue);
  const [only] = matches;
  if (only && matches.length === 1) return only.id;
  if (matches.length === 0) {
    throw new MiyabiError('NOT_FOUND', `no archived worktree of issue ${issue}`, {
      hint: `'${BIN} status' lists the archives that can be restored.`,
    });
  }
  throw new MiyabiError('INVALID_ARGUMENT', `issue ${issue} has ${matches.length} archives; name one by id`, {
    hint: `Pass one of: ${matches.map((a) => a.id).join(', ')}`,
  });
}

export default restore;
