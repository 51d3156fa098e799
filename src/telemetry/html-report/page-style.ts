import { trustedHtml } from './safe-html.js';

// The whole style sheet, inline: the page loads nothing at view time.
export const PAGE_STYLE = trustedHtml(`
:root { color-scheme: light; --fg: #1f2328; --muted: #656d76; --line: #d0d7de; --bg: #ffffff; --panel: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; color: var(--fg); background: var(--bg); }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 15px; margin: 28px 0 10px; }
.meta { color: var(--muted); margin: 0 0 16px; }
.meta code, .branch, .where { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 0; padding: 0; }
.card { list-style: none; background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 8px 14px; min-width: 110px; }
.card .value { display: block; font-size: 20px; font-weight: 600; }
.card .label { color: var(--muted); font-size: 12px; }
.card.success .value { color: #1a7f37; } .card.failed .value { color: #cf222e; } .card.timeout .value { color: #bc4c00; }
.legend { display: flex; flex-wrap: wrap; gap: 14px; padding: 0; margin: 0 0 8px; color: var(--muted); font-size: 12px; }
.legend li { list-style: none; display: flex; align-items: center; gap: 6px; }
.swatch { display: inline-block; width: 14px; height: 10px; border-radius: 2px; }
table.timeline { width: 100%; border-collapse: collapse; table-layout: fixed; }
table.timeline th, table.timeline td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: middle; }
table.timeline thead th { color: var(--muted); font-weight: 500; font-size: 12px; height: 28px; }
table.timeline thead th:nth-child(1) { width: 190px; } table.timeline thead th:nth-child(3) { width: 310px; } table.timeline thead th:nth-child(4) { width: 110px; }
.task-name .issue { font-weight: 600; margin-right: 8px; }
.task-name .branch { color: var(--muted); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; display: inline-block; max-width: 110px; vertical-align: bottom; }
.task-name .output { font-weight: 400; font-size: 12px; } .task-name .output summary { color: var(--muted); cursor: pointer; }
.task-name .output pre { margin: 4px 0; max-width: 100%; white-space: pre-wrap; overflow-wrap: anywhere; font-size: 11px; } .task-name .output a { font-size: 11px; word-break: break-all; }
td.bars svg { display: block; width: 100%; height: 22px; }
.bars-head, .chart { position: relative; }
.axis { position: relative; height: 16px; font-size: 11px; color: var(--muted); }
.axis span { position: absolute; transform: translateX(-50%); white-space: nowrap; }
.axis span:first-child { transform: none; }
line.grid { stroke: #eaeef2; stroke-width: 1; vector-effect: non-scaling-stroke; }
rect.phase { rx: 2; }
.phase-wait { fill: #d8dee4; background: #d8dee4; }
.phase-create { fill: #8250df; background: #8250df; }
.phase-setup { fill: #bf8700; background: #bf8700; }
.phase-execute { fill: #0969da; background: #0969da; }
.phase-paused { fill: #eac54f; background: #eac54f; }
.phase-check { fill: #bf8700; background: #bf8700; }
.phase-merge { fill: #1a7f37; background: #1a7f37; }
.phase-push { fill: #1b7c83; background: #1b7c83; }
.phase-cleanup { fill: #8c959f; background: #8c959f; }
rect.failed { fill: #cf222e; } .swatch.failed { background: #cf222e; }
rect.overlap-marker { fill: #bc4c00; } rect.overlap-marker.conflict { fill: #a40e26; }
.badge { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 12px; font-weight: 600; color: #fff; background: #8c959f; margin-right: 6px; }
.outcome-success { background: #1a7f37; } .outcome-failed { background: #cf222e; } .outcome-timeout { background: #bc4c00; }
.outcome-cancelled, .outcome-unfinished { background: #8c959f; }
.detail { color: var(--muted); font-size: 12px; margin-right: 6px; }
.where { color: var(--muted); }
.concurrency-row th { position: relative; color: var(--muted); font-weight: 500; font-size: 12px; vertical-align: top; }
.concurrency-row td.chart { padding-top: 10px; }
.chart svg { display: block; width: 100%; height: 100px; border-bottom: 1px solid var(--line); }
.chart .area { fill: rgba(9, 105, 218, 0.25); stroke: #0969da; stroke-width: 1.5; vector-effect: non-scaling-stroke; }
.y-labels { position: absolute; right: 6px; top: 10px; width: 22px; height: 100px; font-size: 11px; color: var(--muted); }
.y-labels span { position: absolute; right: 0; transform: translateY(50%); }
.peak { color: var(--muted); font-size: 12px; vertical-align: top; padding-top: 10px; }
.overlaps { padding: 0; margin: 0; } .overlaps li { list-style: none; padding: 4px 0; }
.variants table { border-collapse: collapse; margin: 4px 0 12px; } .variants td, .variants th { padding: 2px 8px; text-align: left; } .variants tr.winner { font-weight: 600; background: #e8f5e9; }
.none { color: var(--muted); }
footer { margin-top: 28px; color: var(--muted); font-size: 12px; }
`);
