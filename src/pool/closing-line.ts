import { formatDuration } from '../config/duration.js';
import type { TaskResult } from './types.js';

/** What every task log's last line starts with: `logs` readers and tests find it by it. */
export const CLOSING_PREFIX = '# miyabi-worktree: ended';

/**
 * A task log's last line, from the task's result (the one source of every view): its status and
 * stage, the command's exit code when its output carries one (`run`'s and `commandExecutor`'s do),
 * the error, the merge, push and pull request outcomes, what became of the worktree, and the stray
 * processes its removal stopped. E.g.
 * `# miyabi-worktree: ended success in 2.3s · exit code 0 · merged into main (3f2a1b0) · worktree removed`.
 */
export function closingLine(result: TaskResult): string {
  const head = `${CLOSING_PREFIX} ${result.status}${result.stage ? ` at ${result.stage}` : ''} in ${formatDuration(result.durationMs)}`;
  const parts: string[] = [];
  const exit = exitOf(result.output);
  if (exit) parts.push(exit);
  if (result.error)
    parts.push(`${result.error.code ? `${result.error.code}: ` : ''}${firstLine(result.error.message)}`);
  if (result.merge) {
    const { status, into, commit } = result.merge;
    parts.push(
      status === 'up-to-date' ? `${into} already had it` : `${status} into ${into} (${commit.slice(0, 7)})`,
    );
  }
  if (result.push)
    parts.push(`pushed ${result.push.remote}/${result.push.branchName} (${result.push.commit.slice(0, 7)})`);
  if (result.pr)
    parts.push(
      `pull request #${result.pr.number} ${result.pr.created ? 'opened' : 'updated'}: ${result.pr.url}`,
    );
  if (result.resolveAttempts?.length) parts.push(`${result.resolveAttempts.length} resolve attempt(s)`);
  parts.push(
    result.keptIdle
      ? 'worktree kept idle'
      : result.cleanedUp
        ? 'worktree removed'
        : result.worktreePath
          ? `worktree kept: ${result.worktreePath}`
          : 'no worktree',
  );
  if (result.archiveRef) {
    const away = result.archivedOn && !result.archivedOn.shared ? result.archivedOn : undefined;
    parts.push(
      `work saved under ${result.archiveRef}${away ? ` in worker ${away.worker}'s clone ${away.repo}` : ''}`,
    );
  }
  if (result.stoppedProcesses?.length) {
    parts.push(
      `stopped ${result.stoppedProcesses.length} stray process(es): ${result.stoppedProcesses.join(' ')}`,
    );
  }
  return `${head}: ${parts.join(' · ')}`;
}

/** `exit code N` / `killed by SIGTERM` from an output shaped like `runCommand`'s result, else undefined. */
function exitOf(output: unknown): string | undefined {
  if (typeof output !== 'object' || output === null) return undefined;
  const { exitCode, signal } = output as { exitCode?: unknown; signal?: unknown };
  if (typeof exitCode === 'number') return `exit code ${exitCode}`;
  if (typeof signal === 'string') return `killed by ${signal}`;
  return undefined;
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? '';
}
