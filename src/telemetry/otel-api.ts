import { createRequire } from 'node:module';
import type * as OtelApi from '@opentelemetry/api';

// Where the API keeps what an application registered (providers, context manager): the same key
// for every copy of API major 1 in the process, ESM or CommonJS.
const GLOBAL_KEY = Symbol.for('opentelemetry.js.api.1');

let api: typeof OtelApi | undefined;

/**
 * The OpenTelemetry API, once an application registered anything with it; undefined before, when
 * every span and metric would be a no-op. Its ~40 files load only then (a CLI command that records
 * no telemetry for anyone starts faster).
 */
export function otelApi(): typeof OtelApi | undefined {
  if (api) return api;
  if ((globalThis as Record<symbol, unknown>)[GLOBAL_KEY] === undefined) return undefined;
  api = createRequire(import.meta.url)('@opentelemetry/api') as typeof OtelApi;
  return api;
}
