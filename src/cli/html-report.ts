import { writeFile } from 'node:fs/promises';
import { renderHtmlReport, type TaskOutcomeInput, type WorktreeManager } from '../index.js';

/**
 * Writes the HTML timeline page of `batchId` (else the last batch) to `file`; returns the batch id.
 * `results` (from a `run` that just ended) add the tasks that never started.
 */
export async function writeHtmlReport(
  manager: WorktreeManager,
  file: string,
  batchId: string | undefined,
  results?: readonly TaskOutcomeInput[],
): Promise<string> {
  const data = await manager.batchReport(batchId !== undefined ? { batchId } : {});
  await writeFile(file, renderHtmlReport(results ? { ...data, results } : data), { mode: 0o644 });
  return data.batchId;
}
