import { hostname } from 'node:os';
import { formatDuration } from '../../config/duration.js';
import { formatBytes } from '../../core/size.js';
import type { WorktreeEvent } from '../events.js';
import type { TelemetryStats } from '../stats.js';
import { buildBatchTimeline, type TaskOutcomeInput } from './batch-timeline.js';
import { PAGE_STYLE } from './page-style.js';
import { html, type SafeHtml } from './safe-html.js';
import { timeScale } from './time-scale.js';
import { overlapList, phaseLegend, timelineTable } from './timeline-markup.js';
import { variantGroups } from './variants-markup.js';

/** One batch's record, as `WorktreeManager.batchReport()` reads it. Plain data. */
export interface BatchReportData {
  readonly batchId: string;
  /** The batch's retained telemetry events (any order); unknown types are ignored. */
  readonly events: readonly WorktreeEvent[];
  /** The batch's counts, as `telemetryStats({ batchId })` gives them: the count cards show these. */
  readonly stats: TelemetryStats;
  /** The repository's main worktree root, shown in the header. */
  readonly repoPath?: string;
  /**
   * The batch's task results (its record's, `PoolExecutionResult.results`): each row's outcome comes
   * from here, and tasks cancelled before they started, which have no events, get their row.
   */
  readonly results?: readonly TaskOutcomeInput[];
}

export interface HtmlReportOptions {
  /** Host shown for tasks whose events name no worker or host (a local run). @default os.hostname() */
  readonly localHost?: string;
  /** When the page was made (shown in the footer). @default new Date() */
  readonly generatedAt?: Date;
}

/**
 * One self-contained HTML page for a batch: the timeline (a row per task, its phases as coloured
 * bars, its outcome and where it ran), tasks running over time, overlapping and conflicting pairs,
 * and the report's counts. Inline CSS and SVG, no script, nothing fetched at view time; every
 * piece of user data (branches, messages, paths, worker names) is escaped.
 */
export function renderHtmlReport(data: BatchReportData, options: HtmlReportOptions = {}): string {
  const timeline = buildBatchTimeline(data.events, data.results);
  const scale = timeScale(timeline.startMs, timeline.endMs);
  const localHost = options.localHost ?? hostname();
  const generatedAt = options.generatedAt ?? new Date();
  const started = timeline.tasks.length > 0 ? new Date(timeline.startMs).toISOString() : 'no events';
  const page = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>miyabi-worktree: ${data.batchId}</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
<header>
<h1>Batch <code>${data.batchId}</code></h1>
<p class="meta">${data.repoPath ? html`<code>${data.repoPath}</code> · ` : ''}started ${started} · ran ${formatDuration(timeline.endMs - timeline.startMs)} · ${timeline.tasks.length} task(s), at most ${timeline.peakConcurrency} at once</p>
</header>
<section aria-labelledby="counts"><h2 id="counts">Counts</h2>${countCards(data.stats)}</section>
<section aria-labelledby="timeline"><h2 id="timeline">Timeline</h2>${
    timeline.tasks.length > 0
      ? html`${phaseLegend()}${timelineTable(timeline, scale, localHost)}`
      : html`<p class="none">No event of this batch is retained any more (the journal keeps the counts of older batches, not their events).</p>`
  }</section>
${variantGroups(data.results ?? [])}
<section aria-labelledby="overlaps"><h2 id="overlaps">Overlaps and conflicts</h2>${overlapList(timeline)}</section>
<footer>Made by miyabi-worktree on ${localHost} at ${generatedAt.toISOString()}. This page loads nothing from the network.</footer>
</body>
</html>
`;
  return page.toString();
}

/** The report's figures (the batch record's, as `report` prints them), one card each. */
function countCards(stats: TelemetryStats): SafeHtml {
  const cards: { label: string; value: string | number; tone?: string }[] = [
    { label: 'tasks', value: stats.tasks },
    { label: 'executed', value: stats.executions },
    { label: 'succeeded', value: stats.successfulExecutions, tone: 'success' },
    {
      label: 'failed',
      value: stats.failedExecutions,
      tone: stats.failedExecutions > 0 ? 'failed' : undefined,
    },
    { label: 'created', value: stats.creates },
    { label: 'cleaned up', value: stats.cleanups },
    { label: 'errors', value: stats.errors },
    { label: 'average execution', value: formatDuration(stats.averageExecutionMs) },
    { label: 'success rate', value: `${stats.successRate.toFixed(1)}%` },
  ];
  // As in the report: later figures only when non-zero.
  if (stats.notStarted > 0) cards.push({ label: 'cancelled before starting', value: stats.notStarted });
  if (stats.mergeConflicts > 0) cards.push({ label: 'merge conflicts', value: stats.mergeConflicts });
  if (stats.conflictsResolved > 0) {
    cards.push({ label: 'conflicts resolved', value: stats.conflictsResolved, tone: 'success' });
  }
  if (stats.pullRequests > 0) cards.push({ label: 'pull requests', value: stats.pullRequests });
  if (stats.variants) {
    cards.push({
      label: `variant attempts for ${stats.variants.issues} issue(s)`,
      value: stats.variants.attempts,
    });
  }
  if (stats.overlapWarnings > 0) {
    cards.push({ label: 'overlapping pairs', value: stats.overlapWarnings });
    cards.push({ label: 'conflicting pairs', value: stats.overlapConflicts });
  }
  if (stats.resources) {
    cards.push({
      label: 'peak memory',
      value: `${formatBytes(stats.resources.peakRssBytes)} (#${stats.resources.peakIssueNumber})`,
    });
    cards.push({ label: 'CPU time', value: `${stats.resources.cpuSeconds.toFixed(2)} s` });
    if (stats.resources.memoryLimited > 0) {
      cards.push({
        label: 'stopped at the memory limit',
        value: stats.resources.memoryLimited,
        tone: 'failed',
      });
    }
  }
  if (stats.usage) {
    cards.push({
      label: 'tokens in / out',
      value: `${stats.usage.inputTokens.toLocaleString('en-US')} / ${stats.usage.outputTokens.toLocaleString('en-US')}`,
    });
    cards.push({ label: 'cost', value: `$${stats.usage.costUsd.toFixed(2)}` });
  }
  return html`<ul class="cards">${cards.map(
    (card) =>
      html`<li class="card${card.tone ? ` ${card.tone}` : ''}" data-count="${card.label}"><span class="value">${card.value}</span><span class="label">${card.label}</span></li>`,
  )}</ul>`;
}
