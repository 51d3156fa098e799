import { existsSync, readdirSync } from 'node:fs';
import { readProcUsage } from './proc-usage.js';

/** Whether this system has Linux's /proc (else callers fall back to what kill(pid, 0) says). */
export const HAS_PROC = existsSync('/proc/self/stat');

/** What /proc/<pid>/stat says about a process (Linux). */
export interface ProcStat {
  readonly pid: number;
  readonly ppid: number;
  readonly pgid: number;
  /** Running or sleeping: not a zombie waiting to be reaped (in containers PID 1 may never reap). */
  readonly live: boolean;
}

/** Reads /proc/<pid>/stat; undefined when the process is gone or there is no /proc. */
export function readProcStat(pid: number): ProcStat | undefined {
  const usage = readProcUsage(pid);
  return usage && { pid, ppid: usage.ppid, pgid: usage.pgid, live: usage.live };
}

/** Every process id /proc lists (one directory read); undefined when there is no /proc to read. */
export function listProcessIds(): number[] | undefined {
  try {
    return readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .map(Number);
  } catch {
    return undefined;
  }
}

/** Every process /proc lists, with its stat; undefined when there is no /proc to read. */
export function listProcStats(): ProcStat[] | undefined {
  const pids = listProcessIds();
  if (!pids) return undefined;
  const stats: ProcStat[] = [];
  for (const pid of pids) {
    const stat = readProcStat(pid);
    if (stat) stats.push(stat);
  }
  return stats;
}
