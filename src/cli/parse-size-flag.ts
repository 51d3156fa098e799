import { MiyabiError, OPTION_RANGES } from '../index.js';
import { checkSize, inRangeOf, rangeText } from '../internal.js';

/**
 * Parses `--max-memory 4G` / `--min-free-memory 2G`: a size with a unit (a bare number is refused),
 * in the range the option has everywhere (from 16M; `minFreeMemory` at most the machine's memory).
 *
 * @throws MiyabiError `INVALID_ARGUMENT` naming the flag.
 */
export function parseSizeFlag(text: string, option: 'maxMemory' | 'minFreeMemory'): number {
  const flag = option === 'maxMemory' ? '--max-memory' : '--min-free-memory';
  const range = OPTION_RANGES[option];
  const parsed = checkSize(text);
  if (parsed.ok && inRangeOf(parsed.bytes, range)) return parsed.bytes;
  const why = parsed.ok ? `is not ${rangeText(range)}` : parsed.problem;
  throw new MiyabiError('INVALID_ARGUMENT', `${flag}: "${text.trim()}" ${why}`, {
    hint: `e.g. ${flag} ${option === 'maxMemory' ? '4G' : '2G'}`,
    details: { option: flag },
  });
}
