import { isMiyabiError, toError } from '../errors.js';
import type { TaskError, TaskResult } from '../pool/types.js';
import type { WorktreeEvent } from '../telemetry/events.js';

/** What a worker returns for a job: the task's result as its local pool made it, and who ran it. */
export type WireResult = TaskResult & { readonly worker: string; readonly host: string };

/** A job's progress update: a worker took it, a line of output, or one of its telemetry events. */
export type WireProgress =
  | { readonly kind: 'taken'; readonly worker: string; readonly host: string }
  | { readonly kind: 'line'; readonly worker: string; readonly host: string; readonly line: string }
  | { readonly kind: 'event'; readonly worker: string; readonly host: string; readonly event: WorktreeEvent };

/** A job failure's reason as BullMQ stores it (a string): the coded error as JSON. */
export function encodeFailure(error: unknown, worker: string, host: string): string {
  const err = toError(error);
  return JSON.stringify({
    message: err.message,
    ...(isMiyabiError(err) ? { code: err.code, hint: err.hint } : {}),
    worker,
    host,
  });
}

/** A job's failed reason back as a task error, and the worker that reported it when it says. */
export function decodeFailure(reason: string | undefined): TaskError & { worker?: string; host?: string } {
  if (reason) {
    try {
      const value = JSON.parse(reason) as Record<string, unknown>;
      if (typeof value.message === 'string') {
        return {
          message: value.message,
          ...(typeof value.code === 'string' ? { code: value.code } : {}),
          ...(typeof value.hint === 'string' ? { hint: value.hint } : {}),
          ...(typeof value.worker === 'string' ? { worker: value.worker } : {}),
          ...(typeof value.host === 'string' ? { host: value.host } : {}),
        };
      }
    } catch {
      // BullMQ's own reasons (stalled too often, ...) are plain text.
    }
  }
  return { message: reason || 'the job failed on the queue' };
}
