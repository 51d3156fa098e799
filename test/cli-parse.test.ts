import { describe, expect, it } from 'vitest';
import {
  MAX_ISSUES,
  parseIssueList,
  parseIssueNumber,
  tryParseIssueNumber,
} from '../src/cli/parse-issues.js';
import { checkDuration, formatDuration, parseDuration } from '../src/config/duration.js';
import { MAX_DURATION_MS } from '../src/core/limits.js';
import { MiyabiError } from '../src/errors.js';

/** Calls `fn`, expects a MiyabiError, and returns it for further assertions. */
function catchMiyabi(fn: () => unknown): MiyabiError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(MiyabiError);
    return error as MiyabiError;
  }
  throw new Error('expected a MiyabiError, nothing was thrown');
}

describe('parseIssueList', () => {
  it('expands numbers and inclusive ranges in input order', () => {
    expect(parseIssueList('1,2,5-8')).toEqual([1, 2, 5, 6, 7, 8]);
    expect(parseIssueList('9,3,1-2')).toEqual([9, 3, 1, 2]);
    expect(parseIssueList('7')).toEqual([7]);
    expect(parseIssueList('4-4')).toEqual([4]);
  });

  it('tolerates whitespace around entries and dashes, and a leading #', () => {
    expect(parseIssueList(' 1 , 2 ,5 - 7 ')).toEqual([1, 2, 5, 6, 7]);
    expect(parseIssueList('#3,#10-#11')).toEqual([3, 10, 11]);
    expect(parseIssueList('007')).toEqual([7]);
  });

  it('merges duplicates and overlapping ranges, keeping the first-seen position', () => {
    expect(parseIssueList('3,1,3')).toEqual([3, 1]);
    expect(parseIssueList('1-3,2-5,1')).toEqual([1, 2, 3, 4, 5]);
    expect(parseIssueList('5,1-6')).toEqual([5, 1, 2, 3, 4, 6]);
  });

  it.each([
    ['', 'is empty'],
    ['   ', 'is empty'],
    ['1,,2', 'empty entry'],
    ['1,', 'empty entry'],
    [',1', 'empty entry'],
    ['abc', '"abc"'],
    ['1,two', '"two"'],
    ['1.5', '"1.5"'],
    ['1e3', '"1e3"'],
    ['0', '"0"'],
    ['0-3', '"0-3"'],
    ['-3', '"-3"'],
    ['2,-1', '"-1"'],
    ['8-5', '"8-5" is reversed'],
    ['3-', '"3-"'],
    ['1-2-3', '"1-2-3"'],
    ['1;2', '"1;2"'],
    ['99999999999999999999', 'too large'],
    ['1-9999999999999', 'spans more than 1000'],
    ['1-1001', 'spans more than 1000'],
  ])('rejects %j naming --issues and the problem (%s)', (text, fragment) => {
    const error = catchMiyabi(() => parseIssueList(text));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain('--issues');
    expect(error.message).toContain(fragment);
    expect(error.hint).toContain('--issues 1,2,5-8');
  });

  it('accepts exactly MAX_ISSUES issues and rejects one more across entries', () => {
    expect(parseIssueList(`1-${MAX_ISSUES}`)).toHaveLength(MAX_ISSUES);
    const error = catchMiyabi(() => parseIssueList(`1-600,601-1000,2000`));
    expect(error.message).toContain(`more than ${MAX_ISSUES} issues`);
    // Duplicates do not count twice towards the limit.
    expect(parseIssueList(`1-1000,1-1000`)).toHaveLength(1000);
  });

  it('names another option when asked', () => {
    expect(catchMiyabi(() => parseIssueList('x', '--only')).message).toContain('--only');
  });
});

describe('parseIssueNumber', () => {
  it('accepts a positive integer, with or without #', () => {
    expect(parseIssueNumber('42')).toBe(42);
    expect(parseIssueNumber(' #7 ')).toBe(7);
  });

  it.each(['', '0', '-1', '1.0', 'abc', '1,2', '1-2', '9007199254740993'])('rejects %j', (text) => {
    const error = catchMiyabi(() => parseIssueNumber(text));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain('<issue>');
  });

  it('tells issue numbers from worktree ids', () => {
    expect(tryParseIssueNumber('12')).toBe(12);
    expect(tryParseIssueNumber('issue-12-0a1b2c3d')).toBeUndefined();
    expect(tryParseIssueNumber('0')).toBeUndefined();
  });
});

describe('parseDuration', () => {
  it.each([
    ['90', 90_000],
    ['1.5', 1_500],
    ['500ms', 500],
    ['30s', 30_000],
    ['30m', 1_800_000],
    ['2h', 7_200_000],
    ['1h30m', 5_400_000],
    ['1h 30m 15s', 5_415_000],
    ['1.5h', 5_400_000],
    ['.5s', 500],
    ['1d', 86_400_000],
    ['7d', MAX_DURATION_MS],
    ['30M', 1_800_000],
    ['  45 s ', 45_000],
    ['1m500ms', 60_500],
  ])('parses %j as %d ms', (text, ms) => {
    expect(parseDuration(text, '--timeout')).toBe(ms);
  });

  it.each([
    ['', 'is empty'],
    ['   ', 'is empty'],
    ['-5m', 'is negative'],
    ['0', 'longer than zero'],
    ['0s', 'longer than zero'],
    ['0.1ms', 'longer than zero'],
    ['abc', 'is not a duration'],
    ['30x', 'is not a duration'],
    ['m', 'is not a duration'],
    ['30mins', 'is not a duration'],
    ['1m30', 'is not a duration'],
    ['30m1h', 'largest to smallest'],
    ['1h1h', 'largest to smallest'],
    ['1e3s', 'is not a duration'],
    ['Infinity', 'is not a duration'],
    ['8d', 'maximum of 7 days'],
    ['169h', 'maximum of 7 days'],
  ])('rejects %j with INVALID_ARGUMENT naming the option (%s)', (text, fragment) => {
    const error = catchMiyabi(() => parseDuration(text, '--timeout'));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain('--timeout');
    expect(error.message).toContain(fragment);
    expect(error.hint).toContain('bare number means seconds');
  });

  it('names the option it parses', () => {
    const error = catchMiyabi(() => parseDuration('soon', '--setup-timeout'));
    expect(error.message).toBe('--setup-timeout: "soon" is not a duration');
    expect(error.hint).toContain('30m');
  });

  it('refuses a bare number other than 0 when a unit is required (a flag: 7 what?)', () => {
    const error = catchMiyabi(() => parseDuration('7', '--older-than', { requireUnit: true }));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toBe('--older-than: "7" has no unit: 7 what? e.g. 7d, 7h or 7m');
    expect(error.hint).not.toContain('bare number means seconds');
    expect(parseDuration('7d', '--older-than', { requireUnit: true })).toBe(7 * 86_400_000);
    // Zero needs no unit: it says "longer than zero", not "7 what?".
    expect(catchMiyabi(() => parseDuration('0', '--timeout', { requireUnit: true })).message).toContain(
      'longer than zero',
    );
    // Configuration strings keep reading a bare number as seconds.
    expect(parseDuration('7', 'timeout')).toBe(7_000);
  });

  it('reports problems without throwing through checkDuration', () => {
    expect(checkDuration('2m')).toEqual({ ok: true, ms: 120_000 });
    expect(checkDuration('nope')).toEqual({ ok: false, problem: 'is not a duration' });
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [450, '450ms'],
    [999.4, '999ms'],
    [999.6, '1.0s'],
    [2_300, '2.3s'],
    [59_940, '59.9s'],
    [59_960, '1m 00s'],
    [65_000, '1m 05s'],
    [3_599_400, '59m 59s'],
    [3_599_600, '1h 00m'],
    [7_380_000, '2h 03m'],
    [86_340_000, '23h 59m'],
    [86_400_000, '1d 00h'],
    [86_399_999, '1d 00h'],
    [3 * 86_400_000 + 4 * 3_600_000 + 1_000, '3d 04h'],
    [10 * 86_400_000, '10d 00h'],
    [-5, '0ms'],
    [Number.NaN, '0ms'],
  ])('formats %d ms as %j', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
