import type { RemoveResult } from '../../index.js';
import { BIN } from '../bin-name.js';

// Apart from the worktree table: `remove` need not load the table's text-width libraries (~40 ms).
/** What a removal did, for people: one line, plus how to restore when work was archived. */
export function describeRemoval(result: RemoveResult, options: { readonly dryRun?: boolean } = {}): string[] {
  const verb = options.dryRun ? 'would remove' : 'removed';
  // An idle slot (detached, between tasks) has no branch to speak of.
  const branch = !result.branchName
    ? 'idle, no branch'
    : result.branchDeleted
      ? options.dryRun
        ? `branch ${result.branchName} would be deleted`
        : `branch ${result.branchName} deleted`
      : `branch ${result.branchName} kept${result.branchKeptReason ? ` (${result.branchKeptReason})` : ''}`;
  const lines = [`${verb} ${result.id} (${result.path}); ${branch}`];
  const stopped = result.stoppedProcesses ?? [];
  if (stopped.length > 0) {
    lines.push(
      `  ${options.dryRun ? 'would first stop' : 'first stopped'} ${stopped.length} process(es) of its task still running in it: ${stopped.join(' ')}`,
    );
  }
  const archived = result.archived;
  if (archived) {
    const what = [
      archived.uncommittedPaths.length > 0 ? `${archived.uncommittedPaths.length} uncommitted file(s)` : '',
      archived.unmergedCommits > 0 ? `${archived.unmergedCommits} unmerged commit(s)` : '',
    ]
      .filter(Boolean)
      .join(' and ');
    lines.push(
      `  ${options.dryRun ? 'would save' : 'saved'} ${what || 'its work'} under ${archived.ref}` +
        `${options.dryRun ? '' : `; bring it back with: ${BIN} restore ${result.id}`}`,
    );
  }
  if (result.forced && !options.dryRun) lines.push('  forced: uncommitted files were not archived');
  return lines;
}
