import { appendFile } from 'node:fs/promises';
import { safeLog } from '../log.js';
import { stopTaskProcesses } from '../process/task-processes.js';
import { readTaskLog } from '../state/task-log-records.js';
import type { ManagerContext } from './context.js';

/** Longest command line quoted per process in a task's log. */
const COMMAND_CHARS = 120;

/**
 * Stops the processes a task left running in worktree `id` (see `stopTaskProcesses`: e.g. a server
 * started with `setsid`, which escaped its command's process group) and says so: in the logger and
 * as a line of the task's log, when a batch task ran there. Returns their pids.
 */
export async function stopStrayProcesses(ctx: ManagerContext, id: string): Promise<number[]> {
  const commands = new Map<number, string>();
  const pids = await stopTaskProcesses(id, undefined, { commands });
  if (pids.length === 0) return pids;
  safeLog(
    ctx.logger,
    'warn',
    { worktreeId: id, pids },
    'stopped processes of a task still running in the worktree',
  );
  const listed = pids
    .map((pid) => `${pid} (${(commands.get(pid) ?? '?').slice(0, COMMAND_CHARS)})`)
    .join(', ');
  // Best effort: the log may be gone (logRetention), or the worktree never ran a batch task.
  const record = await readTaskLog(ctx.repo.stateDir, id).catch(() => undefined);
  if (record) {
    await appendFile(
      record.logFile,
      `# miyabi-worktree: stopped ${pids.length} process(es) the task left running in its worktree: ${listed}\n`,
    ).catch(() => {});
  }
  return pids;
}
