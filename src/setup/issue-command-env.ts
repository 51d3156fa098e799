import type { IssueContext } from '../core/task.js';
import { issueEnvironment, writeIssueFile } from '../github/issue-text.js';

/**
 * The `MIYABI_ISSUE_*` variables of a task's command, with the issue's whole body written beside
 * its log as `MIYABI_ISSUE_FILE` (never into the worktree, where git would see it); `{}` without
 * an issue context. Local tasks and queue workers both get their issue through this.
 */
export async function issueCommandEnvironment(
  context: IssueContext | undefined,
  logFile: string,
): Promise<Record<string, string>> {
  if (!context) return {};
  const file = await writeIssueFile(context, `${logFile.replace(/\.log$/, '')}.issue.md`);
  return issueEnvironment(context, { file });
}
