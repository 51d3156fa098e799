import { metrics } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand, WorktreePool } from '../src/index.js';
import { METRIC_NAMES } from '../src/telemetry/otel-metrics.js';
import { createTempRepo } from './helpers/temp-repo.js';

describe('OpenTelemetry metrics of what each task cost', () => {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  beforeAll(() => {
    expect(metrics.setGlobalMeterProvider(provider)).toBe(true);
  });
  afterAll(async () => {
    metrics.disable();
    await provider.shutdown();
  });

  it('adds the tokens (by type and model) and the cost each agent wrote to $MIYABI_USAGE_FILE', async () => {
    const repo = createTempRepo();
    const pool = await WorktreePool.create({ repoPath: repo.path });
    const result = await pool.executeSimple([1, 2], async (path, issue, ctx) => {
      const usage = JSON.stringify({
        inputTokens: 100 * issue,
        outputTokens: 10,
        costUsd: 0.125,
        model: 'm',
      });
      await runCommand(
        [
          process.execPath,
          '-e',
          `require('node:fs').writeFileSync(process.env.MIYABI_USAGE_FILE, ${JSON.stringify(usage)})`,
        ],
        { cwd: path, signal: ctx.signal, env: ctx.env },
      );
    });
    expect(result.successCount).toBe(2);
    await reader.forceFlush();
    const points = (name: string) =>
      exporter
        .getMetrics()
        .flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics))
        .filter((m) => m.descriptor.name === name)
        .flatMap((m) => m.dataPoints as { attributes: Record<string, unknown>; value: unknown }[]);
    const tokens = Object.fromEntries(
      points(METRIC_NAMES.taskTokens).map((p) => [
        `${p.attributes['miyabi.token.type']}/${p.attributes['miyabi.model']}`,
        p.value,
      ]),
    );
    expect(tokens).toEqual({ 'input/m': 300, 'output/m': 20 });
    expect(points(METRIC_NAMES.taskCost).map((p) => p.value)).toEqual([0.25]);
  });
});
