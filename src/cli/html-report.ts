import { writeFile } from 'node:fs/promises';
import { renderHtmlReport, type WorktreeManager } from '../index.js';

/** Writes the HTML timeline page of `batchId` (else the last batch) to `file`; returns the batch id. */
export async function writeHtmlReport(
  manager: WorktreeManager,
  file: string,
  batchId: string | undefined,
): Promise<string> {
  const data = await manager.batchReport(batchId !== undefined ? { batchId } : {});
  await writeFile(file, renderHtmlReport(data), { mode: 0o644 });
  return data.batchId;
}
