import type * as OtelApi from '@opentelemetry/api';
import type { Attributes, Context, Exception, Span } from '@opentelemetry/api';
import type { ExecutionOutcome } from './events.js';
import { otelApi } from './otel-api.js';
import { ATTRIBUTES, INSTRUMENTATION_NAME } from './otel-metrics.js';

/** The steps of a task's life, each a child span of the task span. */
export type TaskStep = 'create' | 'execute' | 'check' | 'cleanup';

/** Span names, for tests and trace queries. */
export const SPAN_NAMES = Object.freeze({
  task: 'miyabi.task',
  create: 'miyabi.task.create',
  execute: 'miyabi.task.execute',
  check: 'miyabi.task.check',
  cleanup: 'miyabi.task.cleanup',
});

export interface TaskSpanOptions {
  readonly issueNumber: number;
  readonly branch?: string;
  readonly batchId?: string;
  /** Extra attributes (e.g. `miyabi.agent.type`). */
  readonly attributes?: Attributes;
  /** Parent context. @default the active context (a batch span, if the application set one) */
  readonly parent?: Context;
}

/** One step's span. `end` is idempotent. */
export interface StepSpan {
  readonly span: Span;
  /** Context with this span active: pass it on so nested instrumentation nests under the step. */
  readonly context: Context;
  /** Ends the span; with an error it is recorded and the status set to ERROR. */
  end(error?: unknown): void;
}

/** The span of one task's whole life (create → execute → cleanup). `end` is idempotent. */
export interface TaskSpan {
  readonly span: Span;
  /** Context with the task span active, e.g. for an executor's own spans. */
  readonly context: Context;
  /** Adds what is known once the worktree exists. */
  setWorktree(worktree: { readonly id: string; readonly branchName?: string }): void;
  /** Starts a child span for a step; end it yourself. */
  child(step: TaskStep, attributes?: Attributes): StepSpan;
  /** Runs `fn` inside a child span, ending it (with the error, if `fn` throws) when `fn` settles. */
  step<T>(step: TaskStep, fn: (span: StepSpan) => Promise<T>): Promise<T>;
  /** Ends the task span with its outcome (status ERROR unless `success`). */
  end(outcome: ExecutionOutcome, error?: unknown): void;
}

/**
 * Starts the span of one task (a no-op span unless the application registered an OpenTelemetry
 * SDK). Parents are passed explicitly, so the nesting holds without a registered context manager.
 */
export function startTaskSpan(options: TaskSpanOptions): TaskSpan {
  const api = otelApi();
  if (!api) return noopTaskSpan();
  const { context, trace } = api;
  const tracer = trace.getTracer(INSTRUMENTATION_NAME);
  const span = tracer.startSpan(
    SPAN_NAMES.task,
    {
      attributes: {
        [ATTRIBUTES.issueNumber]: options.issueNumber,
        ...(options.branch !== undefined ? { [ATTRIBUTES.branch]: options.branch } : {}),
        ...(options.batchId !== undefined ? { [ATTRIBUTES.batchId]: options.batchId } : {}),
        ...options.attributes,
      },
    },
    options.parent ?? context.active(),
  );
  const taskContext = trace.setSpan(options.parent ?? context.active(), span);
  let ended = false;

  const child = (step: TaskStep, attributes?: Attributes): StepSpan => {
    const stepSpan = tracer.startSpan(
      SPAN_NAMES[step],
      { attributes: { [ATTRIBUTES.issueNumber]: options.issueNumber, ...attributes } },
      taskContext,
    );
    let stepEnded = false;
    return {
      span: stepSpan,
      context: trace.setSpan(taskContext, stepSpan),
      end(error?: unknown) {
        if (stepEnded) return;
        stepEnded = true;
        if (error !== undefined) markError(api, stepSpan, error);
        stepSpan.end();
      },
    };
  };

  return {
    span,
    context: taskContext,
    setWorktree(worktree) {
      span.setAttribute(ATTRIBUTES.worktreeId, worktree.id);
      if (worktree.branchName !== undefined) span.setAttribute(ATTRIBUTES.branch, worktree.branchName);
    },
    child,
    async step<T>(step: TaskStep, fn: (span: StepSpan) => Promise<T>): Promise<T> {
      const stepSpan = child(step);
      try {
        const value = await fn(stepSpan);
        stepSpan.end();
        return value;
      } catch (error) {
        stepSpan.end(error ?? new Error('undefined thrown'));
        throw error;
      }
    },
    end(outcome: ExecutionOutcome, error?: unknown) {
      if (ended) return;
      ended = true;
      span.setAttribute(ATTRIBUTES.outcome, outcome);
      if (outcome === 'success') span.setStatus({ code: api.SpanStatusCode.OK });
      else markError(api, span, error ?? outcome);
      span.end();
    },
  };
}

function markError(api: typeof OtelApi, span: Span, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof Error) span.recordException(error as Exception);
  span.setStatus({ code: api.SpanStatusCode.ERROR, message });
}

/**
 * The W3C `traceparent` of the active span, for a task that runs in another process (a queue's
 * worker); undefined when OpenTelemetry, a propagator or an active span is missing.
 */
export function activeTraceparent(): string | undefined {
  const api = otelApi();
  if (!api) return undefined;
  const carrier: Record<string, string> = {};
  api.propagation.inject(api.context.active(), carrier);
  return carrier.traceparent;
}

/** The context a `traceparent` from another process names, as a parent for this side's spans. */
export function contextOfTraceparent(traceparent: string): Context | undefined {
  const api = otelApi();
  if (!api) return undefined;
  return api.propagation.extract(api.ROOT_CONTEXT, { traceparent });
}

/** A span that records nothing, with the API's invalid span context (all zero ids). */
const NOOP_SPAN: Span = {
  spanContext: () => ({ traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 0 }),
  setAttribute: () => NOOP_SPAN,
  setAttributes: () => NOOP_SPAN,
  addEvent: () => NOOP_SPAN,
  addLink: () => NOOP_SPAN,
  addLinks: () => NOOP_SPAN,
  setStatus: () => NOOP_SPAN,
  updateName: () => NOOP_SPAN,
  end: () => {},
  isRecording: () => false,
  recordException: () => {},
};

/** An empty context (what the API's ROOT_CONTEXT is while nothing is registered). */
const NOOP_CONTEXT: Context = {
  getValue: () => undefined,
  setValue: () => NOOP_CONTEXT,
  deleteValue: () => NOOP_CONTEXT,
};

/** The task span while no application registered OpenTelemetry: nothing loaded, nothing recorded. */
function noopTaskSpan(): TaskSpan {
  const step: StepSpan = { span: NOOP_SPAN, context: NOOP_CONTEXT, end: () => {} };
  return {
    span: NOOP_SPAN,
    context: NOOP_CONTEXT,
    setWorktree: () => {},
    child: () => step,
    step: (_step, fn) => fn(step),
    end: () => {},
  };
}
