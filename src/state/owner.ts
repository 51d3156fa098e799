import { hostname } from 'node:os';
import type { Owner } from '../core/types.js';
import { HAS_PROC, readProcStat } from '../process/proc-stat.js';

export function currentOwner(): Owner {
  return { pid: process.pid, host: hostname() };
}

/** True when `owner` is a process on this host that still runs (a different host counts as alive). */
export function isOwnerAlive(owner: Owner | undefined): boolean {
  if (!owner) return false;
  if (owner.host !== hostname()) return true;
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed process whose parent has not reaped it yet (or never will: PID 1 in a container) is dead.
  const stat = readProcStat(owner.pid);
  return stat ? stat.live : !HAS_PROC;
}
