// When a provider's usage limit resets, read from the words of its message: unix seconds, a clock
// time in a named zone, a relative span, or a calendar date. Pure: the clock and zone are passed in.

/** The clock and zone a reset time is read against. */
export interface ResetClock {
  /** Now, in epoch milliseconds. */
  readonly now: number;
  /** IANA zone for times that name none. @default the machine's zone */
  readonly timeZone?: string;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const UNIT_MS: Readonly<Record<string, number>> = {
  d: 86_400_000,
  h: 3_600_000,
  m: 60_000,
  s: 1_000,
};

/**
 * The instant `text` names, or undefined when it names none: `1762952400` (unix seconds),
 * `5pm (Europe/Warsaw)`, `4:50am`, `17:30` (the next such time in that zone, else `clock.timeZone`),
 * `in 2h 13m`, `5 days 22 hours 11 minutes`, `2h52m39s`, `Jul 5th, 2026 8:19 PM`, `2026-07-05 20:19`.
 */
export function parseResetTime(text: string, clock: ResetClock): number | undefined {
  const value = text
    .trim()
    .replace(/[.\s]+$/, '')
    .replace(/^(?:at|in|after|on)\s+/i, '');
  if (/^\d{9,10}$/.test(value)) return Number(value) * 1000;
  if (/^\d{12,13}$/.test(value)) return Number(value);
  return (
    relativeSpan(value, clock.now) ??
    clockTime(value, clock) ??
    monthDate(value, clock) ??
    isoDate(value, clock)
  );
}

/** `2h 13m`, `5 days 22 hours 11 minutes`, `2h52m39s`: now plus the span. */
function relativeSpan(value: string, now: number): number | undefined {
  const unit = '(days?|d|hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)(?![a-z])';
  const part = new RegExp(`(\\d+)\\s*${unit}`, 'gi');
  if (!new RegExp(`^(?:\\d+\\s*${unit}(?:\\s*,\\s*|\\s+and\\s+|\\s*))+$`, 'i').test(value)) return undefined;
  let total = 0;
  for (const match of value.matchAll(part)) {
    const key = (match[2] ?? '').toLowerCase().startsWith('mi') ? 'm' : (match[2] ?? '')[0]?.toLowerCase();
    total += Number(match[1]) * (UNIT_MS[key ?? ''] ?? 0);
  }
  return total > 0 ? now + total : undefined;
}

/** `5pm (Europe/Warsaw)`, `4:50am`, `17:30`: the next time the zone's clock shows it. */
function clockTime(value: string, clock: ResetClock): number | undefined {
  const match = /^(\d{1,2})(?::(\d{2}))?\s*([ap]\.?m\.?)?(?:\s*\(([^)]+)\))?$/i.exec(value);
  if (!match) return undefined;
  const [, hourText, minuteText, meridiem, zoneText] = match;
  // A bare number (`5`) is no time of day.
  if (minuteText === undefined && meridiem === undefined) return undefined;
  const hour = to24Hour(Number(hourText), meridiem);
  const minute = Number(minuteText ?? 0);
  if (hour === undefined || minute > 59) return undefined;
  const zone = knownZone(zoneText?.trim()) ?? knownZone(clock.timeZone) ?? localZone();
  const today = zonedParts(clock.now, zone);
  for (let days = 0; days <= 1; days++) {
    const at = zonedInstant({ ...today, day: today.day + days, hour, minute, second: 0 }, zone);
    if (at > clock.now) return at;
  }
  return undefined;
}

/** `Jul 5th, 2026 8:19 PM`, `July 5 2026`, `Jul 5th, 2026 at 20:19 (America/New_York)`. */
function monthDate(value: string, clock: ResetClock): number | undefined {
  const match =
    /^([a-z]{3})[a-z]*\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})(?:,?\s+(?:at\s+)?(\d{1,2})(?::(\d{2}))?\s*([ap]\.?m\.?)?)?(?:\s*\(([^)]+)\))?$/i.exec(
      value,
    );
  if (!match) return undefined;
  const [, monthText, dayText, yearText, hourText, minuteText, meridiem, zoneText] = match;
  const month = MONTHS.indexOf((monthText ?? '').toLowerCase()) + 1;
  const hour = hourText === undefined ? 0 : to24Hour(Number(hourText), meridiem);
  if (month === 0 || hour === undefined) return undefined;
  const zone = knownZone(zoneText?.trim()) ?? knownZone(clock.timeZone) ?? localZone();
  return zonedInstant(
    { year: Number(yearText), month, day: Number(dayText), hour, minute: Number(minuteText ?? 0), second: 0 },
    zone,
  );
}

/** `2026-07-05`, `2026-07-05 20:19`, `2026-07-05T20:19:00Z`, `…+02:00`. */
function isoDate(value: string, clock: ResetClock): number | undefined {
  const match =
    /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i.exec(
      value,
    );
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second, offset] = match;
  const parts = {
    year: Number(year),
    month: Number(month),
    day: Number(day),
    hour: Number(hour ?? 0),
    minute: Number(minute ?? 0),
    second: Number(second ?? 0),
  };
  if (offset === undefined) return zonedInstant(parts, knownZone(clock.timeZone) ?? localZone());
  const utc = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
  if (offset.toUpperCase() === 'Z') return utc;
  const sign = offset.startsWith('-') ? -1 : 1;
  const digits = offset.slice(1).replace(':', '');
  return utc - sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
}

function to24Hour(hour: number, meridiem: string | undefined): number | undefined {
  if (meridiem === undefined) return hour <= 23 ? hour : undefined;
  if (hour < 1 || hour > 12) return undefined;
  const pm = meridiem.toLowerCase().startsWith('p');
  return (hour % 12) + (pm ? 12 : 0);
}

interface WallClock {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

/** The zone's wall clock at `instant`, through Node's built-in Intl time zones. */
function zonedParts(instant: number, zone: string): WallClock {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
  const part = (type: string) =>
    Number(format.formatToParts(instant).find((p) => p.type === type)?.value ?? 0);
  return {
    year: part('year'),
    month: part('month'),
    day: part('day'),
    hour: part('hour'),
    minute: part('minute'),
    second: part('second'),
  };
}

/** The instant the zone's wall clock shows `wall` (days past the month's end roll over). */
function zonedInstant(wall: WallClock, zone: string): number {
  const asUtc = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second);
  // The zone's offset at the guess, then again at the corrected instant (a DST change in between).
  let instant = asUtc - offsetMs(asUtc, zone);
  instant = asUtc - offsetMs(instant, zone);
  return instant;
}

function offsetMs(instant: number, zone: string): number {
  const wall = zonedParts(instant, zone);
  const asUtc = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second);
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/** The zone when Intl knows it (`Europe/Warsaw`, `Etc/GMT+5`, `UTC`), else undefined. */
function knownZone(zone: string | undefined): string | undefined {
  if (!zone) return undefined;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return zone;
  } catch {
    return undefined;
  }
}

function localZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}
