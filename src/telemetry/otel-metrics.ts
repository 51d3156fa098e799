import type { Counter, Histogram, MeterProvider } from '@opentelemetry/api';
import type { TaskCompleteEvent, WorktreeEvent } from './events.js';
import { otelApi } from './otel-api.js';

/** Instrumentation scope of every tracer and meter of this library. */
export const INSTRUMENTATION_NAME = 'miyabi-worktree';

/** Metric names, for dashboards and tests. */
export const METRIC_NAMES = Object.freeze({
  worktreesCreated: 'miyabi.worktrees.created',
  worktreesCleanedUp: 'miyabi.worktrees.cleaned_up',
  tasks: 'miyabi.tasks',
  errors: 'miyabi.errors',
  taskDuration: 'miyabi.task.duration',
  createDuration: 'miyabi.worktree.create.duration',
  cleanupDuration: 'miyabi.worktree.cleanup.duration',
  taskTokens: 'miyabi.task.tokens',
  taskCost: 'miyabi.task.cost',
});

/** Attribute keys shared by spans and metrics. */
export const ATTRIBUTES = Object.freeze({
  issueNumber: 'miyabi.issue.number',
  branch: 'miyabi.branch',
  worktreeId: 'miyabi.worktree.id',
  batchId: 'miyabi.batch.id',
  outcome: 'miyabi.task.outcome',
  operation: 'miyabi.operation',
  errorCode: 'miyabi.error.code',
  tokenType: 'miyabi.token.type',
  model: 'miyabi.model',
});

// Tasks run from milliseconds to the 30-minute default timeout; the SDK's default buckets stop at 10 s.
const DURATION_BUCKETS_MS = [
  10, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, 300_000, 900_000, 1_800_000,
];

interface Instruments {
  readonly worktreesCreated: Counter;
  readonly worktreesCleanedUp: Counter;
  readonly tasks: Counter;
  readonly errors: Counter;
  readonly taskDuration: Histogram;
  readonly createDuration: Histogram;
  readonly cleanupDuration: Histogram;
  readonly taskTokens: Counter;
  readonly taskCost: Counter;
}

// The metrics API has no proxy provider: instruments made before an SDK registers stay no-ops.
// So they are (re)made whenever the global provider changes.
let cached: { provider: MeterProvider; instruments: Instruments } | undefined;

function instruments(): Instruments | undefined {
  const api = otelApi();
  if (!api) return undefined;
  const provider = api.metrics.getMeterProvider();
  if (cached?.provider === provider) return cached.instruments;
  const meter = provider.getMeter(INSTRUMENTATION_NAME);
  const histogram = (name: string, description: string) =>
    meter.createHistogram(name, {
      unit: 'ms',
      description,
      advice: { explicitBucketBoundaries: DURATION_BUCKETS_MS },
    });
  const made: Instruments = {
    worktreesCreated: meter.createCounter(METRIC_NAMES.worktreesCreated, {
      unit: '{worktree}',
      description: 'Worktrees created',
    }),
    worktreesCleanedUp: meter.createCounter(METRIC_NAMES.worktreesCleanedUp, {
      unit: '{worktree}',
      description: 'Worktrees cleaned up',
    }),
    tasks: meter.createCounter(METRIC_NAMES.tasks, {
      unit: '{task}',
      description: 'Task executions that ended, by outcome',
    }),
    errors: meter.createCounter(METRIC_NAMES.errors, { unit: '{error}', description: 'Failed operations' }),
    taskDuration: histogram(METRIC_NAMES.taskDuration, 'Task execution time, by outcome'),
    createDuration: histogram(METRIC_NAMES.createDuration, 'Time to create a worktree'),
    cleanupDuration: histogram(METRIC_NAMES.cleanupDuration, 'Time to clean up a worktree'),
    taskTokens: meter.createCounter(METRIC_NAMES.taskTokens, {
      unit: '{token}',
      description: "Tokens the tasks' agents reported ($MIYABI_USAGE_FILE), by type (input, output)",
    }),
    taskCost: meter.createCounter(METRIC_NAMES.taskCost, {
      unit: 'USD',
      description: "Cost the tasks' agents reported ($MIYABI_USAGE_FILE)",
    }),
  };
  cached = { provider, instruments: made };
  return made;
}

/**
 * Updates the OpenTelemetry metrics an event stands for (a no-op until the application registers
 * a MeterProvider). `Telemetry.record` calls it for every event, so metrics and the journal agree.
 */
export function recordEventMetrics(event: WorktreeEvent): void {
  const m = instruments();
  if (!m) return;
  switch (event.type) {
    case 'create-complete':
      m.worktreesCreated.add(1);
      m.createDuration.record(event.durationMs);
      break;
    case 'execute-complete':
      m.tasks.add(1, { [ATTRIBUTES.outcome]: event.status });
      m.taskDuration.record(event.durationMs, { [ATTRIBUTES.outcome]: event.status });
      break;
    case 'task-complete':
      if (event.usage) recordUsage(m, event.usage);
      break;
    case 'cleanup-complete':
      m.worktreesCleanedUp.add(1);
      m.cleanupDuration.record(event.durationMs);
      break;
    case 'error':
      m.errors.add(1, {
        [ATTRIBUTES.operation]: event.operation,
        ...(event.code !== undefined ? { [ATTRIBUTES.errorCode]: event.code } : {}),
      });
      break;
    default:
      break;
  }
}

function recordUsage(m: Instruments, usage: NonNullable<TaskCompleteEvent['usage']>): void {
  const model = usage.model !== undefined ? { [ATTRIBUTES.model]: usage.model } : {};
  if (usage.inputTokens !== undefined) {
    m.taskTokens.add(usage.inputTokens, { [ATTRIBUTES.tokenType]: 'input', ...model });
  }
  if (usage.outputTokens !== undefined) {
    m.taskTokens.add(usage.outputTokens, { [ATTRIBUTES.tokenType]: 'output', ...model });
  }
  if (usage.costUsd !== undefined) m.taskCost.add(usage.costUsd, model);
}
