// Variants on the queue (issue 26): each attempt of an issue is one job, judged and settled here.
import { type Attempt, attemptKey } from '../core/attempt.js';
import { abortMessage } from '../pool/task-outcome.js';
import type { TaskResult, VariantContext } from '../pool/types.js';
import type { QueueJobPayload } from './payload.js';

/** One attempt's variant as the pool planned it: its number, name, own command and environment. */
export type PlannedVariant = VariantContext & { readonly env?: Readonly<Record<string, string>> };

/** An attempt's job id: `<batch>-42`, or `<batch>-42-v2` for a variant (a batch without variants: unchanged). */
export function attemptJobId(batchId: string, attempt: Attempt): string {
  return attempt.variant === undefined
    ? `${batchId}-${attempt.issueNumber}`
    : `${batchId}-${attempt.issueNumber}-v${attempt.variant}`;
}

/** A key of the maps a batch keeps per attempt (its job, who took it, its pause). */
export const attemptOf = attemptKey;

/**
 * What a variant's job carries: its own command (else the batch's), its environment on top of the
 * batch's with `MIYABI_VARIANT` and `MIYABI_VARIANT_NAME` (as `variantExecutor` gives a local
 * attempt), and its number and name (`{variant}`, its log's name on the worker).
 */
export function variantJob(
  variant: PlannedVariant | undefined,
  argv: readonly string[],
  env: Readonly<Record<string, string>> | undefined,
): Pick<QueueJobPayload, 'argv' | 'env' | 'variant'> {
  if (!variant) return { argv: [...argv], ...(env ? { env: { ...env } } : {}) };
  return {
    argv: [...(variant.command ?? argv)],
    env: {
      ...env,
      ...variant.env,
      MIYABI_VARIANT: String(variant.variant),
      MIYABI_VARIANT_NAME: variant.name,
    },
    variant: { variant: variant.variant, name: variant.name },
  };
}

/**
 * A job stopped by its own stop (a sibling reached `variantsStopAt`), not the batch's: its result
 * says why, as a local attempt's does (its worker knows only that it was cancelled).
 */
export function stoppedBy(stop: AbortSignal | undefined, batch: AbortSignal) {
  return (result: TaskResult): TaskResult => {
    if (!stop?.aborted || batch.aborted || result.status !== 'cancelled') return result;
    return { ...result, error: { ...result.error, message: abortMessage(stop.reason) } };
  };
}
