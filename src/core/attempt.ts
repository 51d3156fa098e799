// The unit of work: one attempt at an issue. Without variants an issue has one attempt, named as the issue.

/** One attempt at an issue: the issue, and which of its variants (absent: the issue's only attempt). */
export interface Attempt {
  readonly issueNumber: number;
  /** 1-based; absent when the issue runs once (no variants). */
  readonly variant?: number | undefined;
}

/** A key unique per attempt in a batch: `42`, or `42/v2` for a variant (as `<issue>` arguments take it). */
export function attemptKey(attempt: Attempt): string {
  return attempt.variant === undefined
    ? String(attempt.issueNumber)
    : `${attempt.issueNumber}/v${attempt.variant}`;
}

/** The attempt's name in files and ids: `issue-42`, or `issue-42-v2` (log files, job names). */
export function attemptName(attempt: Attempt): string {
  return attempt.variant === undefined
    ? `issue-${attempt.issueNumber}`
    : `issue-${attempt.issueNumber}-v${attempt.variant}`;
}

/** How people read it: `#42`, or `#42 v2`. */
export function attemptLabel(attempt: Attempt): string {
  return attempt.variant === undefined
    ? `#${attempt.issueNumber}`
    : `#${attempt.issueNumber} v${attempt.variant}`;
}

/** In a sentence: `issue 42`, or `issue 42 v2`. */
export function attemptWords(attempt: Attempt): string {
  return attempt.variant === undefined
    ? `issue ${attempt.issueNumber}`
    : `issue ${attempt.issueNumber} v${attempt.variant}`;
}

/** True when both name the same attempt. */
export function sameAttempt(a: Attempt, b: Attempt): boolean {
  return a.issueNumber === b.issueNumber && a.variant === b.variant;
}

const ATTEMPT_TEXT = /^#?([1-9]\d*)(?:\/v([1-9]\d*))?$/;

/** `42`, `#42` or `42/v2` as an attempt; undefined for anything else. */
export function parseAttempt(text: string): Attempt | undefined {
  const match = ATTEMPT_TEXT.exec(text.trim());
  if (!match?.[1]) return undefined;
  const issueNumber = Number(match[1]);
  if (!Number.isSafeInteger(issueNumber)) return undefined;
  return match[2] === undefined ? { issueNumber } : { issueNumber, variant: Number(match[2]) };
}
