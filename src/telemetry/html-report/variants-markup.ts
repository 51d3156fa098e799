import type { VariantOutcome } from '../../core/variant.js';
import { variantsLine, variantWords } from '../../core/variant-words.js';
import { html, type SafeHtml } from './safe-html.js';

/** A result that may carry an issue's variants (the batch record's). */
interface WithVariants {
  readonly issueNumber: number;
  readonly variants?: readonly VariantOutcome[] | undefined;
  readonly decidedBy?: 'score' | 'check' | 'first-success' | undefined;
}

/**
 * The issues that ran as variants: one group each, its scoreboard line, then a row per variant
 * (branch, check, score, changed lines, outcome), the winner marked. Empty when there were none.
 */
export function variantGroups(results: readonly unknown[]): SafeHtml | '' {
  const issues = (results as readonly WithVariants[]).filter((r) => r.variants !== undefined);
  if (issues.length === 0) return '';
  return html`<section aria-labelledby="variants"><h2 id="variants">Variants</h2>${issues.map(
    (
      issue,
    ) => html`<div class="variants" data-issue="${issue.issueNumber}"><p class="scoreboard">${variantsLine(issue)}</p>
<table><thead><tr><th>variant</th><th>branch</th><th>check</th><th>score</th><th>changed lines</th><th>outcome</th></tr></thead><tbody>${(
      issue.variants ?? []
    ).map(
      (entry) =>
        html`<tr class="${entry.won ? 'winner' : 'loser'}"><td>${entry.won ? '★ ' : ''}v${entry.variant} ${entry.name}</td><td class="branch">${entry.branch}</td><td>${entry.checkPassed === undefined ? '' : entry.checkPassed ? 'passed' : 'failed'}</td><td>${entry.score ?? ''}</td><td>${entry.changedLines ?? ''}</td><td>${variantWords(entry)}${entry.archiveRef ? html` <span class="detail">archived: ${entry.archiveRef}</span>` : ''}</td></tr>`,
    )}</tbody></table></div>`,
  )}</section>`;
}
