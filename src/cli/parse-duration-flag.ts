import { type DurationLimits, parseDuration } from '../index.js';

/**
 * A duration flag's value in milliseconds: as `parseDuration`, except that a bare number other than
 * `0` is refused (`cleanup --older-than 7` meant 7 seconds; the user meant days).
 *
 * @throws MiyabiError `INVALID_ARGUMENT` naming `flag`.
 */
export function parseDurationFlag(text: string, flag: string, limits: DurationLimits = {}): number {
  return parseDuration(text, flag, { ...limits, requireUnit: true });
}
