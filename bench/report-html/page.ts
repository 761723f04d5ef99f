import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { inlineSafe, readChartJs } from '../../http/dashboard/index.js';
import { REPORT_CLIENT_JS } from './client.js';
import { embeddableJson, type DemoReport } from './data.js';

const STYLES = `
:root { --text: #1d2430; --muted: #5f6b7a; --line: #e3e7ee; --card: #fff; --bg: #f5f7fa; --blue: #2f6fde; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text); font: 14px/1.45 ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header { padding: 18px 24px 8px; }
h1 { margin: 0; font-size: 20px; }
h1 span { color: var(--blue); }
.muted { color: var(--muted); }
main { padding: 8px 24px 32px; display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 14px; }
.kpis { grid-column: 1 / -1; display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 14px; }
.kpi, .card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 12px 14px; min-width: 0; }
.kpi .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .5px; }
.kpi .value { font-size: 24px; font-weight: 700; font-variant-numeric: tabular-nums; }
.card h2 { font-size: 13px; margin: 0 0 4px; text-transform: uppercase; letter-spacing: .5px; color: var(--muted); }
.card p { margin: 0 0 8px; color: var(--muted); font-size: 12px; }
.chart { position: relative; height: 280px; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; margin-top: 10px; font-size: 13px; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--line); text-align: left; }
th { color: var(--muted); font-weight: 600; font-size: 12px; }
.num { text-align: right; }
tr.ours td { font-weight: 700; }
`;

const BODY = `
<header><h1>nudge <span>demo report</span></h1><div class="muted" id="run"></div></header>
<main>
  <section class="kpis">
    <div class="kpi"><div class="label">pipeline run time</div><div class="value" id="kpi-total"></div></div>
    <div class="kpi"><div class="label">decisions</div><div class="value" id="kpi-decisions"></div></div>
    <div class="kpi"><div class="label">sends</div><div class="value" id="kpi-sends"></div></div>
    <div class="kpi"><div class="label">clicks / conversions / opt-outs fed back</div><div class="value" id="kpi-feedback"></div></div>
  </section>
  <section class="card"><h2>Throughput</h2><p>Decisions, events and sends per second over the run, sampled every 250 ms when the event loop is free (a gap is a long batch holding it): loading the users' past days, deciding the candidates, then the simulated day.</p><div class="chart"><canvas id="chart-throughput"></canvas></div></section>
  <section class="card"><h2>Batch latency</h2><p>Time to process and commit one batch, as a cumulative distribution (HDR histogram).</p><div class="chart"><canvas id="chart-latency"></canvas></div>
    <table><thead><tr><th>batches</th><th class="num">count</th><th class="num">p50</th><th class="num">p90</th><th class="num">p99</th><th class="num">p99.9</th><th class="num">max</th></tr></thead><tbody id="latency-table"></tbody></table></section>
  <section class="card"><h2>When messages landed</h2><p>Messages by the recipient's local hour, against when the users messaged are truly active (the simulator's ground truth, which nudge never sees).</p><div class="chart"><canvas id="chart-hours"></canvas></div></section>
  <section class="card"><h2>Decision quality</h2><p>Expected outcomes per 1,000 promotional messages under the simulator's ground truth: nudge, simpler policies on the same candidates, and an oracle that knows the true probabilities.</p><div class="chart"><canvas id="chart-quality"></canvas></div>
    <table><thead><tr><th>policy</th><th class="num">sends</th><th class="num">clicks/1k</th><th class="num">conv/1k</th><th class="num">opt-outs/1k</th><th class="num">cost/conv</th></tr></thead><tbody id="quality-table"></tbody></table></section>
</main>
`;

/**
 * The demo's report as one self-contained HTML document that works offline from a file:
 * chart.js and the drawing script inline (the dashboard's loader), the data embedded as JSON.
 * Without chart.js installed the page still shows its numbers and tables.
 */
export function buildReportHtml(report: DemoReport, options: { chartJsPath?: string } = {}): string {
  const scripts = [readChartJs(options.chartJsPath), REPORT_CLIENT_JS].filter((s): s is string => s !== undefined).map(inlineSafe);
  const hashes = scripts.map((s) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`).join(' ');
  // Nothing but the inlined scripts may run, and the page fetches nothing.
  const csp = `default-src 'none'; script-src ${hashes}; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'`;
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta http-equiv="Content-Security-Policy" content="${csp}">`,
    '<link rel="icon" href="data:,">',
    `<title>${escapeHtml(report.title)}</title>`,
    `<style>${STYLES}</style>`,
    '</head>',
    '<body>',
    BODY,
    `<script type="application/json" id="report-data">${embeddableJson(report)}</script>`,
    ...scripts.map((s) => `<script>${s}</script>`),
    '</body>',
    '</html>',
  ].join('\n');
}

/** Writes `file` (the HTML) and the same data as JSON beside it (`.html` replaced by `.json`); returns the JSON's path. */
export function writeReport(file: string, report: DemoReport): string {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, buildReportHtml(report));
  const json = file.replace(/\.html?$/i, '') + '.json';
  writeFileSync(json, JSON.stringify(report, null, 2) + '\n');
  return json;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);
}
