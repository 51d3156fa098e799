/** Lifecycle event names, in the order a task normally produces them. */
export type WorktreeEventType =
  | 'create-start'
  | 'create-complete'
  | 'execute-start'
  | 'execute-complete'
  | 'cleanup-start'
  | 'cleanup-complete'
  | 'error';

/** Every event type, in lifecycle order: for validation and exhaustive iteration. */
export const WORKTREE_EVENT_TYPES: readonly WorktreeEventType[] = [
  'create-start',
  'create-complete',
  'execute-start',
  'execute-complete',
  'cleanup-start',
  'cleanup-complete',
  'error',
];

/** How a task execution ended (on `execute-complete`). */
export type ExecutionOutcome = 'success' | 'failed' | 'timeout' | 'cancelled';

/** Every execution outcome; all but `success` count as failed executions. */
export const EXECUTION_OUTCOMES: readonly ExecutionOutcome[] = ['success', 'failed', 'timeout', 'cancelled'];

interface EventBase {
  /** The worktree's id; for a `create-start` the id it is about to get. */
  readonly worktreeId: string;
  readonly issueNumber?: number;
  readonly branch?: string;
  /** ISO 8601. */
  readonly timestamp: string;
  /** Groups the events of one pool batch, so stats can be scoped to it. */
  readonly batchId?: string;
  /** The process that recorded the event (stamped by `Telemetry.record`). */
  readonly pid?: number;
}

export interface CreateStartEvent extends EventBase {
  readonly type: 'create-start';
}
export interface CreateCompleteEvent extends EventBase {
  readonly type: 'create-complete';
  readonly durationMs: number;
  readonly path: string;
}
export interface ExecuteStartEvent extends EventBase {
  readonly type: 'execute-start';
}
export interface ExecuteCompleteEvent extends EventBase {
  readonly type: 'execute-complete';
  readonly durationMs: number;
  readonly success: boolean;
  readonly status: ExecutionOutcome;
}
export interface CleanupStartEvent extends EventBase {
  readonly type: 'cleanup-start';
}
export interface CleanupCompleteEvent extends EventBase {
  readonly type: 'cleanup-complete';
  readonly durationMs: number;
  readonly archived: boolean;
  readonly branchDeleted: boolean;
}
export interface ErrorEvent extends EventBase {
  readonly type: 'error';
  /** Which step failed: create, execute, cleanup, merge, push, ... */
  readonly operation: string;
  readonly code?: string;
  readonly message: string;
  readonly durationMs?: number;
}

/** Every event the manager and the pool emit, discriminated by `type`. Plain JSON data. */
export type WorktreeEvent =
  | CreateStartEvent
  | CreateCompleteEvent
  | ExecuteStartEvent
  | ExecuteCompleteEvent
  | CleanupStartEvent
  | CleanupCompleteEvent
  | ErrorEvent;

/** Distributes `Omit` over the union so each member keeps its own fields. */
export type WorktreeEventInput = WorktreeEvent extends infer E
  ? E extends WorktreeEvent
    ? Omit<E, 'timestamp'> & { timestamp?: string }
    : never
  : never;
