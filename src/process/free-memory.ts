import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// Above this a cgroup's limit means "no limit" (v1 writes 2^63 rounded down to a page).
const UNLIMITED = 2 ** 60;

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** `MemAvailable` of /proc/meminfo in bytes; undefined without /proc. */
function memAvailable(): number | undefined {
  const kib = /^MemAvailable:\s+(\d+) kB/m.exec(readText('/proc/meminfo') ?? '')?.[1];
  return kib === undefined ? undefined : Number(kib) * 1024;
}

/** A number file of a cgroup, or undefined (missing, `max`). */
function readNumber(path: string): number | undefined {
  const text = readText(path)?.trim();
  return text === undefined || !/^\d+$/.test(text) ? undefined : Number(text);
}

/** The folders of this process's memory cgroup to look in: its own path, then the namespace's root. */
function cgroupFolders(): { v2: string[]; v1: string[] } {
  const lines = (readText('/proc/self/cgroup') ?? '').split('\n');
  const v2Path = lines.find((line) => line.startsWith('0::'))?.slice(3);
  const v1Path = lines
    .map((line) => line.split(':'))
    .find((parts) => parts[1]?.split(',').includes('memory'))?.[2];
  return {
    v2: [...(v2Path ? [join('/sys/fs/cgroup', v2Path)] : []), '/sys/fs/cgroup'],
    v1: [...(v1Path ? [join('/sys/fs/cgroup/memory', v1Path)] : []), '/sys/fs/cgroup/memory'],
  };
}

/** Limit minus usage of this process's memory cgroup (page cache it may drop not counted); undefined when unlimited. */
function cgroupHeadroom(): number | undefined {
  const folders = cgroupFolders();
  const candidates = [
    ...folders.v2.map((dir) => ({
      dir,
      limit: 'memory.max',
      usage: 'memory.current',
      inactive: 'inactive_file',
    })),
    ...folders.v1.map((dir) => ({
      dir,
      limit: 'memory.limit_in_bytes',
      usage: 'memory.usage_in_bytes',
      inactive: 'total_inactive_file',
    })),
  ];
  for (const c of candidates) {
    const limit = readNumber(join(c.dir, c.limit));
    const usage = readNumber(join(c.dir, c.usage));
    if (limit === undefined || usage === undefined) continue;
    if (limit >= UNLIMITED) return undefined;
    const stat = readText(join(c.dir, 'memory.stat')) ?? '';
    const inactive = Number(new RegExp(`^${c.inactive} (\\d+)`, 'm').exec(stat)?.[1] ?? 0);
    return Math.max(0, limit - Math.max(0, usage - inactive));
  }
  return undefined;
}

/**
 * Memory a new task could use now, in bytes: the smaller of `MemAvailable` and, inside a memory
 * cgroup with a limit, that limit minus its usage. Undefined where neither can be read (not Linux):
 * then nothing is held back.
 */
export function availableMemoryBytes(): number | undefined {
  const machine = memAvailable();
  const cgroup = cgroupHeadroom();
  if (machine === undefined) return cgroup;
  return cgroup === undefined ? machine : Math.min(machine, cgroup);
}
