import { MiyabiError } from '../index.js';

/** Most issues one `--issues` list may name (in total, and as the width of one range). */
export const MAX_ISSUES = 1000;

const LIST_HINT = 'Use comma-separated issue numbers and ranges, e.g. --issues 1,2,5-8';

// One list entry: a number or an inclusive range, each number optionally written `#12`.
const ENTRY = /^#?(\d+)(?:\s*-\s*#?(\d+))?$/;

/**
 * Parses the value of `--issues` into issue numbers: comma-separated positive integers and
 * inclusive ranges (`1,2,5-8` → `[1, 2, 5, 6, 7, 8]`), whitespace around entries tolerated and a
 * leading `#` accepted (`#3`).
 *
 * The result keeps input order. Duplicates (`1,1` or overlapping ranges `1-3,2-4`) are merged:
 * each number appears once, where it was first seen.
 *
 * @throws MiyabiError `INVALID_ARGUMENT` naming `--issues` and the bad entry when the list is
 * empty, has an empty entry, a non-numeric, zero or negative number, a reversed range (`8-5`), a
 * number beyond `Number.MAX_SAFE_INTEGER`, or names more than {@link MAX_ISSUES} issues.
 */
export function parseIssueList(text: string, optionName = '--issues'): number[] {
  if (text.trim() === '') throw listError(optionName, 'is empty');
  const seen = new Set<number>();
  for (const rawEntry of text.split(',')) {
    const entry = rawEntry.trim();
    for (const issue of expandEntry(entry, text, optionName)) {
      seen.add(issue);
      if (seen.size > MAX_ISSUES) {
        throw listError(optionName, `names more than ${MAX_ISSUES} issues`);
      }
    }
  }
  return [...seen];
}

/** The numbers one entry stands for; throws naming the entry when it is not valid. */
function expandEntry(entry: string, text: string, optionName: string): number[] {
  if (entry === '') throw listError(optionName, `has an empty entry in "${text.trim()}"`);
  if (/^-\s*#?\d/.test(entry)) {
    throw listError(optionName, `"${entry}" is not a positive issue number`);
  }
  const match = ENTRY.exec(entry);
  if (!match) throw listError(optionName, `"${entry}" is not an issue number or range`);
  const start = toIssue(match[1] ?? '', entry, optionName);
  if (match[2] === undefined) return [start];
  const end = toIssue(match[2], entry, optionName);
  if (end < start) {
    throw listError(optionName, `range "${entry}" is reversed (write it as ${end}-${start})`);
  }
  // Checked before expanding, so `1-9999999999` fails fast instead of allocating.
  if (end - start + 1 > MAX_ISSUES) {
    throw listError(optionName, `range "${entry}" spans more than ${MAX_ISSUES} issues`);
  }
  return Array.from({ length: end - start + 1 }, (_, index) => start + index);
}

function toIssue(digits: string, entry: string, optionName: string): number {
  const value = Number(digits);
  if (!Number.isSafeInteger(value)) {
    throw listError(optionName, `"${entry}" is too large to be an issue number`);
  }
  if (value === 0) throw listError(optionName, `"${entry}": issue numbers start at 1`);
  return value;
}

function listError(optionName: string, problem: string): MiyabiError {
  return new MiyabiError('INVALID_ARGUMENT', `${optionName} ${problem}`, {
    hint: LIST_HINT.replace('--issues', optionName),
    details: { option: optionName },
  });
}

/**
 * Parses one `<issue>` argument: a positive safe integer, optionally written `#12`.
 *
 * @throws MiyabiError `INVALID_ARGUMENT` naming `argumentName` otherwise.
 */
export function parseIssueNumber(text: string, argumentName = '<issue>'): number {
  const issue = tryParseIssueNumber(text);
  if (issue === undefined) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `${argumentName}: "${text.trim()}" is not an issue number (expected a positive integer)`,
      {
        hint: `Pass the issue number, e.g. miyabi-worktree create 42`,
        details: { argument: argumentName },
      },
    );
  }
  return issue;
}

/**
 * The issue number `text` spells (`42`, `#42`), or `undefined`: for arguments that take an
 * issue number or a worktree id (`remove <issue|id>`).
 */
export function tryParseIssueNumber(text: string): number | undefined {
  const match = /^#?(\d+)$/.exec(text.trim());
  if (!match) return undefined;
  const value = Number(match[1]);
  return Number.isSafeInteger(value) && value > 0 ? value : undefined;
}
