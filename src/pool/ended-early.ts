import type { TaskError, TaskResult, TaskStage, TaskStatus, TaskUnsuccessful } from './types.js';

/**
 * The result of a task that ended without a worktree here: not started (cancelled), taken off a
 * queue, or refused by a worker. The one way such a result is made up.
 */
export function endedEarly(fields: {
  readonly issueNumber: number;
  /** The issue's variant, for an attempt of one. */
  readonly variant?: number | undefined;
  readonly status: Exclude<TaskStatus, 'success'>;
  readonly stage?: TaskStage;
  readonly error: TaskError;
  readonly durationMs: number;
  readonly worktreeId?: string;
  readonly worker?: string | undefined;
  readonly host?: string | undefined;
}): TaskUnsuccessful {
  return {
    issueNumber: fields.issueNumber,
    ...(fields.variant !== undefined ? { variant: fields.variant } : {}),
    worktreeId: fields.worktreeId ?? '',
    durationMs: fields.durationMs,
    cleanedUp: false,
    status: fields.status,
    stage: fields.stage ?? 'create',
    error: fields.error,
    ...(fields.worker ? { worker: fields.worker } : {}),
    ...(fields.host ? { host: fields.host } : {}),
  };
}

/** `result` ended unsuccessfully at `stage` after all (a follow-up failed): everything else kept. */
export function failedAt(
  result: TaskResult,
  status: Exclude<TaskStatus, 'success'>,
  stage: TaskStage,
  error: TaskError,
): TaskUnsuccessful {
  return { ...result, status, stage, error };
}
