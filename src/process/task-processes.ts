import { readFileSync } from 'node:fs';
import { listProcessIds, readProcStat } from './proc-stat.js';
import { killGroup } from './process-groups.js';
import { type TerminateTarget, terminate } from './terminate.js';

/** The environment variable that ties a task's processes to its worktree (set by the CLI's `run`). */
export const WORKTREE_ID_VAR = 'MIYABI_WORKTREE_ID';

function carriesWorktreeId(pid: number, marker: string): boolean {
  try {
    // One substring search with the NUL separators on both sides, not an array of every variable of
    // every process on the machine (that allocation was most of a removal's CPU on a busy machine).
    return `\0${readFileSync(`/proc/${pid}/environ`, 'latin1')}\0`.includes(`\0${marker}\0`);
  } catch {
    // Gone, or another user's process: not ours to stop.
    return false;
  }
}

/** This process and its ancestors: never stopped, even if they carry the id (an agent removing its own worktree). */
export function selfAndAncestors(): { pids: Set<number>; pgids: Set<number> } {
  const pids = new Set<number>();
  const pgids = new Set<number>();
  let pid = process.pid;
  while (pid > 1 && !pids.has(pid)) {
    const info = readProcStat(pid);
    if (!info) break;
    pids.add(pid);
    pgids.add(info.pgid);
    pid = info.ppid;
  }
  return { pids, pgids };
}

/**
 * Live processes whose environment names worktree `id` (a task's command and everything it
 * started, which inherit the variable), this process and its ancestors excluded. Linux only
 * (reads /proc); elsewhere always empty.
 */
export function findTaskProcesses(id: string): { pid: number; pgid: number }[] {
  const marker = `${WORKTREE_ID_VAR}=${id}`;
  const self = selfAndAncestors();
  // Every removal runs this, so one listing and one read per process: the environment first, the
  // stat only of the few that carry the id.
  const found: { pid: number; pgid: number }[] = [];
  for (const pid of listProcessIds() ?? []) {
    if (self.pids.has(pid) || !carriesWorktreeId(pid, marker)) continue;
    const stat = readProcStat(pid);
    if (stat?.live) found.push({ pid, pgid: stat.pgid });
  }
  return found;
}

/**
 * Stops the processes of a task whose runner is gone (a `run` killed with SIGKILL leaves its
 * agents running in their own process groups): SIGTERM, then SIGKILL after `graceMs` (see
 * `terminate`). A whole group is signalled only when its leader carries the id (a task's group);
 * other processes alone. Resolves with the pids that were running, once they are gone (bounded);
 * `commands` receives each one's command line, read before it was signalled.
 */
export async function stopTaskProcesses(
  id: string,
  graceMs = 2_000,
  options: { readonly commands?: Map<number, string> } = {},
): Promise<number[]> {
  const found = new Map(findTaskProcesses(id).map((p) => [p.pid, p]));
  if (found.size === 0) return [];
  const noteCommands = () => {
    if (!options.commands) return;
    for (const pid of found.keys()) {
      if (!options.commands.has(pid)) options.commands.set(pid, commandLine(pid));
    }
  };
  noteCommands();
  const self = selfAndAncestors();
  const target: TerminateTarget = {
    send(signal) {
      // Children started since the last signal are caught by a fresh scan.
      for (const p of findTaskProcesses(id)) found.set(p.pid, p);
      noteCommands();
      const taskGroups = new Set(
        [...found.values()].filter((p) => p.pid === p.pgid && !self.pgids.has(p.pgid)).map((p) => p.pgid),
      );
      for (const pgid of taskGroups) killGroup(pgid, signal);
      for (const p of found.values()) {
        if (taskGroups.has(p.pgid)) continue;
        try {
          process.kill(p.pid, signal);
        } catch {
          // Already gone.
        }
      }
    },
    alive: () =>
      [...found.keys()].some((pid) => readProcStat(pid)?.live === true) || findTaskProcesses(id).length > 0,
  };
  await terminate(target, { graceMs });
  return [...found.keys()].sort((a, b) => a - b);
}

/** A process's command line, arguments joined by spaces (as `ps` shows it); `?` once it is gone. */
export function commandLine(pid: number): string {
  try {
    const text = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+$/, '');
    return text === '' ? '?' : text.replaceAll('\0', ' ');
  } catch {
    return '?';
  }
}
