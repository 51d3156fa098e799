import { isMiyabiError, MiyabiError } from '../errors.js';
import type { WorktreeManager } from '../manager/worktree-manager.js';
import { unfinishedBatches, unfinishedIssues } from './resume-batch.js';

/**
 * What a batch's `ISSUE_BUSY` is rethrown as: when the busy issue belongs to an unfinished batch of
 * this repository whose runner is gone (its kept worktree, or on a queue its killed submitter's
 * lease), the hint names that batch's resume (`resumeBatch('<id>')`; the CLI's `run --resume <id>`)
 * and `details.resumableBatch` its id. Any other error is rethrown as it is.
 */
export function resumeHintOnBusy(manager: WorktreeManager): (error: unknown) => Promise<never> {
  return async (error) => {
    throw await withResumeHint(manager, error);
  };
}

async function withResumeHint(manager: WorktreeManager, error: unknown): Promise<unknown> {
  if (!isMiyabiError(error, 'ISSUE_BUSY')) return error;
  const issue = Number(error.details?.issueNumber);
  const holder = (error.details?.holder as { batchId?: unknown } | undefined)?.batchId;
  const batches = await unfinishedBatches(manager).catch(() => []);
  // A queue lease names its batch; a kept worktree is the newest unfinished batch's that lacks the issue's result.
  const batch =
    holder !== undefined
      ? batches.find((record) => record.id === holder)
      : batches.filter((record) => unfinishedIssues(record).includes(issue)).at(-1);
  if (!batch) return error;
  return new MiyabiError('ISSUE_BUSY', error.message, {
    hint: [
      `Issue ${issue} belongs to batch ${batch.id}, which did not finish: `,
      { call: 'resumeBatch', id: batch.id },
      ' continues it.',
    ],
    cause: error,
    details: { ...error.details, resumableBatch: batch.id },
  });
}
