import {
  groupAlive,
  killGroup,
  type ProtectedCheckout,
  refuseNewProcesses,
  trackedGroups,
} from './process-groups.js';
import { goneWithin, processGroup, terminate } from './terminate.js';

/** A tracked git run in a checkout this tool does not own. */
export interface ProtectedRun extends ProtectedCheckout {
  /** Its process group (leader's pid). */
  readonly pid: number;
}

export interface ForceStopOptions {
  /** How long protected runs (git writing in the user's checkout) may take to finish. @default 30_000 */
  readonly protectedWaitMs?: number;
  /** Called once, before the wait, with the protected runs it waits for (not called when there are none). */
  readonly onWait?: (runs: readonly ProtectedRun[], waitMs: number) => void;
}

export interface ForcedStopResult {
  /** Groups killed at once with SIGKILL (task commands, git in our own worktrees). */
  readonly killed: number;
  /** Protected runs that finished within the wait: their checkouts are consistent. */
  readonly finished: readonly ProtectedRun[];
  /** Protected runs still running after the wait and then terminated: their checkouts are left mid-update. */
  readonly interrupted: readonly ProtectedRun[];
}

/**
 * The forced stop (a second Ctrl-C): refuses new processes, SIGKILLs every tracked group at once
 * except git runs in a checkout this tool does not own, lets those finish (bounded by
 * `protectedWaitMs`) and terminates what is still running after that, reporting it with its repair.
 */
export async function forceStopProcessGroups(options: ForceStopOptions = {}): Promise<ForcedStopResult> {
  refuseNewProcesses();
  const waitMs = options.protectedWaitMs ?? 30_000;
  let killed = 0;
  const waiting: ProtectedRun[] = [];
  for (const [pid, checkout] of trackedGroups()) {
    if (!groupAlive(pid)) continue;
    if (checkout) {
      waiting.push({ pid, ...checkout });
      continue;
    }
    killGroup(pid, 'SIGKILL');
    killed++;
  }
  if (waiting.length === 0) return { killed, finished: [], interrupted: [] };
  options.onWait?.(waiting, waitMs);
  await goneWithin({ alive: () => waiting.some((run) => groupAlive(run.pid)) }, waitMs);
  const interrupted = waiting.filter((run) => groupAlive(run.pid));
  // SIGTERM first: git removes its lock files on a catchable signal.
  await Promise.all(interrupted.map((run) => terminate(processGroup(run.pid), { graceMs: 1_000 })));
  return { killed, finished: waiting.filter((run) => !interrupted.includes(run)), interrupted };
}
