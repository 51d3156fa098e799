import { readFileSync } from 'node:fs';

/** Linux's clock ticks per second in /proc (USER_HZ): 100 on every architecture Linux ships. */
const TICKS_PER_SECOND = 100;

/** What /proc/<pid>/stat says about a process's tree position, memory and CPU (Linux). */
export interface ProcUsage {
  readonly pid: number;
  readonly ppid: number;
  readonly pgid: number;
  /** The program's name as the kernel keeps it (`comm`, at most 15 characters). */
  readonly comm: string;
  /** Running or sleeping: not a zombie (a zombie holds no memory). */
  readonly live: boolean;
  /** Resident memory in bytes. */
  readonly rssBytes: number;
  /** CPU seconds the process itself used (user + system). */
  readonly ownCpuSeconds: number;
  /** CPU seconds of its children it has waited for (their whole trees). */
  readonly waitedCpuSeconds: number;
}

let pageSize: number | undefined;

/** The page size /proc counts resident memory in: this process's VmRSS against its stat's pages. */
function pageBytes(): number {
  if (pageSize !== undefined) return pageSize;
  pageSize = 4096;
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const kib = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]);
    const pages = Number(statFields(readFileSync('/proc/self/stat', 'utf8'))[21]);
    // The two reads are microseconds apart: round to the nearest power of two (4K, 16K, 64K pages).
    if (kib > 0 && pages > 0) pageSize = 2 ** Math.round(Math.log2((kib * 1024) / pages));
  } catch {
    // No /proc: nothing will be sampled anyway.
  }
  return pageSize;
}

/** The fields after the parenthesised command (which may hold spaces): state, ppid, pgrp, ... */
function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** Reads /proc/<pid>/stat once; undefined when the process is gone or there is no /proc. */
export function readProcUsage(pid: number): ProcUsage | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  const f = statFields(stat);
  // proc(5): utime 14, stime 15, cutime 16, cstime 17, rss 24 (1-based over the whole line).
  const ticks = (index: number) => Number(f[index]) || 0;
  const state = f[0] ?? '';
  return {
    pid,
    ppid: Number(f[1]),
    pgid: Number(f[2]),
    comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
    live: state !== 'Z' && state !== 'X',
    rssBytes: ticks(21) * pageBytes(),
    ownCpuSeconds: (ticks(11) + ticks(12)) / TICKS_PER_SECOND,
    waitedCpuSeconds: (ticks(13) + ticks(14)) / TICKS_PER_SECOND,
  };
}
