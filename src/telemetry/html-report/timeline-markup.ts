import { pathToFileURL } from 'node:url';
import { formatDuration } from '../../config/duration.js';
import { formatBytes } from '../../core/size.js';
import type { BatchTimeline, PhaseSpan, TaskTimeline, TimelinePhase } from './batch-timeline.js';
import { TIMELINE_PHASES } from './batch-timeline.js';
import { html, type SafeHtml } from './safe-html.js';
import { round, type TimeScale, VIEW_WIDTH } from './time-scale.js';

/** What each phase is called in the legend and in the bars' tooltips. */
export const PHASE_LABELS: Readonly<Record<TimelinePhase, string>> = {
  wait: 'wait for a slot',
  create: 'create',
  setup: 'setup',
  execute: 'execute',
  paused: 'paused (usage limit)',
  check: 'landing check',
  merge: 'merge',
  push: 'push',
  cleanup: 'cleanup',
};

// Narrowest bar drawn, in viewBox units: a 5 ms create in a 20 min batch stays visible.
const MIN_BAR = 2;
const ROW_HEIGHT = 18;

/** The legend of phase colours. */
export function phaseLegend(): SafeHtml {
  return html`<ul class="legend" aria-label="phases">${TIMELINE_PHASES.map(
    (phase) => html`<li><span class="swatch phase-${phase}"></span>${PHASE_LABELS[phase]}</li>`,
  )}<li><span class="swatch failed"></span>ended in an error</li></ul>`;
}

/**
 * The timeline: one table row per task (`data-issue`, `data-outcome`), its phases as coloured SVG
 * bars on the batch's time axis, its outcome and where it ran. Labels are HTML over the drawing.
 */
export function timelineTable(timeline: BatchTimeline, scale: TimeScale, localHost: string): SafeHtml {
  const axis = html`<div class="axis">${scale.ticks.map(
    (tick) => html`<span style="left:${scale.percent(tick.atMs)}%">${tick.label}</span>`,
  )}</div>`;
  return html`<table class="timeline">
<thead><tr><th scope="col">Task</th><th scope="col" class="bars-head">${axis}</th><th scope="col">Outcome</th><th scope="col">Ran on</th></tr></thead>
<tbody>
${timeline.tasks.map((task) => taskRow(task, timeline, scale, localHost))}
</tbody>
<tfoot>${concurrencyRow(timeline, scale)}</tfoot>
</table>`;
}

function taskRow(task: TaskTimeline, timeline: BatchTimeline, scale: TimeScale, localHost: string): SafeHtml {
  const name = task.issueNumber !== null ? `#${task.issueNumber}` : task.worktreeId;
  const where = task.worker ?? task.host ?? localHost;
  const detail = [task.stage, task.code].filter((part): part is string => part !== null).join(', ');
  const cost = costDetail(task);
  const markers = timeline.overlaps.filter(
    (pair) => pair.a.worktreeId === task.worktreeId || pair.b.worktreeId === task.worktreeId,
  );
  return html`<tr class="task" data-issue="${task.issueNumber ?? ''}" data-worktree="${task.worktreeId}" data-outcome="${task.outcome}">
<th scope="row" class="task-name"><span class="issue">${name}</span><span class="branch">${task.branch ?? ''}</span>${taskOutput(task)}</th>
<td class="bars"><svg viewBox="0 0 ${VIEW_WIDTH} ${ROW_HEIGHT}" preserveAspectRatio="none" role="img" aria-label="${phaseSummary(task)}">${gridLines(scale)}${task.phases.map((span) => phaseBar(span, scale))}${markers.map(
    (pair) =>
      html`<rect class="overlap-marker${pair.conflict ? ' conflict' : ''}" x="${scale.x(pair.atMs) - 1}" y="0" width="2" height="${ROW_HEIGHT}"><title>${pair.conflict ? 'conflict' : 'overlap'}: #${pair.a.issue ?? '?'} ↔ #${pair.b.issue ?? '?'}</title></rect>`,
  )}</svg></td>
<td class="outcome"><span class="badge outcome-${task.outcome}" title="${task.error ?? ''}">${task.outcome}</span>${detail ? html`<span class="detail">${detail}</span>` : ''}${landedDetail(task)}<span class="detail">${formatDuration(task.durationMs)}</span>${cost ? html`<span class="detail cost">${cost}</span>` : ''}</td>
<td class="where">${where}</td>
</tr>
`;
}

/** `2nd into main · batch of 4`: where its branch landed, in the order its target moved. */
function landedDetail(task: TaskTimeline): SafeHtml | string {
  const landed = task.landed;
  if (!landed) return '';
  const batch = landed.together > 1 ? ` · batch of ${landed.together}` : '';
  return html`<span class="detail landing-order${landed.together > 1 ? ' batched' : ''}" data-landing-order="${landed.order}" data-landed-together="${landed.together}">${ordinal(landed.order)} into ${landed.into}${batch}</span>`;
}

function ordinal(n: number): string {
  const teen = n % 100 >= 11 && n % 100 <= 13;
  const suffix = teen ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}

/** `612 MiB peak · 1.20 s CPU · 12,000 / 800 tokens · $0.04`: what the row's task used, when known. */
function costDetail(task: TaskTimeline): string {
  const parts: string[] = [];
  if (task.resources) {
    parts.push(
      `${formatBytes(task.resources.peakRssBytes)} peak`,
      `${task.resources.cpuSeconds.toFixed(2)} s CPU`,
    );
  }
  const usage = task.usage;
  if (usage?.inputTokens !== undefined || usage?.outputTokens !== undefined) {
    parts.push(
      `${(usage.inputTokens ?? 0).toLocaleString('en-US')} / ${(usage.outputTokens ?? 0).toLocaleString('en-US')} tokens`,
    );
  }
  if (usage?.costUsd !== undefined) parts.push(`$${usage.costUsd.toFixed(2)}`);
  return parts.join(' · ');
}

/** The last lines of the task's output and a link to its whole log (a remote task's copy here). */
function taskOutput(task: TaskTimeline): SafeHtml | string {
  if (task.lastLines === null && task.logFile === null) return '';
  return html`<details class="output"><summary>output</summary>${
    task.lastLines !== null ? html`<pre>${task.lastLines}</pre>` : ''
  }${task.logFile !== null ? html`<a href="${pathToFileURL(task.logFile).href}">${task.logFile}</a>` : ''}</details>`;
}

function gridLines(scale: TimeScale): SafeHtml[] {
  return scale.ticks.map(
    (tick) =>
      html`<line class="grid" x1="${scale.x(tick.atMs)}" x2="${scale.x(tick.atMs)}" y1="0" y2="${ROW_HEIGHT}"></line>`,
  );
}

function phaseBar(span: PhaseSpan, scale: TimeScale): SafeHtml {
  const x = scale.x(span.startMs);
  const width = Math.max(MIN_BAR, round(scale.x(span.endMs) - x));
  const label = `${PHASE_LABELS[span.phase]}: ${formatDuration(span.endMs - span.startMs)}${span.failed ? ' (failed)' : ''}`;
  return html`<rect class="phase phase-${span.phase}${span.failed ? ' failed' : ''}" x="${Math.min(x, VIEW_WIDTH - width)}" y="3" width="${width}" height="${ROW_HEIGHT - 6}"><title>${label}</title></rect>`;
}

function phaseSummary(task: TaskTimeline): string {
  return task.phases
    .map((span) => `${PHASE_LABELS[span.phase]} ${formatDuration(span.endMs - span.startMs)}`)
    .join(', ');
}

/**
 * Tasks running over time (from their create to their end), as a step area under the bars, on the
 * same axis: a footer row of the timeline table.
 */
function concurrencyRow(timeline: BatchTimeline, scale: TimeScale): SafeHtml {
  const height = 100;
  const peak = Math.max(1, timeline.peakConcurrency);
  const y = (running: number) => round(height - (running / peak) * (height - 8));
  let path = `M0 ${height}`;
  let last = 0;
  for (const [at, running] of timeline.concurrency) {
    const x = scale.x(at);
    path += ` L${x} ${y(last)} L${x} ${y(running)}`;
    last = running;
  }
  path += ` L${VIEW_WIDTH} ${y(last)} L${VIEW_WIDTH} ${height} Z`;
  const every = Math.ceil(peak / 5);
  const levels = Array.from({ length: peak + 1 }, (_, level) => level).filter(
    (level) => level % every === 0 || level === peak,
  );
  return html`<tr class="concurrency-row">
<th scope="row">Tasks running<div class="y-labels">${levels.map((level) => html`<span style="bottom:${round(((height - y(level)) / height) * 100)}%">${level}</span>`)}</div></th>
<td class="chart"><svg class="concurrency" viewBox="0 0 ${VIEW_WIDTH} ${height}" preserveAspectRatio="none" role="img" aria-label="tasks running over time, peak ${timeline.peakConcurrency}">
${levels.map((level) => html`<line class="grid" x1="0" x2="${VIEW_WIDTH}" y1="${y(level)}" y2="${y(level)}"></line>`)}
<path class="area" d="${path}"></path>
</svg><div class="axis">${scale.ticks.map((tick) => html`<span style="left:${scale.percent(tick.atMs)}%">${tick.label}</span>`)}</div></td>
<td colspan="2" class="peak">at most <strong>${timeline.peakConcurrency}</strong> at once</td>
</tr>`;
}

/** The overlapping and conflicting pairs, or a line saying there were none (or none recorded). */
export function overlapList(timeline: BatchTimeline): SafeHtml {
  if (timeline.overlaps.length === 0) {
    return html`<p class="none">No two tasks changed the same files (or no overlap was recorded for this batch).</p>`;
  }
  return html`<ul class="overlaps">${timeline.overlaps.map(
    (
      pair,
    ) => html`<li class="${pair.conflict ? 'conflict' : 'overlap'}"><span class="badge ${pair.conflict ? 'outcome-failed' : 'outcome-timeout'}">${pair.conflict ? 'conflict' : 'overlap'}</span>
#${pair.a.issue ?? '?'} <span class="branch">${pair.a.branch}</span> ↔ #${pair.b.issue ?? '?'} <span class="branch">${pair.b.branch}</span>
${pair.conflict && pair.conflictPaths.length > 0 ? html`<span class="detail">conflict in ${pair.conflictPaths.join(', ')}</span>` : ''}
${pair.files.length > 0 ? html`<span class="detail">both changed ${pair.files.join(', ')}</span>` : ''}</li>`,
  )}</ul>`;
}
