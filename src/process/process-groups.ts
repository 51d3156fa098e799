import { HAS_PROC, listProcStats } from './proc-stat.js';

/**
 * A checkout this tool does not own (the user's) that a process writes in: killing that process
 * midway leaves the checkout half-updated, so a forced stop lets it finish first (bounded).
 */
export interface ProtectedCheckout {
  /** The checkout's path. */
  readonly path: string;
  /** What the user runs to finish or undo the update if the process had to be killed midway. */
  readonly repair: string;
}

/** Process groups started by runCommand and runGit that may still be alive (their leader's pid). */
const live = new Map<number, ProtectedCheckout | undefined>();
let refusing = false;

/** Tracks a group; during a forced stop an unprotected newcomer is killed at once (it raced the refusal). */
export function rememberGroup(pid: number, protectedCheckout?: ProtectedCheckout): void {
  live.set(pid, protectedCheckout);
  if (refusing && !protectedCheckout) killGroup(pid, 'SIGKILL');
}

export function forgetGroup(pid: number): void {
  live.delete(pid);
}

/** The tracked groups, with the checkout each protects, if any. */
export function trackedGroups(): [pid: number, protectedCheckout: ProtectedCheckout | undefined][] {
  return [...live];
}

/** From now on runCommand and runGit start nothing (a forced stop is under way). */
export function refuseNewProcesses(): void {
  refusing = true;
}

/** True once a forced stop began: callers must not start processes. */
export function newProcessesRefused(): boolean {
  return refusing;
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
 * Signals every process group runCommand or runGit started that is still alive, including a git run
 * in the user's checkout (which it may leave half-updated: `forceStopProcessGroups` lets those finish).
 * Returns how many groups were signalled.
 */
export function killAllProcessGroups(signal: NodeJS.Signals = 'SIGKILL'): number {
  let count = 0;
  for (const pid of live.keys()) {
    if (groupAlive(pid)) {
      killGroup(pid, signal);
      count++;
    }
  }
  return count;
}

/** How many process groups started by runCommand (or git runs in flight) may still be alive. */
export function liveProcessGroupCount(): number {
  return [...live.keys()].filter(groupAlive).length;
}
