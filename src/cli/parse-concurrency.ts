import { MAX_CONCURRENCY, MiyabiError } from '../index.js';

/**
 * Parses `--concurrency N`: an integer from 1 to {@link MAX_CONCURRENCY}.
 *
 * @throws MiyabiError `INVALID_ARGUMENT` naming the option.
 */
export function parseConcurrency(text: string, optionName = '--concurrency'): number {
  const trimmed = text.trim();
  const value = /^\d+$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (Number.isSafeInteger(value) && value >= 1 && value <= MAX_CONCURRENCY) return value;
  throw new MiyabiError(
    'INVALID_ARGUMENT',
    `${optionName}: "${trimmed}" is not a whole number from 1 to ${MAX_CONCURRENCY}`,
    { hint: `e.g. ${optionName} 4`, details: { option: optionName } },
  );
}
