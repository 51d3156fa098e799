import { MiyabiError } from '../errors.js';
import { type BatchRecord, readBatchRecord, readBatchRecords } from '../state/batch-records.js';
import { isOwnerAlive } from '../state/owner.js';
import { statsOfResults } from '../telemetry/batch-stats.js';
import { normalizeScope, type TelemetryScope, type TelemetryStats } from '../telemetry/stats.js';

/** One line of `listBatches()`: a batch, its size and how it went. Plain JSON data. */
export interface BatchSummary {
  readonly id: string;
  /** ISO 8601. */
  readonly startedAt: string;
  /** ISO 8601; absent while the batch runs or when its process died before the end. */
  readonly endedAt?: string;
  /**
   * `success`: every task succeeded; `failed`: some did not; `running`: its process still runs it;
   * `interrupted`: its process ended before the batch did.
   */
  readonly outcome: 'success' | 'failed' | 'running' | 'interrupted';
  readonly tasks: number;
  readonly succeeded: number;
  /** Started tasks that did not succeed (timeouts and cancellations while running included). */
  readonly failed: number;
  /** Tasks cancelled before they started. */
  readonly notStarted: number;
  readonly base: BatchRecord['base'];
  readonly target: BatchRecord['target'];
}

// Batch ids named in the hint when the one asked for is unknown.
const HINTED_BATCHES = 5;

/** Every recorded batch, least recently started first. */
export async function listBatches(stateDir: string): Promise<BatchSummary[]> {
  return (await readBatchRecords(stateDir)).map(summariseBatch);
}

/** The record of `batchId`, else of the most recent batch. `NOT_FOUND` (naming recent ones) when there is none. */
export async function batchRecord(stateDir: string, batchId?: string): Promise<BatchRecord> {
  if (batchId === undefined) {
    const last = (await readBatchRecords(stateDir)).at(-1);
    if (!last) {
      throw new MiyabiError('NOT_FOUND', 'no batch has been recorded in this repository yet', {
        hint: 'Run a batch first (WorktreePool.executeParallel).',
      });
    }
    return last;
  }
  const found = await readBatchRecord(stateDir, batchId);
  if (found) return found;
  throw await unknownBatch(stateDir, batchId);
}

/** The report's figures for a scope (see {@link TelemetryScope}): the last batch when none is given. */
export async function batchStats(stateDir: string, scope: TelemetryScope = {}): Promise<TelemetryStats> {
  const records = await selectBatches(stateDir, scope);
  return statsOfResults(
    records.flatMap((record) => record.results),
    records.flatMap((record) => record.overlaps),
  );
}

/** The records a scope selects, least recent first. */
async function selectBatches(stateDir: string, scope: TelemetryScope): Promise<BatchRecord[]> {
  const all = scope?.all;
  if (all !== undefined && typeof all !== 'boolean') {
    throw new MiyabiError('INVALID_ARGUMENT', `all must be true or false, got ${JSON.stringify(all)}`);
  }
  const { sinceMs, batchId } = normalizeScope(scope) ?? {};
  if (batchId !== undefined) {
    const record = await batchRecord(stateDir, batchId);
    return sinceMs === undefined || Date.parse(record.startedAt) >= sinceMs ? [record] : [];
  }
  const records = await readBatchRecords(stateDir);
  if (sinceMs !== undefined) return records.filter((record) => Date.parse(record.startedAt) >= sinceMs);
  return all === true ? records : records.slice(-1);
}

function summariseBatch(record: BatchRecord): BatchSummary {
  const stats = statsOfResults(record.results);
  const outcome: BatchSummary['outcome'] =
    record.endedAt === undefined
      ? isOwnerAlive(record.owner)
        ? 'running'
        : 'interrupted'
      : stats.successfulExecutions === record.issues.length
        ? 'success'
        : 'failed';
  return {
    id: record.id,
    startedAt: record.startedAt,
    ...(record.endedAt !== undefined ? { endedAt: record.endedAt } : {}),
    outcome,
    tasks: record.issues.length,
    succeeded: stats.successfulExecutions,
    failed: stats.failedExecutions,
    notStarted: stats.notStarted,
    base: record.base,
    target: record.target,
  };
}

async function unknownBatch(stateDir: string, batchId: string): Promise<MiyabiError> {
  const recent = (await readBatchRecords(stateDir))
    .slice(-HINTED_BATCHES)
    .reverse()
    .map((record) => record.id);
  return new MiyabiError('NOT_FOUND', `no batch '${batchId}' is recorded in this repository`, {
    hint:
      recent.length > 0
        ? `Recent batches: ${recent.join(', ')} (listBatches() lists them all).`
        : 'No batch has been recorded yet.',
    details: { batchId, recentBatches: recent },
  });
}
