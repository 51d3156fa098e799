import { readFileSync } from 'node:fs';
import type { Owner } from '../core/types.js';
import { currentOwner, isOwnerAlive } from './owner.js';

/**
 * The process that runs a batch, told apart from a later process that got its pid: the machine's
 * boot id and the process's start time (Linux /proc; absent elsewhere, where the pid alone counts).
 */
export interface BatchOwner extends Owner {
  /** `/proc/sys/kernel/random/boot_id` when the batch started. */
  readonly bootId?: string;
  /** The process's start time, in clock ticks since boot (`/proc/<pid>/stat` field 22). */
  readonly startTime?: number;
}

/** This process, as a batch's owner. */
export function currentBatchOwner(): BatchOwner {
  const bootId = readBootId();
  const startTime = processStartTime(process.pid);
  return {
    ...currentOwner(),
    ...(bootId !== undefined ? { bootId } : {}),
    ...(startTime !== undefined ? { startTime } : {}),
  };
}

/**
 * True while the batch's own runner still runs: its pid alive, on this boot, started when it did
 * (a pid reused after a reboot or by another process is not the runner).
 */
export function isBatchOwnerAlive(owner: BatchOwner | undefined): boolean {
  if (!owner || !isOwnerAlive(owner)) return false;
  if (owner.bootId !== undefined) {
    const bootId = readBootId();
    if (bootId !== undefined && bootId !== owner.bootId) return false;
  }
  if (owner.startTime !== undefined) {
    const startTime = processStartTime(owner.pid);
    if (startTime !== undefined && startTime !== owner.startTime) return false;
  }
  return true;
}

function readBootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/<pid>/stat (after the parenthesised command, which may hold spaces). */
function processStartTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const value = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    return Number.isFinite(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
