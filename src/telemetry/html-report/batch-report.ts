import { MiyabiError } from '../../errors.js';
import type { Telemetry } from '../telemetry.js';
import type { BatchReportData } from './render-html-report.js';

// Batch ids named in the hint when the one asked for is unknown.
const HINTED_BATCHES = 5;

/**
 * A batch's events and counts for `renderHtmlReport`: `batchId`, else the most recent batch.
 * `NOT_FOUND` (naming the recent batches) for an unknown id, or when no batch was recorded yet.
 */
export async function loadBatchReport(
  telemetry: Telemetry,
  repoPath: string,
  batchId?: string,
): Promise<BatchReportData> {
  const known = await telemetry.batches();
  const id = batchId ?? known.at(-1);
  if (id === undefined) {
    throw new MiyabiError('NOT_FOUND', 'no batch has been recorded in this repository yet', {
      hint: "Run a batch first (WorktreePool.executeParallel, or the CLI's run).",
    });
  }
  if (!known.includes(id)) {
    const recent = known.slice(-HINTED_BATCHES).reverse();
    throw new MiyabiError('NOT_FOUND', `the telemetry journal has no batch '${id}'`, {
      hint: recent.length > 0 ? `Recent batches: ${recent.join(', ')}.` : 'No batch has been recorded yet.',
      details: { batchId: id, recentBatches: recent },
    });
  }
  const [events, stats] = await Promise.all([
    telemetry.events({ batchId: id }),
    telemetry.stats({ batchId: id }),
  ]);
  return { batchId: id, events, stats, repoPath };
}
