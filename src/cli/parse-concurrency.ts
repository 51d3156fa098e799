import { MiyabiError, OPTION_RANGES, type OptionRange } from '../index.js';
import { rangeText } from '../internal.js';

/**
 * Parses `--concurrency N`: an integer in the range `maxConcurrency` has everywhere (1 to 64); any
 * other whole-number flag with its own range (`--check-batch`: `checkBatch`).
 *
 * @throws MiyabiError `INVALID_ARGUMENT` naming the option and the range.
 */
export function parseConcurrency(
  text: string,
  optionName = '--concurrency',
  range: OptionRange = OPTION_RANGES.maxConcurrency,
): number {
  const trimmed = text.trim();
  const value = /^\d+$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (Number.isSafeInteger(value) && value >= range.min && value <= range.max) return value;
  throw new MiyabiError('INVALID_ARGUMENT', `${optionName}: "${trimmed}" is not ${rangeText(range)}`, {
    hint: `e.g. ${optionName} 4`,
    details: { option: optionName },
  });
}
