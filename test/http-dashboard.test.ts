import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { chromiumMissing, launchChromium } from './support/browser.js';
import { buildDashboardHtml } from '../http/dashboard/index.js';
import { CLIENT_JS } from '../http/dashboard/client.js';
import type { DashboardSnapshot } from '../http/replica-api.js';
import { startTestServer, TEST_TOKEN, type TestServer } from './support/http-client.js';
import { waitFor } from './support/wait.js';

const ARTIFACTS = join(process.cwd(), 'test-artifacts');

describe('dashboard page (no browser)', () => {
  test('one self-contained document: chart.js and the client inline, scripts allowed by hash', () => {
    const html = buildDashboardHtml();
    assert.match(html, /Chart\.js v4/);
    assert.ok(!/<script[^>]+src=/i.test(html), 'no external script');
    assert.ok(!/https?:\/\/(?!www\.chartjs\.org)[a-z]/i.test(html.replace(/<script>[\s\S]*?<\/script>/g, '')), 'no external URL in the markup');
    assert.equal((html.match(/<\/script>/g) ?? []).length, 2, 'nothing inside a script closes it early');
    assert.match(html, /script-src 'sha256-[^']+' 'sha256-[^']+'/);
  });

  test('the client script parses', () => {
    assert.doesNotThrow(() => new Function(CLIENT_JS));
  });

  test('without chart.js the page is still built, charts replaced by a note', () => {
    const html = buildDashboardHtml({ chartJsPath: '/nonexistent/chart.umd.js' });
    assert.ok(!html.includes('Chart.js v4'));
    assert.equal((html.match(/<\/script>/g) ?? []).length, 1);
  });

  test('GET / serves it without a token, with no-store and anti-framing headers', async () => {
    const s = await startTestServer({ dashboardHtml: buildDashboardHtml() });
    try {
      const res = await fetch(`${s.base}/`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
      assert.equal(res.headers.get('cache-control'), 'no-store');
      assert.equal(res.headers.get('x-frame-options'), 'DENY');
      assert.match(await res.text(), /<title>nudge · live<\/title>/);
    } finally {
      s.close();
    }
  });
});

describe('dashboard in headless Chromium', { skip: chromiumMissing }, () => {
  let s: TestServer;
  let browser: Browser;
  const problems: string[] = [];

  before(async () => {
    s = await startTestServer({ dashboardHtml: buildDashboardHtml() });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    s?.close();
  });

  async function open(hash: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      // A refused WebSocket is logged by the browser itself when we test a wrong token.
      if (m.type() === 'error' && !/WebSocket connection/.test(m.text())) problems.push(`console: ${m.text()}`);
    });
    await page.goto(`${s.base}/${hash}`);
    return page;
  }

  const text = (page: Page, id: string) => page.locator(`#${id}`).innerText();

  test('with #token=: connects, drops the token from the address bar, and its numbers follow the stream', async () => {
    const page = await open(`#token=${encodeURIComponent(TEST_TOKEN)}`);
    await page.locator('#conn', { hasText: 'live' }).waitFor({ timeout: 10_000 });
    assert.ok(!page.url().includes(TEST_TOKEN), 'the token is gone from the URL');
    assert.equal(await page.evaluate('sessionStorage.length'), 1);
    assert.equal(await page.evaluate('typeof Chart'), 'function');

    // Snapshot numbers.
    await page.locator('#kpi-ready', { hasText: '1 / 2' }).waitFor({ timeout: 5_000 });
    assert.equal(await text(page, 'kpi-dps'), '466');
    assert.equal(await text(page, 'kpi-lag'), '4212');
    assert.equal(await text(page, 'replica'), 'stub-replica');
    assert.equal(await page.locator('#partitions .part.restoring').count(), 1);
    assert.equal(await page.locator('#campaigns .campaign').count(), 2);
    assert.match(await text(page, 'sends'), /gupshup-in/);

    // Events: the counter and the feed move as the stub emits.
    assert.equal(await text(page, 'kpi-events'), '0');
    for (let i = 0; i < 5; i++) s.api.emit({ type: 'decision', ts: Date.now(), campaignId: 'c7', action: i % 2 ? 'skip' : 'send', reasons: i % 2 ? ['quiet_hours'] : [], channel: 'sms' });
    s.api.emit({ type: 'send', ts: Date.now(), campaignId: 'c7', provider: 'gupshup-in', status: 'sent', channel: 'sms' });
    await page.locator('#kpi-events', { hasText: /^6$/ }).waitFor({ timeout: 5_000 });
    assert.equal(await page.locator('#feed li').count(), 6);
    assert.match(await text(page, 'feed'), /quiet_hours/);

    // A live series for the chart: the snapshot changes every stats tick.
    let t = 0;
    const base = s.api.snap;
    const wobble = setInterval(() => {
      t++;
      const dps = { send: 120 + 40 * Math.sin(t / 3), schedule: 45 + 15 * Math.cos(t / 4), skip: 300 + 60 * Math.sin(t / 5 + 1), holdout: 6 + (t % 3) };
      const next: DashboardSnapshot = { ...base, decisionsPerSecond: dps, campaigns: base.campaigns.map((c) => ({ ...c, sent: c.sent + t * 40, decided: c.decided + t * 90 })) };
      s.api.snap = next;
      s.api.emit({ type: 'decision', ts: Date.now(), campaignId: t % 2 ? 'c7' : 'c8', action: ['send', 'schedule', 'skip', 'holdout'][t % 4] ?? 'send', reasons: t % 4 === 2 ? ['cap_global'] : [], channel: t % 3 ? 'sms' : 'push' });
      if (t % 3 === 0) s.api.emit({ type: 'send', ts: Date.now(), campaignId: 'c8', provider: 'fcm', status: t % 2 ? 'sent' : 'failed', channel: 'push' });
    }, 250);
    try {
      // Polled from here: a string predicate would be eval'd in the page, which its CSP forbids.
      await waitFor(async () => (await text(page, 'kpi-dps')) !== '466', 'decisions/s to follow the snapshot', 5_000);
      await page.waitForTimeout(7_000);
    } finally {
      clearInterval(wobble);
      s.api.snap = base;
    }
    assert.notEqual(await text(page, 'kpi-events'), '6');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    await page.close();
    assert.deepEqual(problems, []);
  });

  test('without a token it asks; a wrong one is refused; the right one connects', async () => {
    const page = await open('');
    await page.locator('#auth').waitFor({ state: 'visible', timeout: 5_000 });
    await page.fill('#token-input', 'wrong-token');
    await page.click('#auth button[type=submit]');
    await page.locator('#auth-message', { hasText: 'refused' }).waitFor({ timeout: 10_000 });
    await page.fill('#token-input', TEST_TOKEN);
    await page.click('#auth button[type=submit]');
    await page.locator('#conn', { hasText: 'live' }).waitFor({ timeout: 10_000 });
    await page.close();
    assert.deepEqual(problems, []);
  });
});
