import type { WorktreeEvent } from './events.js';

/** A task waiting out a usage limit right now, as its events tell. */
export interface PausedTask {
  readonly worktreeId: string;
  readonly issueNumber?: number;
  /** ISO 8601: when it runs again. */
  readonly until: string;
  /** Which recogniser saw the limit. */
  readonly source: string;
}

/**
 * The tasks whose latest event of `task-paused`, `task-resumed` and `task-complete` is a pause: the
 * live `paused` state that `status` shows (never a result status).
 */
export function pausedTasks(events: readonly WorktreeEvent[]): PausedTask[] {
  const latest = new Map<string, WorktreeEvent>();
  for (const event of events) {
    if (event.type === 'task-paused' || event.type === 'task-resumed' || event.type === 'task-complete') {
      latest.set(event.worktreeId, event);
    }
  }
  return [...latest.values()].flatMap((event) =>
    event.type === 'task-paused'
      ? [
          {
            worktreeId: event.worktreeId,
            ...(event.issueNumber !== undefined ? { issueNumber: event.issueNumber } : {}),
            until: event.until,
            source: event.source,
          },
        ]
      : [],
  );
}
