import { readFileSync } from 'node:fs';
import { MEMORY_ENVIRONMENT_SCAN_MS, MEMORY_SAMPLE_INTERVAL_MS } from '../core/limits.js';
import type { MemoryLimitHit, TaskResources } from '../core/task-result.js';
import { listProcessIds } from './proc-stat.js';
import { type ProcUsage, readProcUsage } from './proc-usage.js';
import { killGroup } from './process-groups.js';
import { commandLine, selfAndAncestors, WORKTREE_ID_VAR } from './task-processes.js';

export interface MemoryWatch {
  /** Ends the watch; what the task's processes used, or undefined when it had none (or no /proc). */
  stop(): TaskResources | undefined;
}

interface Member {
  ppid: number;
  pgid: number;
  rssBytes: number;
  own: number;
  waited: number;
  /** CPU of gone children already counted on their own (their parent's `waited` holds it too). */
  credit: number;
}

interface Watch {
  readonly id: string;
  readonly limitBytes: number | undefined;
  readonly onExceed: ((exceeded: MemoryLimitHit) => void) | undefined;
  readonly members: Map<number, Member>;
  /** CPU seconds of members that are gone (frozen at their last sample). */
  goneCpu: number;
  peakRssBytes: number;
  /** Whether any process of the task was sampled (an in-process executor has none). */
  seen: boolean;
  exceeded: MemoryLimitHit | undefined;
}

export interface MemorySamplerOptions {
  /** @default `MEMORY_SAMPLE_INTERVAL_MS` (250) */
  readonly intervalMs?: number;
  /** @default `MEMORY_ENVIRONMENT_SCAN_MS` (2_000) */
  readonly environmentScanMs?: number;
}

const MARKER = `${WORKTREE_ID_VAR}=`;

/**
 * One per pool: reads /proc every `intervalMs` while any task is watched (one directory listing, the
 * stat of each task process and of each process not seen before) and attributes processes to tasks:
 * those whose environment names the task's worktree id, and their descendants (sticky, so a `setsid`
 * child stays the task's when its parent dies). Every `environmentScanMs` the environment of every
 * other process is read again, for escapees it could not see start. Linux only; elsewhere a watch
 * reports zeros.
 */
export class MemorySampler {
  readonly #intervalMs: number;
  readonly #environmentScanMs: number;
  readonly #watches = new Map<string, Watch>();
  /** Processes known to be no task's (their stat is not read again until the next environment scan). */
  readonly #foreign = new Set<number>();
  #timer: NodeJS.Timeout | undefined;
  #lastEnvironmentScan = Number.NEGATIVE_INFINITY;
  #self: Set<number> | undefined;
  /** This process's `comm`: a child that still has it may not have exec'd its command yet. */
  #selfComm: string | undefined;

  constructor(options: MemorySamplerOptions = {}) {
    this.#intervalMs = options.intervalMs ?? MEMORY_SAMPLE_INTERVAL_MS;
    this.#environmentScanMs = options.environmentScanMs ?? MEMORY_ENVIRONMENT_SCAN_MS;
  }

  /** Starts watching the processes of worktree `worktreeId`; with `limitBytes`, kills them all above it. */
  watch(
    worktreeId: string,
    options: { readonly limitBytes?: number; readonly onExceed?: (exceeded: MemoryLimitHit) => void } = {},
  ): MemoryWatch {
    const watch: Watch = {
      id: worktreeId,
      limitBytes: options.limitBytes,
      onExceed: options.onExceed,
      members: new Map(),
      goneCpu: 0,
      peakRssBytes: 0,
      seen: false,
      exceeded: undefined,
    };
    this.#watches.set(worktreeId, watch);
    if (!this.#timer) {
      this.#timer = setInterval(() => this.sample(), this.#intervalMs);
      this.#timer.unref();
    }
    return {
      stop: () => {
        if (this.#watches.get(worktreeId) === watch) this.#watches.delete(worktreeId);
        if (this.#watches.size === 0 && this.#timer) {
          clearInterval(this.#timer);
          this.#timer = undefined;
          this.#foreign.clear();
        }
        if (!watch.seen) return undefined;
        return {
          peakRssBytes: watch.peakRssBytes,
          cpuSeconds: round(cpuOf(watch)),
          ...(watch.exceeded ? { memoryLimit: watch.exceeded } : {}),
        };
      },
    };
  }

  /** One sample of every watched task (the timer calls it; exposed for measurements). */
  sample(): void {
    if (this.#watches.size === 0) return;
    const pids = listProcessIds();
    if (!pids) return;
    this.#self ??= selfAndAncestors().pids;
    this.#selfComm ??= readProcUsage(process.pid)?.comm;
    const now = performance.now();
    const fullScan = now - this.#lastEnvironmentScan >= this.#environmentScanMs;
    if (fullScan) this.#lastEnvironmentScan = now;
    const alive = new Set(pids);
    for (const pid of this.#foreign) if (!alive.has(pid)) this.#foreign.delete(pid);
    const owner = new Map<number, Watch>();
    for (const watch of this.#watches.values()) for (const pid of watch.members.keys()) owner.set(pid, watch);

    const usages = new Map<number, ProcUsage>();
    for (const pid of pids) {
      if (this.#self.has(pid)) continue;
      if (this.#foreign.has(pid) && !owner.has(pid)) {
        // The full scan reads the environment first, the stat only of the few that name a task.
        const escaped = fullScan ? this.#byEnvironment(pid) : undefined;
        if (!escaped) continue;
        owner.set(pid, escaped);
        this.#foreign.delete(pid);
      }
      const usage = readProcUsage(pid);
      if (usage) usages.set(pid, usage);
    }
    const resolving = new Set<number>();
    const ownerOf = (pid: number): Watch | undefined => {
      const known = owner.get(pid);
      if (known || this.#self?.has(pid) || resolving.has(pid)) return known;
      const usage = usages.get(pid);
      if (!usage) return undefined;
      resolving.add(pid);
      const found = ownerOf(usage.ppid) ?? this.#byEnvironment(pid);
      resolving.delete(pid);
      if (found) owner.set(pid, found);
      // A child of this process that still has its name may not have exec'd its command yet: look
      // at it again next time (a git this process runs has exec'd, and is no task's).
      else if (!this.#self?.has(usage.ppid) || usage.comm !== this.#selfComm) this.#foreign.add(pid);
      return found;
    };
    for (const pid of usages.keys()) ownerOf(pid);

    for (const watch of this.#watches.values()) this.#update(watch, owner, usages);
  }

  /** The watch whose worktree id the process's environment names, if any. */
  #byEnvironment(pid: number): Watch | undefined {
    let environ: string;
    try {
      environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
    } catch {
      // Gone, or another user's: not ours.
      return undefined;
    }
    let at = environ.startsWith(MARKER) ? 0 : environ.indexOf(`\0${MARKER}`) + 1;
    if (at === 0) return undefined;
    at += MARKER.length;
    const end = environ.indexOf('\0', at);
    return this.#watches.get(environ.slice(at, end === -1 ? undefined : end));
  }

  #update(watch: Watch, owner: ReadonlyMap<number, Watch>, usages: ReadonlyMap<number, ProcUsage>): void {
    // Gone members: their CPU is frozen; their parent's `waited` holds it once it reaped them.
    for (const [pid, member] of watch.members) {
      if (usages.has(pid) && owner.get(pid) === watch) continue;
      watch.goneCpu += contribution(member);
      const parent = watch.members.get(member.ppid);
      if (parent && usages.has(member.ppid)) parent.credit += member.own + member.waited;
      watch.members.delete(pid);
    }
    let total = 0;
    for (const [pid, usage] of usages) {
      if (owner.get(pid) !== watch) continue;
      const member = watch.members.get(pid);
      const rssBytes = usage.live ? usage.rssBytes : 0;
      total += rssBytes;
      if (member) {
        Object.assign(member, {
          ppid: usage.ppid,
          pgid: usage.pgid,
          rssBytes,
          own: usage.ownCpuSeconds,
          waited: usage.waitedCpuSeconds,
        });
      } else {
        watch.members.set(pid, {
          ppid: usage.ppid,
          pgid: usage.pgid,
          rssBytes,
          own: usage.ownCpuSeconds,
          waited: usage.waitedCpuSeconds,
          credit: 0,
        });
      }
    }
    if (watch.members.size > 0) watch.seen = true;
    watch.peakRssBytes = Math.max(watch.peakRssBytes, total);
    if (watch.limitBytes === undefined) return;
    if (!watch.exceeded && total > watch.limitBytes) {
      const [topPid, top] = [...watch.members].reduce((a, b) => (b[1].rssBytes > a[1].rssBytes ? b : a));
      const exceeded: MemoryLimitHit = {
        limitBytes: watch.limitBytes,
        totalBytes: total,
        top: { pid: topPid, rssBytes: top.rssBytes, command: commandLine(topPid) },
      };
      watch.exceeded = exceeded;
      this.#kill(watch);
      watch.onExceed?.(exceeded);
      return;
    }
    // Whatever the task starts after its limit was hit goes the same way.
    if (watch.exceeded) this.#kill(watch);
  }

  /** SIGKILL: a process above its limit must not grow further while it shuts down. */
  #kill(watch: Watch): void {
    const groups = new Set<number>();
    for (const [pid, member] of watch.members) if (member.pgid === pid) groups.add(pid);
    for (const pgid of groups) killGroup(pgid, 'SIGKILL');
    for (const [pid, member] of watch.members) {
      if (groups.has(member.pgid)) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
}

function contribution(member: Member): number {
  return member.own + Math.max(0, member.waited - member.credit);
}

function cpuOf(watch: Watch): number {
  let cpu = watch.goneCpu;
  for (const member of watch.members.values()) cpu += contribution(member);
  return cpu;
}

function round(seconds: number): number {
  return Math.round(seconds * 100) / 100;
}
