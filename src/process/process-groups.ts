import { HAS_PROC, listProcStats } from './proc-stat.js';

/** Process groups started by runCommand and runGit that may still be alive (their leader's pid). */
const live = new Set<number>();

export function rememberGroup(pid: number): void {
  live.add(pid);
}

export function forgetGroup(pid: number): void {
  live.delete(pid);
}

/** True while any process of the group is running (zombies waiting to be reaped do not count). */
export function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // In containers PID 1 may never reap orphans; a group of zombies is dead for our purposes.
  return HAS_PROC ? procGroupHasLiveMember(pid) : true;
}

function procGroupHasLiveMember(pgid: number): boolean {
  return listProcStats()?.some((stat) => stat.pgid === pgid && stat.live) ?? true;
}

export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: already gone.
  }
}

/**
 * Signals every process group runCommand or runGit started that is still alive (for a second Ctrl-C, when
 * there is no time left for a graceful stop). Returns how many groups were signalled.
 */
export function killAllProcessGroups(signal: NodeJS.Signals = 'SIGKILL'): number {
  let count = 0;
  for (const pid of live) {
    if (groupAlive(pid)) {
      killGroup(pid, signal);
      count++;
    }
  }
  return count;
}

/** How many process groups started by runCommand (or git runs in flight) may still be alive. */
export function liveProcessGroupCount(): number {
  return [...live].filter(groupAlive).length;
}
