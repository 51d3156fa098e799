// The scoreboard of an issue's variants in words: one line the summary, the report and the HTML share.
import type { VariantDecision, VariantOutcome } from './variant.js';

/** A variant in the scoreboard: `won (90)`, `70`, `passed`, `check failed`, `failed at execute`. */
export function variantWords(entry: VariantOutcome): string {
  if (entry.won) return entry.score !== undefined ? `won (${entry.score})` : 'won';
  if (entry.checkPassed === false && entry.stage === 'check') return 'check failed';
  if (entry.status === 'success' && entry.stage === undefined) {
    return entry.score !== undefined ? String(entry.score) : 'passed, no score';
  }
  if (entry.status === 'success') return `landing failed at ${entry.stage ?? 'merge'}`;
  return entry.status === 'failed' ? `failed at ${entry.stage ?? 'execute'}` : entry.status;
}

/**
 * `#42 v3 won (90) · v2 70 · v1 check failed`: the winner first, then the others by score, then by
 * number; with `first-success` it says that the first to succeed won, as nothing else was known.
 */
export function variantsLine(result: {
  readonly issueNumber: number;
  readonly variants?: readonly VariantOutcome[] | undefined;
  readonly decidedBy?: VariantDecision | undefined;
}): string {
  const entries = [...(result.variants ?? [])].sort(
    (a, b) => Number(b.won) - Number(a.won) || (b.score ?? -1) - (a.score ?? -1) || a.variant - b.variant,
  );
  const board = entries.map((entry) => `v${entry.variant} ${variantWords(entry)}`).join(' · ');
  const note =
    result.decidedBy === 'first-success' && entries.some((entry) => entry.won)
      ? ' (no check and no score: the first to succeed won, that is all it knew)'
      : '';
  return `#${result.issueNumber} ${board}${note}`;
}
