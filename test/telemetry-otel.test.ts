import {
  type Context,
  type ContextManager,
  context,
  metrics,
  propagation,
  ROOT_CONTEXT,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  type MetricData,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WorktreePool } from '../src/index.js';
import { METRIC_NAMES } from '../src/telemetry/otel-metrics.js';
import {
  activeTraceparent,
  SPAN_NAMES as NAMES,
  SPAN_NAMES,
  startTaskSpan,
} from '../src/telemetry/otel-spans.js';
import { Telemetry } from '../src/telemetry/telemetry.js';
import { createTempRepo } from './helpers/temp-repo.js';

describe('OpenTelemetry without an SDK', () => {
  it('is a no-op: spans do not record and recording events works', async () => {
    const task = startTaskSpan({ issueNumber: 1 });
    expect(task.span.isRecording()).toBe(false);
    await task.step('create', async () => 'ok');
    task.end('success');
    const telemetry = new Telemetry();
    telemetry.record({ type: 'create-complete', worktreeId: 'w', path: '/p', durationMs: 1 });
    expect((await telemetry.stats()).creates).toBe(1);
  });
});

describe('OpenTelemetry with the SDK registered', () => {
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({
    exporter: metricExporter,
    exportIntervalMillis: 3_600_000,
  });
  const meterProvider = new MeterProvider({ readers: [reader] });

  beforeAll(() => {
    expect(trace.setGlobalTracerProvider(tracerProvider)).toBe(true);
    expect(metrics.setGlobalMeterProvider(meterProvider)).toBe(true);
    expect(propagation.setGlobalPropagator(new W3CTraceContextPropagator())).toBe(true);
  });
  afterAll(async () => {
    trace.disable();
    metrics.disable();
    propagation.disable();
    await tracerProvider.shutdown();
    await meterProvider.shutdown();
  });
  beforeEach(() => spans.reset());

  async function collected(): Promise<Map<string, MetricData>> {
    metricExporter.reset();
    await reader.forceFlush();
    const byName = new Map<string, MetricData>();
    for (const resource of metricExporter.getMetrics()) {
      for (const scope of resource.scopeMetrics) {
        expect(scope.scope.name).toBe('miyabi-worktree');
        for (const metric of scope.metrics) byName.set(metric.descriptor.name, metric);
      }
    }
    return byName;
  }

  it('records one task span with create, execute and cleanup children', async () => {
    const task = startTaskSpan({ issueNumber: 42, branch: 'feature/issue-42', batchId: 'batch-7' });
    const info = await task.step('create', async () => ({
      id: 'issue-42-deadbeef',
      branchName: 'feature/issue-42',
    }));
    task.setWorktree(info);
    const execute = task.child('execute', { 'miyabi.agent.type': 'codegen' });
    execute.end();
    execute.end(); // idempotent
    await expect(
      task.step('cleanup', async () => {
        throw new Error('disk full');
      }),
    ).rejects.toThrow('disk full');
    task.end('success');
    task.end('failed'); // ignored: already ended

    const finished = spans.getFinishedSpans();
    expect(finished.map((s) => s.name).sort()).toEqual(
      [SPAN_NAMES.task, SPAN_NAMES.create, SPAN_NAMES.execute, SPAN_NAMES.cleanup].sort(),
    );
    const root = finished.find((s) => s.name === SPAN_NAMES.task);
    expect(root?.attributes).toMatchObject({
      'miyabi.issue.number': 42,
      'miyabi.branch': 'feature/issue-42',
      'miyabi.batch.id': 'batch-7',
      'miyabi.worktree.id': 'issue-42-deadbeef',
      'miyabi.task.outcome': 'success',
    });
    expect(root?.status.code).toBe(SpanStatusCode.OK);
    for (const child of finished.filter((s) => s !== root)) {
      expect(child.parentSpanContext?.spanId).toBe(root?.spanContext().spanId);
      expect(child.spanContext().traceId).toBe(root?.spanContext().traceId);
      expect(child.attributes['miyabi.issue.number']).toBe(42);
    }
    expect(finished.find((s) => s.name === SPAN_NAMES.execute)?.attributes['miyabi.agent.type']).toBe(
      'codegen',
    );
    const cleanup = finished.find((s) => s.name === SPAN_NAMES.cleanup);
    expect(cleanup?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'disk full' });
    expect(cleanup?.events.some((e) => e.name === 'exception')).toBe(true);
  });

  it('marks a timed-out task as an error with its outcome', () => {
    const task = startTaskSpan({ issueNumber: 3 });
    task.child('execute').end(new Error('timed out after 5 ms'));
    task.end('timeout');
    const root = spans.getFinishedSpans().find((s) => s.name === SPAN_NAMES.task);
    expect(root?.attributes['miyabi.task.outcome']).toBe('timeout');
    expect(root?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'timeout' });
  });

  it('nests task spans under a parent context the application passes', () => {
    const batch = trace.getTracer('app').startSpan('batch');
    const task = startTaskSpan({ issueNumber: 9, parent: trace.setSpan(ROOT_CONTEXT, batch) });
    task.end('cancelled');
    batch.end();
    const root = spans.getFinishedSpans().find((s) => s.name === SPAN_NAMES.task);
    expect(root?.parentSpanContext?.spanId).toBe(batch.spanContext().spanId);
  });

  it('counts worktrees, tasks by outcome, errors, and records durations from recorded events', async () => {
    const telemetry = new Telemetry();
    const e = { worktreeId: 'w', issueNumber: 1 };
    telemetry.record({ type: 'create-complete', ...e, path: '/a', durationMs: 40 });
    telemetry.record({ type: 'create-complete', ...e, path: '/b', durationMs: 60 });
    telemetry.record({ type: 'execute-complete', ...e, durationMs: 1000, success: true, status: 'success' });
    telemetry.record({ type: 'execute-complete', ...e, durationMs: 3000, success: true, status: 'success' });
    telemetry.record({ type: 'execute-complete', ...e, durationMs: 5000, success: false, status: 'timeout' });
    telemetry.record({ type: 'cleanup-complete', ...e, durationMs: 7, archived: true, branchDeleted: false });
    telemetry.record({ type: 'error', ...e, operation: 'execute', code: 'TIMEOUT', message: 'slow' });

    const byName = await collected();
    const created = byName.get(METRIC_NAMES.worktreesCreated);
    expect(created?.dataPointType).toBe(DataPointType.SUM);
    expect(created?.dataPoints[0]?.value).toBe(2);

    const tasks = byName.get(METRIC_NAMES.tasks);
    const byOutcome = Object.fromEntries(
      (tasks?.dataPoints ?? []).map((p) => [p.attributes['miyabi.task.outcome'], p.value]),
    );
    expect(byOutcome).toEqual({ success: 2, timeout: 1 });

    const duration = byName.get(METRIC_NAMES.taskDuration);
    expect(duration?.dataPointType).toBe(DataPointType.HISTOGRAM);
    expect(duration?.descriptor.unit).toBe('ms');
    const success = duration?.dataPoints.find((p) => p.attributes['miyabi.task.outcome'] === 'success');
    expect(success?.value).toMatchObject({ count: 2, sum: 4000 });

    const createDuration = byName.get(METRIC_NAMES.createDuration)?.dataPoints[0]?.value;
    expect(createDuration).toMatchObject({ count: 2, sum: 100 });
    expect(byName.get(METRIC_NAMES.cleanupDuration)?.dataPoints[0]?.value).toMatchObject({
      count: 1,
      sum: 7,
    });
    expect(byName.get(METRIC_NAMES.worktreesCleanedUp)?.dataPoints[0]?.value).toBe(1);
    expect(byName.get(METRIC_NAMES.errors)?.dataPoints[0]).toMatchObject({
      value: 1,
      attributes: { 'miyabi.operation': 'execute', 'miyabi.error.code': 'TIMEOUT' },
    });
  });

  // After the metric counts: a task of its own would add to them.
  it("makes a task's span the child of a traceparent from another process (a queue's submitter)", async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const spanId = '00f067aa0ba902b7';
    const repo = createTempRepo();
    const pool = await WorktreePool.create({ repoPath: repo.path, maxConcurrency: 1 });
    const result = await pool.executeParallel(
      [{ issueNumber: 5, traceparent: `00-${traceId}-${spanId}-01` }],
      async () => 'ok',
    );
    expect(result.allSuccessful).toBe(true);
    const task = spans.getFinishedSpans().find((s) => s.name === NAMES.task);
    expect(task?.spanContext().traceId).toBe(traceId);
    expect(task?.parentSpanContext?.spanId).toBe(spanId);
  });

  it('gives the active span as a traceparent, for the jobs a submitter sends', () => {
    // A synchronous context manager: enough for a span made active around a synchronous call.
    let active: Context = ROOT_CONTEXT;
    const manager: ContextManager = {
      active: () => active,
      with: (ctx, fn, thisArg, ...args) => {
        const before = active;
        active = ctx;
        try {
          return fn.call(thisArg, ...args);
        } finally {
          active = before;
        }
      },
      bind: (_ctx, target) => target,
      enable: () => manager,
      disable: () => manager,
    };
    expect(context.setGlobalContextManager(manager)).toBe(true);
    try {
      expect(activeTraceparent()).toBeUndefined();
      const batch = trace.getTracer('app').startSpan('batch');
      const sent = context.with(trace.setSpan(ROOT_CONTEXT, batch), () => activeTraceparent());
      batch.end();
      expect(sent).toBe(`00-${batch.spanContext().traceId}-${batch.spanContext().spanId}-01`);
    } finally {
      context.disable();
    }
  });
});
