import type { BatchRecord } from '../../state/batch-records.js';
import { statsOfResults } from '../batch-stats.js';
import type { Telemetry } from '../telemetry.js';
import type { BatchReportData } from './render-html-report.js';

/**
 * A batch's data for `renderHtmlReport`: its retained events draw the timeline; its counts and
 * task rows come from its record, as the summary's and the report's do.
 */
export async function loadBatchReport(
  telemetry: Telemetry,
  repoPath: string,
  record: BatchRecord,
): Promise<BatchReportData> {
  const events = await telemetry.events({ batchId: record.id });
  return {
    batchId: record.id,
    events,
    stats: statsOfResults(record.results, record.overlaps),
    repoPath,
    results: record.results,
  };
}
