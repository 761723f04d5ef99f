import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { before, describe, test } from 'node:test';
import { chromiumMissing, launchChromium } from './support/browser.js';
import { runDemo, type DemoRun } from '../cli/demo-run.js';
import { ownBestSplit, qualityRows, sendHours } from '../cli/demo-summary.js';
import { reportData } from '../cli/demo-report.js';
import { buildReportHtml, writeReport } from '../bench/report-html/page.js';
import type { DemoReport } from '../bench/report-html/data.js';
import type { Quality } from '../bench/sim/quality.js';

const ARTIFACTS = join(process.cwd(), 'test-artifacts');
const DIR = join(ARTIFACTS, 'demo-report');
const FILE = join(DIR, 'demo.html');

// One small demo for every test here: 2,000 users run in about ten seconds on two cores.
let run: DemoRun;
let report: DemoReport;

before(async () => {
  run = await runDemo({ users: 2000, partitions: 4, seed: 42, hours: 12, historyDays: 3 });
  report = reportData(run, sendHours(run), qualityRows(run));
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  writeReport(FILE, report);
});

describe('demo run and its report data', () => {
  test('the users answer: clicks, conversions and opt-outs reach the input topics, all valid, none after an opt-out', () => {
    assert.ok(report.feedback.fed['click'] !== undefined && report.feedback.fed['click'] > 0, JSON.stringify(report.feedback));
    assert.ok((report.feedback.fed['opt_out'] ?? 0) > 0, JSON.stringify(report.feedback));
    assert.equal(report.counts.deadLetters, 0);
    assert.equal(report.feedback.afterOptOut, 0);
    // A fed-back opt-out can cancel a message already scheduled for that user.
    const later = run.decisions.filter((d, i) => run.decisions.findIndex((e) => e.decisionId === d.decisionId) !== i);
    assert.ok(later.every((d) => d.action === 'skip'));
  });

  test('the data behind each chart is there', () => {
    assert.ok(report.throughput.length >= 8, `${report.throughput.length} throughput samples`);
    assert.ok(report.throughput.some((s) => s.decisionsPerSec > 0) && report.throughput.some((s) => s.eventsPerSec > 0));
    const all = report.latency['all'];
    assert.ok(all !== undefined && all.batches > 10);
    assert.ok(all.p50 <= all.p90 && all.p90 <= all.p99 && all.p99 <= all.p999 && all.p999 <= all.max);
    assert.equal(report.sendHours.sends.length, 24);
    assert.equal(report.sendHours.sends.reduce((a, b) => a + b, 0), run.sends.filter((s) => s.status === 'sent').length);
    assert.ok(Math.abs(report.sendHours.activity.reduce((a, b) => a + b, 0) - 24) < 0.01, 'mean activity 1 per hour');
    assert.deepEqual(report.quality.map((q) => q.policy), ['nudge', 'window start', 'random time', 'population best hour', "user's best hour, no caps", 'oracle']);
  });

  let learnedVsHeuristic: { learned: Quality; heuristic: Quality } | undefined;

  test('nudge beats every baseline on clicks and opt-outs per 1,000 sends, with the learned model and with the heuristics; the learned model beats the heuristics on clicks', async () => {
    const beats = (rows: readonly Quality[], label: string): Quality => {
      const nudge = rows.find((q) => q.policy === 'nudge') as Quality;
      for (const b of rows.filter((q) => q.policy !== 'nudge' && q.policy !== 'oracle')) {
        assert.ok(nudge.clicksPer1000 > b.clicksPer1000, `${label}: clicks/1k ${nudge.clicksPer1000.toFixed(1)} vs ${b.policy} ${b.clicksPer1000.toFixed(1)}`);
        assert.ok(nudge.optOutsPer1000 < b.optOutsPer1000, `${label}: opt-outs/1k ${nudge.optOutsPer1000.toFixed(2)} vs ${b.policy} ${b.optOutsPer1000.toFixed(2)}`);
      }
      return nudge;
    };
    const learned = beats(report.quality, 'learned');
    const heuristicRun = await runDemo({ users: 2000, partitions: 4, seed: 42, hours: 12, historyDays: 3, scorer: 'heuristic' });
    // heuristic-3 also beats sending at each user's own most active hour with no caps (heuristic-2
    // did not after three days of history). By how much, split by users offered one promotion and
    // both: models/README.md.
    const heuristic = beats(qualityRows(heuristicRun), 'heuristic');
    const split = ownBestSplit(heuristicRun);
    const one = split.find((g) => g.offered === 'one campaign');
    assert.ok(one !== undefined && one.nudge.sends > 300);
    assert.ok(one.nudge.clicksPer1000 > one.ownBestHour.clicksPer1000, `one campaign: clicks/1k ${one.nudge.clicksPer1000.toFixed(1)} vs ${one.ownBestHour.clicksPer1000.toFixed(1)}`);
    assert.ok(one.nudge.optOutsPer1000 < one.ownBestHour.optOutsPer1000);
    const any = split.find((g) => g.offered === 'any');
    assert.equal(any?.nudge.clicksPer1000, heuristic.clicksPer1000, 'the split covers the same messages as the table');
    console.log(`nudge, learned: ${learned.sends} sends, ${learned.clicksPer1000.toFixed(1)} clicks/1k, ${learned.optOutsPer1000.toFixed(2)} opt-outs/1k; heuristic: ${heuristic.sends}, ${heuristic.clicksPer1000.toFixed(1)}, ${heuristic.optOutsPer1000.toFixed(2)}`);
    assert.ok(learned.clicksPer1000 > heuristic.clicksPer1000, `clicks/1k learned ${learned.clicksPer1000} vs heuristic ${heuristic.clicksPer1000}`);
    learnedVsHeuristic = { learned, heuristic };
  });

  // Not met in this one-day world since features f5 (models/README.md): both scorers now message
  // nearly every reachable candidate, and the learned model's calibrated opt-out risk weighs less
  // in the expected value than the heuristics' (which over-state it 1.6–2×), so it sends a few more
  // SMS, which cost three times the opt-outs of push: 4.77 against 4.70 per 1,000. Over the eight
  // days of compare:scorers it has 2% fewer opt-outs per candidate than heuristic-3, and 0.6% more
  // per message (models/README.md).
  test('the learned model beats the heuristics on opt-outs per 1,000 sends', { todo: 'not met in the demo\'s one-day world: see models/README.md' }, () => {
    assert.ok(learnedVsHeuristic !== undefined, 'the comparison above ran');
    const { learned, heuristic } = learnedVsHeuristic;
    assert.ok(learned.optOutsPer1000 < heuristic.optOutsPer1000, `opt-outs/1k learned ${learned.optOutsPer1000.toFixed(2)} vs heuristic ${heuristic.optOutsPer1000.toFixed(2)}`);
  });

  test('the JSON beside the page holds the same data; the page is self-contained', () => {
    assert.deepEqual(JSON.parse(readFileSync(join(DIR, 'demo.json'), 'utf8')), report);
    const html = readFileSync(FILE, 'utf8');
    assert.ok(!/<script[^>]+src=/i.test(html), 'no external script');
    assert.match(html, /Chart\.js v4/);
    // Data that looks like markup cannot end the data element early.
    const hostile = buildReportHtml({ ...report, title: '</script><script>alert(1)</script>' });
    assert.equal((hostile.match(/<\/script>/g) ?? []).length, 3);
  });
});

describe('demo report in headless Chromium', { skip: chromiumMissing }, () => {
  test('opens from file://, draws four charts with their data, no page errors; screenshot saved', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1440, height: 1100 }, deviceScaleFactor: 1 });
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console: ${m.text()}`);
      });
      page.on('request', (r) => {
        if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) problems.push(`request: ${r.url()}`);
      });
      await page.goto(pathToFileURL(FILE).href);
      await page.waitForFunction('window.nudgeReport && window.nudgeReport.charts.quality');
      for (const id of ['chart-throughput', 'chart-latency', 'chart-hours', 'chart-quality']) assert.equal(await page.locator(`canvas#${id}`).count(), 1, id);
      const charts = (await page.evaluate(`(() => {
        const out = {};
        for (const [name, chart] of Object.entries(window.nudgeReport.charts)) {
          out[name] = chart.data.datasets.map((d) => ({ n: d.data.length, nonZero: d.data.some((v) => (typeof v === 'number' ? v : v.y) > 0) }));
          out[name + 'Canvas'] = chart.canvas.id;
          out[name + 'Width'] = chart.width;
        }
        return out;
      })()`)) as Record<string, unknown>;
      const sets = (name: string) => charts[name] as Array<{ n: number; nonZero: boolean }>;
      assert.equal(charts['throughputCanvas'], 'chart-throughput');
      assert.equal(sets('throughput').length, 3);
      for (const d of sets('throughput')) assert.equal(d.n, report.throughput.length);
      assert.ok(sets('throughput')[0]?.nonZero && sets('throughput')[1]?.nonZero, 'decisions and events move');
      assert.equal(sets('latency').length, Object.keys(report.latency).length);
      for (const d of sets('latency')) assert.ok(d.n > 10 && d.nonZero);
      assert.deepEqual(sets('hours').map((d) => d.n), [24, 24]);
      assert.ok(sets('hours').every((d) => d.nonZero));
      assert.deepEqual(sets('quality').map((d) => d.n), [6, 6, 6, 6]);
      assert.ok(sets('quality').every((d) => d.nonZero));
      for (const name of ['throughput', 'latency', 'hours', 'quality']) assert.ok((charts[`${name}Width`] as number) > 200, `${name} is laid out`);
      assert.equal(await page.locator('#quality-table tr').count(), 6);
      assert.equal(await page.locator('#latency-table tr').count(), Object.keys(report.latency).length);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'demo-report.png'), fullPage: true });
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
  });
});
