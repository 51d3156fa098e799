import type { Overlap, TaskRef } from '../core/overlap.js';
import type { TaskStage, TaskStatus } from '../core/task.js';
import type { TaskUsage } from '../core/task-result.js';

export type { Overlap, TaskRef, TaskStage };

/** Lifecycle event names, in the order a task normally produces them. */
export type WorktreeEventType =
  | 'slot-wait'
  | 'memory-wait'
  | 'create-start'
  | 'create-complete'
  | 'setup-start'
  | 'setup-complete'
  | 'execute-start'
  | 'execute-complete'
  | 'check-start'
  | 'check-complete'
  | 'task-paused'
  | 'task-resumed'
  | 'pool-paused'
  | 'pool-unpaused'
  | 'merge-start'
  | 'merge-complete'
  | 'push-start'
  | 'push-complete'
  | 'cleanup-start'
  | 'cleanup-complete'
  | 'task-complete'
  | 'overlap'
  | 'error';

/** Every event type, in lifecycle order: for validation and exhaustive iteration. */
export const WORKTREE_EVENT_TYPES: readonly WorktreeEventType[] = [
  'slot-wait',
  'memory-wait',
  'create-start',
  'create-complete',
  'setup-start',
  'setup-complete',
  'execute-start',
  'execute-complete',
  'check-start',
  'check-complete',
  'task-paused',
  'task-resumed',
  'pool-paused',
  'pool-unpaused',
  'merge-start',
  'merge-complete',
  'push-start',
  'push-complete',
  'cleanup-start',
  'cleanup-complete',
  'task-complete',
  'overlap',
  'error',
];

/** Every stage, in lifecycle order. */
export const TASK_STAGES: readonly TaskStage[] = [
  'create',
  'setup',
  'execute',
  'check',
  'merge',
  'push',
  'pr',
  'cleanup',
];

/** How a task execution ended (on `execute-complete`). */
export type ExecutionOutcome = TaskStatus;

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

/** A create waits for a slot: this manager already holds `maxConcurrency` active worktrees. */
export interface SlotWaitEvent extends EventBase {
  readonly type: 'slot-wait';
  /** The active worktrees holding this manager's slots; one must leave `active` first. */
  readonly heldBy: readonly string[];
}
/**
 * A pool task waits to start (`minFreeMemory`): available memory is below the minimum while other
 * tasks of its batch run. Recorded once per task held; `worktreeId` is `issue-<n>` (no worktree exists yet).
 */
export interface MemoryWaitEvent extends EventBase {
  readonly type: 'memory-wait';
  /** Memory available when it began to wait, in bytes (see `minFreeMemory`). */
  readonly availableBytes: number;
  readonly minFreeBytes: number;
  /** Tasks of the batch running then. */
  readonly running: number;
}
export interface CreateStartEvent extends EventBase {
  readonly type: 'create-start';
}
export interface CreateCompleteEvent extends EventBase {
  readonly type: 'create-complete';
  readonly durationMs: number;
  readonly path: string;
}
export interface SetupStartEvent extends EventBase {
  readonly type: 'setup-start';
}
export interface SetupCompleteEvent extends EventBase {
  readonly type: 'setup-complete';
  readonly durationMs: number;
  /** Files copied because `.worktreeinclude` lists them. */
  readonly copied: number;
  /** Setup commands that ran. */
  readonly commands: number;
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
/** A landing check starts on a candidate: the task's branch on top of `into`'s tip (`target`). */
export interface CheckStartEvent extends EventBase {
  readonly type: 'check-start';
  readonly into: string;
  readonly candidate: string;
  readonly target: string;
  /** Commits the candidate adds to the target. */
  readonly ahead: number;
  /** With `check.batch`: how many tasks' branches this one run checks together (this one's included). */
  readonly together?: number;
}
export interface CheckCompleteEvent extends EventBase {
  readonly type: 'check-complete';
  readonly durationMs: number;
  readonly into: string;
  readonly candidate: string;
  readonly ok: boolean;
  readonly exitCode: number | null;
  readonly timedOut: boolean;
}
/**
 * A task's command stopped at a provider's usage limit (its last lines said so): the task waits, in
 * its worktree, until `until`, then runs again (`task-resumed`). A live state, not a result.
 */
export interface TaskPausedEvent extends EventBase {
  readonly type: 'task-paused';
  /** ISO 8601: when the task runs again. */
  readonly until: string;
  /** Which recogniser saw the limit: `claude`, `codex`, `gemini` or `pause-on`. */
  readonly source: string;
  /** The text that said so. */
  readonly text: string;
  /** This task's pauses so far, this one included. */
  readonly count: number;
}
/** A paused task runs again in its worktree (with `MIYABI_RESUMED=1` and `MIYABI_ATTEMPT`). */
export interface TaskResumedEvent extends EventBase {
  readonly type: 'task-resumed';
  /** How long it waited. */
  readonly durationMs: number;
  /** The attempt that starts now (2 for the first resume). */
  readonly attempt: number;
}
/**
 * The pool starts no new task (of `program`, else none at all) until `until` (absent: until
 * `pool.unpause()`). `worktreeId` names the task that met the limit, or is `pool` for `pool.pause()`.
 */
export interface PoolPausedEvent extends EventBase {
  readonly type: 'pool-paused';
  readonly until?: string;
  /** The program (argv[0]) whose tasks wait; absent: every task. */
  readonly program?: string;
  readonly reason: 'usage-limit' | 'caller';
}
/** The pause ended (its reset time came, or `pool.unpause()`): tasks start again. */
export interface PoolUnpausedEvent extends EventBase {
  readonly type: 'pool-unpaused';
  readonly program?: string;
  /** How long the pool was paused. */
  readonly durationMs: number;
}
export interface MergeStartEvent extends EventBase {
  readonly type: 'merge-start';
  readonly into: string;
}
export interface MergeCompleteEvent extends EventBase {
  readonly type: 'merge-complete';
  readonly durationMs: number;
  readonly into: string;
  readonly status: 'merged' | 'fast-forwarded' | 'up-to-date';
  readonly commit: string;
}
export interface PushStartEvent extends EventBase {
  readonly type: 'push-start';
  readonly remote: string;
}
export interface PushCompleteEvent extends EventBase {
  readonly type: 'push-complete';
  readonly durationMs: number;
  readonly remote: string;
  readonly commit: string;
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
/** A pool task's final outcome: its command and every follow-up (merge, push) it asked for. */
export interface TaskCompleteEvent extends EventBase {
  readonly type: 'task-complete';
  readonly durationMs: number;
  readonly status: ExecutionOutcome;
  /** Where an unsuccessful task ended. */
  readonly stage?: TaskStage;
  /** The error code of an unsuccessful task, e.g. `MERGE_CONFLICT`. */
  readonly code?: string;
  /** Set when the task's merge met a conflict: whether it was resolved and merged in the end. */
  readonly conflict?: 'resolved' | 'unresolved';
  /** The pull request the task opened or updated. */
  readonly pullRequest?: string;
  /** With a queue: the worker that ran the task (name, default host-pid). */
  readonly worker?: string;
  /** With a queue: that worker's host name. */
  readonly host?: string;
  /** Its command's memory peak in bytes and CPU seconds (`TaskResult.resources`), when measured. */
  readonly peakRssBytes?: number;
  readonly cpuSeconds?: number;
  /** The tokens and cost its agent reported (`TaskResult.usage`): the `miyabi.task.tokens` and `miyabi.task.cost` metrics. */
  readonly usage?: TaskUsage;
}

/**
 * The conflict radar saw a pair of live task branches overlap (or stop overlapping: `files` empty),
 * once per change of the pair's result. `worktreeId`, `issueNumber` and `branch` name `b`, the later task.
 */
export interface OverlapEvent extends EventBase, Overlap {
  readonly type: 'overlap';
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
  | SlotWaitEvent
  | MemoryWaitEvent
  | CreateStartEvent
  | CreateCompleteEvent
  | SetupStartEvent
  | SetupCompleteEvent
  | ExecuteStartEvent
  | ExecuteCompleteEvent
  | CheckStartEvent
  | CheckCompleteEvent
  | TaskPausedEvent
  | TaskResumedEvent
  | PoolPausedEvent
  | PoolUnpausedEvent
  | MergeStartEvent
  | MergeCompleteEvent
  | PushStartEvent
  | PushCompleteEvent
  | CleanupStartEvent
  | CleanupCompleteEvent
  | TaskCompleteEvent
  | OverlapEvent
  | ErrorEvent;

/** Each event type's event, for typed listeners: `manager.on('task-complete', (e) => e.status)`. */
export type WorktreeEventMap = { readonly [K in WorktreeEventType]: Extract<WorktreeEvent, { type: K }> } & {
  /** Every event. */
  readonly event: WorktreeEvent;
};

/** Distributes `Omit` over the union so each member keeps its own fields. */
export type WorktreeEventInput = WorktreeEvent extends infer E
  ? E extends WorktreeEvent
    ? Omit<E, 'timestamp'> & { timestamp?: string }
    : never
  : never;
