import { MiyabiError, toError } from '../errors.js';
import type { ManagerContext } from './context.js';

/** The fields every event of one worktree operation carries. */
export interface OperationEventBase {
  readonly worktreeId: string;
  readonly issueNumber?: number;
  readonly branch?: string;
  readonly batchId?: string;
}

/**
 * Records a failed operation as an `error` event (what the report counts), with its code and how
 * long it ran, and returns the failure as an Error for the caller to throw.
 */
export function recordFailure(
  ctx: ManagerContext,
  operation: string,
  eventBase: OperationEventBase,
  started: number,
  error: unknown,
): Error {
  const failure = toError(error);
  ctx.telemetry.record({
    type: 'error',
    ...eventBase,
    operation,
    message: failure.message,
    ...(failure instanceof MiyabiError ? { code: failure.code } : {}),
    durationMs: Math.round(performance.now() - started),
  });
  return failure;
}
