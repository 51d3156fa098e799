import type { WorktreeManager } from '../../index.js';
import { queueResumeCensus } from '../../internal.js';
import type { ResumedBatch } from './resume-request.js';
import type { RunBatchRequest } from './run-batch.js';

/**
 * What a resumed batch's start line counts: the tasks it sends (runs) again, and, on a queue, said
 * apart, the ones whose jobs the killed submitter left and that it collects or awaits instead. A
 * queue it cannot look at now counts every unfinished task as sent (the resume then fails to reach it).
 */
export async function resumedCounts(
  manager: WorktreeManager,
  request: RunBatchRequest,
  resumed: ResumedBatch,
): Promise<{ send: number; collectLine?: string }> {
  const queue = request.queue;
  if (!queue) return { send: resumed.pending.length };
  const census = await queueResumeCensus({
    repoPath: manager.repoPath,
    connection: queue.url,
    name: queue.name,
    remote: queue.remote,
    batchId: resumed.batchId,
    issues: resumed.pending,
  }).catch(() => undefined);
  if (!census) return { send: resumed.pending.length };
  const parts = [
    census.collect.length > 0 ? `collecting ${issueList(census.collect)} (finished on the workers)` : '',
    census.await.length > 0 ? `awaiting ${issueList(census.await)} (still on the workers)` : '',
  ].filter((part) => part !== '');
  return {
    send: census.send.length,
    ...(parts.length > 0 ? { collectLine: `${capitalise(parts.join('; '))}: not sent again` } : {}),
  };
}

function issueList(issues: readonly number[]): string {
  return issues.map((issue) => `#${issue}`).join(', ');
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
