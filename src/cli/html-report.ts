import { writeFile } from 'node:fs/promises';
import { renderHtmlReport, type WorktreeManager } from '../index.js';

/**
 * Writes the HTML timeline page of `batchId` (else the last batch) to `file`; returns the batch id.
 * Its counts and rows come from the batch record, as the summary's and the report's do.
 */
export async function writeHtmlReport(
  manager: WorktreeManager,
  file: string,
  batchId: string | undefined,
): Promise<string> {
  const data = await manager.batchReport(batchId !== undefined ? { batchId } : {});
  await writeFile(file, renderHtmlReport(data), { mode: 0o644 });
  return data.batchId;
}
