import { describe, expect, it } from 'vitest';
import { parseResetTime } from '../src/process/reset-time.js';
import { compilePauseOn, recogniseUsageLimit, usageLimitBackoffMs } from '../src/process/usage-limits.js';

// 2026-07-01 12:00:00 UTC, a Wednesday; Europe/Warsaw is UTC+2 then, America/New_York UTC-4.
const NOW = Date.UTC(2026, 6, 1, 12, 0, 0);
const clock = { now: NOW, timeZone: 'UTC' };
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

describe('recogniseUsageLimit', () => {
  it.each([
    ['Claude AI usage limit reached|1782950400', 'claude', '2026-07-02T00:00:00.000Z'],
    [
      'Claude usage limit reached. Your limit will reset at 5pm (Europe/Warsaw).',
      'claude',
      '2026-07-01T15:00:00.000Z',
    ],
    ["You've hit your limit · resets 10pm (America/New_York)", 'claude', '2026-07-02T02:00:00.000Z'],
    // 4:50am in Rome (UTC+2) is 02:50Z: already past today, so tomorrow's.
    ["You've hit your limit · resets 4:50am (Europe/Rome)", 'claude', '2026-07-02T02:50:00.000Z'],
    ["You've hit your limit · resets 1am", 'claude', '2026-07-02T01:00:00.000Z'],
    [
      "■ You've hit your usage limit. Upgrade to Pro (https://openai.com/chatgpt/pricing) or try again in 5 days 22 hours 11\nminutes.",
      'codex',
      '2026-07-07T10:11:00.000Z',
    ],
    [
      "You've hit your usage limit. Upgrade to Plus to continue using Codex (https://chatgpt.com/explore/plus), or try again at Jul 5th, 2026 8:19 PM.",
      'codex',
      '2026-07-05T20:19:00.000Z',
    ],
    [
      '[API Error: You have exhausted your capacity on this model. Your quota will reset after 2h52m39s.]',
      'gemini',
      '2026-07-01T14:52:39.000Z',
    ],
    ['✕ [API Error: You have exhausted your daily quota on this model.]', 'gemini', undefined],
    ['⚡ You have reached your daily quota limit.', 'gemini', undefined],
  ])('recognises %j', (text, source, resetAt) => {
    const hit = recogniseUsageLimit(`working...\n${text}\n`, clock);
    expect(hit?.source).toBe(source);
    expect(iso(hit?.resetAt)).toBe(resetAt);
  });

  it('looks only at the last 20 lines', () => {
    const text = [
      'Claude AI usage limit reached|1782950400',
      ...Array.from({ length: 20 }, (_, i) => `line ${i}`),
    ];
    expect(recogniseUsageLimit(text.join('\n'), clock)).toBeUndefined();
    expect(
      recogniseUsageLimit(
        text
          .slice(1)
          .join('\n')
          .replace('line 0', text[0] as string),
        clock,
      )?.source,
    ).toBe('claude');
  });

  it('treats a reset time already past as none (backoff)', () => {
    const hit = recogniseUsageLimit('Claude AI usage limit reached|1700000000', clock);
    expect(hit?.source).toBe('claude');
    expect(hit?.resetAt).toBeUndefined();
  });

  it('takes --pause-on patterns with a reset group, before the built-in forms', () => {
    const pauseOn = compilePauseOn(['^QUOTA: retry after (?<reset>.+)$']);
    const hit = recogniseUsageLimit(
      'QUOTA: retry after 90s\nYou have exhausted your daily quota',
      clock,
      pauseOn,
    );
    expect(hit).toMatchObject({ source: 'pause-on', text: 'QUOTA: retry after 90s' });
    expect(iso(hit?.resetAt)).toBe('2026-07-01T12:01:30.000Z');
    expect(recogniseUsageLimit('QUOTA: exceeded', clock, compilePauseOn(['QUOTA']))?.resetAt).toBeUndefined();
  });

  it('refuses a pattern that is no regular expression, naming it', () => {
    expect(() => compilePauseOn(['(unclosed'])).toThrow(
      /pauseOn: "\(unclosed" is not a valid regular expression/,
    );
    expect(() => compilePauseOn([''])).toThrow(/non-empty/);
  });

  it('sees nothing in ordinary output', () => {
    expect(recogniseUsageLimit('error: tests failed\nusage: npm test', clock)).toBeUndefined();
  });
});

describe('parseResetTime', () => {
  it.each([
    ['1782950400', '2026-07-02T00:00:00.000Z'],
    ['in 2h 13m', '2026-07-01T14:13:00.000Z'],
    ['5 days 22 hours', '2026-07-07T10:00:00.000Z'],
    ['1pm (Etc/GMT+5)', '2026-07-01T18:00:00.000Z'],
    ['11am (Europe/Warsaw)', '2026-07-02T09:00:00.000Z'],
    ['17:30', '2026-07-01T17:30:00.000Z'],
    ['Jul 5th, 2026 8:19 PM', '2026-07-05T20:19:00.000Z'],
    ['July 5 2026', '2026-07-05T00:00:00.000Z'],
    ['2026-07-05 20:19', '2026-07-05T20:19:00.000Z'],
    ['2026-07-05T20:19:00+02:00', '2026-07-05T18:19:00.000Z'],
  ])('reads %j', (text, expected) => {
    expect(iso(parseResetTime(text, clock))).toBe(expected);
  });

  it('reads times without a zone in the given zone, across a DST change', () => {
    // 2026-03-29 is the EU change to summer time: 5pm in Warsaw is 15:00Z that day.
    const spring = { now: Date.UTC(2026, 2, 29, 6, 0, 0), timeZone: 'Europe/Warsaw' };
    expect(iso(parseResetTime('5pm', spring))).toBe('2026-03-29T15:00:00.000Z');
    expect(iso(parseResetTime('2026-03-28 17:00', spring))).toBe('2026-03-28T16:00:00.000Z');
  });

  it('names nothing for words that are no time', () => {
    for (const text of ['soon', '5', 'later today', '13pm'])
      expect(parseResetTime(text, clock)).toBeUndefined();
  });
});

describe('usageLimitBackoffMs', () => {
  it('doubles from one minute', () => {
    expect([1, 2, 3, 4].map(usageLimitBackoffMs)).toEqual([60_000, 120_000, 240_000, 480_000]);
  });
});
