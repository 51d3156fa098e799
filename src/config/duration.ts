import { MAX_DURATION_MS } from '../core/limits.js';
import { MiyabiError } from '../errors.js';

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;
type Unit = keyof typeof UNIT_MS;
// Largest unit first: components must come in this order (`1h30m`, not `30m1h`).
const UNIT_ORDER: readonly Unit[] = ['d', 'h', 'm', 's', 'ms'];

const NUMBER = String.raw`(?:\d+(?:\.\d+)?|\.\d+)`;
const BARE = new RegExp(`^${NUMBER}$`);
const COMPONENT = new RegExp(`^(${NUMBER})\\s*(ms|d|h|m|s)`);

/** Why a duration text is invalid, or its value in milliseconds. */
export type DurationParse =
  | { readonly ok: true; readonly ms: number }
  | { readonly ok: false; readonly problem: string };

/**
 * Parses a duration without throwing; `problem` completes a sentence that starts with the
 * quoted value (`"abc" is not a duration`). See {@link parseDuration} for the grammar.
 */
export function checkDuration(text: string, options: DurationLimits = {}): DurationParse {
  const maxMs = options.maxMs ?? MAX_DURATION_MS;
  const input = text.trim().toLowerCase();
  if (input === '') return { ok: false, problem: 'is empty' };
  if (input.startsWith('-')) return { ok: false, problem: 'is negative' };
  const bare = BARE.test(input);
  // `cleanup --older-than 7` read as 7 seconds: a flag's bare number is refused (zero needs no unit).
  if (bare && options.requireUnit === true && Number(input) !== 0) {
    return { ok: false, problem: `has no unit: ${input} what? e.g. ${input}d, ${input}h or ${input}m` };
  }
  // A bare number means seconds, like `sleep 90` and `timeout 90`.
  const total = bare ? Number(input) * 1000 : sumComponents(input);
  if (typeof total === 'string') return { ok: false, problem: total };
  const ms = Math.round(total);
  if (!Number.isFinite(ms)) return { ok: false, problem: 'is not a duration' };
  if (ms <= 0) return { ok: false, problem: 'must be longer than zero' };
  if (ms > maxMs) return { ok: false, problem: `is longer than the maximum of ${formatLimit(maxMs)}` };
  return { ok: true, ms };
}

/** Bounds of a duration option. */
export interface DurationLimits {
  /** Longest accepted, in milliseconds. @default MAX_DURATION_MS (7 days) */
  readonly maxMs?: number;
  /**
   * Refuse a bare number other than `0` (`7` could be seconds or days): command-line flags do;
   * configuration strings keep reading one as seconds. @default false
   */
  readonly requireUnit?: boolean;
}

/** A limit for messages: whole days when it is some (`7 days`), else as {@link formatDuration} does. */
function formatLimit(ms: number): string {
  const days = ms / UNIT_MS.d;
  return Number.isInteger(days) ? `${days} day${days === 1 ? '' : 's'}` : formatDuration(ms);
}

/** Sum of `<number><unit>` components in milliseconds, or the problem as a string. */
function sumComponents(input: string): number | string {
  let rest = input;
  let total = 0;
  let lastRank = -1;
  while (rest !== '') {
    const match = COMPONENT.exec(rest);
    const unit = match?.[2] as Unit | undefined;
    if (!match || unit === undefined) return 'is not a duration';
    const rank = UNIT_ORDER.indexOf(unit);
    if (rank <= lastRank) return `is not a duration (units must go from largest to smallest, once each)`;
    lastRank = rank;
    total += Number(match[1]) * UNIT_MS[unit];
    rest = rest.slice(match[0].length).trimStart();
  }
  return total;
}

/**
 * Parses a duration option into milliseconds.
 *
 * Accepted: a bare number, which means **seconds** (`90` → 90 000), or one or more
 * `<number><unit>` components with units `ms`, `s`, `m`, `h`, `d`, largest first, decimals allowed
 * (`500ms`, `30s`, `30m`, `2h`, `1h30m`, `1h 30m`, `1.5h`). Case-insensitive; rounded to whole ms.
 *
 * @throws MiyabiError `INVALID_ARGUMENT` naming `optionName` when the text is empty, negative,
 * zero, not a duration, or longer than `limits.maxMs` ({@link MAX_DURATION_MS}, 7 days, by default).
 */
export function parseDuration(text: string, optionName = 'duration', limits: DurationLimits = {}): number {
  const result = checkDuration(text, limits);
  if (result.ok) return result.ms;
  throw new MiyabiError('INVALID_ARGUMENT', `${optionName}: "${text.trim()}" ${result.problem}`, {
    hint: `Use a number with a unit, e.g. 30m, 90s, 1h30m or 500ms${limits.requireUnit === true ? '' : ' (a bare number means seconds)'}.`,
    details: { option: optionName },
  });
}

/**
 * Formats milliseconds for people: `450ms`, `2.3s`, `1m 05s`, `2h 03m`, `3d 04h`.
 * Negative and non-finite values show as `0ms`.
 */
export function formatDuration(ms: number): string {
  const value = Number.isFinite(ms) && ms > 0 ? ms : 0;
  // Each branch rounds first so that 59.96 s becomes `1m 00s`, never `60.0s`.
  if (Math.round(value) < 1000) return `${Math.round(value)}ms`;
  const tenths = Math.round(value / 100);
  if (tenths < 600) return `${(tenths / 10).toFixed(1)}s`;
  const seconds = Math.round(value / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${pad2(seconds % 60)}s`;
  const minutes = Math.round(value / 60_000);
  if (minutes < 24 * 60) return `${Math.floor(minutes / 60)}h ${pad2(minutes % 60)}m`;
  // `170h 00m` is hard to read as a week: days from a day on.
  const hours = Math.round(value / 3_600_000);
  return `${Math.floor(hours / 24)}d ${pad2(hours % 24)}h`;
}

function pad2(value: number): string {
  return String(value).padStart(2, '0');
}
