import { groupAlive, killGroup } from './process-groups.js';

/** What can be stopped: a process group, or a task's processes spread over several groups. */
export interface TerminateTarget {
  /** Sends `signal` to everything the target holds (already gone is not an error). */
  send(signal: NodeJS.Signals): void;
  /** True while anything of the target still runs (zombies do not count). */
  alive(): boolean;
}

export interface TerminateOptions {
  /** How long the target has to exit after SIGTERM before it gets SIGKILL. @default 2_000 */
  readonly graceMs?: number;
  /** How long to wait for the target to disappear after SIGKILL before giving up. @default 5_000 */
  readonly killWaitMs?: number;
}

/**
 * How a termination ended: `already-gone` (nothing ran), `exited` (gone within the grace period
 * after SIGTERM), `killed` (gone after SIGKILL), `survived` (still there after SIGKILL's wait:
 * an uninterruptible process, or one in another user's group).
 */
export type TerminateOutcome = 'already-gone' | 'exited' | 'killed' | 'survived';

// How often liveness is polled: processes give no event when a group empties.
const POLL_MS = 25;

/**
 * The one way this library stops processes: SIGTERM, a bounded wait observed by polling the
 * target's liveness, then SIGKILL and another bounded wait. Resolves with what happened.
 */
export async function terminate(
  target: TerminateTarget,
  options: TerminateOptions = {},
): Promise<TerminateOutcome> {
  if (!target.alive()) return 'already-gone';
  target.send('SIGTERM');
  if (await goneWithin(target, options.graceMs ?? 2_000)) return 'exited';
  target.send('SIGKILL');
  return (await goneWithin(target, options.killWaitMs ?? 5_000)) ? 'killed' : 'survived';
}

/** A process group, named by its leader's pid. */
export function processGroup(pgid: number): TerminateTarget {
  return { send: (signal) => killGroup(pgid, signal), alive: () => groupAlive(pgid) };
}

/** Polls `alive` until it says no (true) or `ms` pass (false). */
export async function goneWithin(target: Pick<TerminateTarget, 'alive'>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (target.alive()) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return true;
}
