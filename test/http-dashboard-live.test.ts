import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Agent } from 'undici';
import type { Page } from 'playwright-core';
import { chromiumMissing, launchChromium } from './support/browser.js';
import { demoCampaigns } from '../cli/demo-campaigns.js';
import { buildDashboardHtml } from '../http/dashboard/index.js';
import { ReplicaBinding } from '../http/replica-binding.js';
import { startHttpServer } from '../http/server.js';
import { systemClock } from '../processor/clock.js';
import type { AppendRecord } from '../processor/embedded/log.js';
import { LocalDirectory } from '../processor/kafka/directory.js';
import { createProviderAdapter } from '../operators/sinks/providers/index.js';
import { ProviderSink } from '../operators/sinks/provider-sink.js';
import { realTimers } from '../operators/sinks/resilience/timers.js';
import { Router } from '../operators/sinks/routing.js';
import { startFakeProviders } from '../bench/fakes/index.js';
import { DEFAULT_WORLD, profileRecord, simUser } from '../bench/sim/population.js';
import { TEST_TOKEN } from './support/http-client.js';
import { testLogger } from './support/logger.js';
import { embeddedReplica, jsonRecord } from './support/embedded-replica.js';
import { waitFor } from './support/wait.js';

const ARTIFACTS = join(process.cwd(), 'test-artifacts');
const USERS = 3_000;

const json = jsonRecord;

/**
 * The dashboard against a real replica, not a stub: the embedded engine with the decision
 * topology, provider sinks sending to the loopback fakes, the demo's campaigns, and an
 * audience that arrives in waves while the page is open. What the page shows has to come
 * from the pipeline's own committed outputs.
 */
test(
  'dashboard in headless Chromium follows a real replica while a demo campaign runs',
  { skip: chromiumMissing, timeout: 180_000 },
  async () => {
    const fakes = await startFakeProviders();
    const agent = new Agent({ keepAliveTimeout: 10_000 });
    const adapter = (name: 'gupshup' | 'twilio' | 'fcm') => createProviderAdapter({ ...fakes.configs[name], name }, { now: Date.now, dispatcher: agent });
    const [gupshup, twilio, fcm] = [adapter('gupshup'), adapter('twilio'), adapter('fcm')];
    const router = new Router({
      timers: realTimers,
      routes: [
        { country: 'IN', channel: 'sms', providers: [{ adapter: gupshup, pricePerSegment: 0.1, ratePerSec: 2_000 }, { adapter: twilio, pricePerSegment: 0.5, ratePerSec: 2_000 }] },
        { country: '*', channel: 'sms', providers: [{ adapter: twilio, pricePerSegment: 0.5, ratePerSec: 2_000 }] },
        { country: '*', channel: 'push', providers: [{ adapter: fcm, pricePerSegment: 0.0001, ratePerSec: 2_000 }] },
      ],
    });
    const { replica, log, close } = embeddedReplica({ partitions: 2, effects: [new ProviderSink(router, systemClock)] });
    const topics = replica.topics;
    const binding = new ReplicaBinding(replica, { directory: new LocalDirectory(), token: TEST_TOKEN, forwardTimeoutMs: 2_000 });
    const server = await startHttpServer({ api: binding, host: '127.0.0.1', port: 0, token: TEST_TOKEN, maxBodyBytes: 65_536, log: testLogger, dashboardHtml: buildDashboardHtml() });
    const browser = await launchChromium();
    const problems: string[] = [];
    let feeding: NodeJS.Timeout | undefined;
    try {
      const world = { ...DEFAULT_WORLD, seed: 11 };
      log.append(topics.input('profiles'), Array.from({ length: USERS }, (_, i) => { const u = simUser(world, i); return json(u.userId, profileRecord(u)); }));
      await replica.start();
      await waitFor(() => replica.ready, 'the replica to be ready', 30_000);

      const page: Page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      page.on('console', (m) => void (m.type() === 'error' && problems.push(`console: ${m.text()}`)));
      await page.goto(`http://127.0.0.1:${server.port}/#token=${encodeURIComponent(TEST_TOKEN)}`);
      await page.locator('#conn', { hasText: 'live' }).waitFor({ timeout: 10_000 });
      await page.locator('#kpi-ready', { hasText: '2 / 2' }).waitFor({ timeout: 10_000 });
      const text = (id: string) => page.locator(`#${id}`).innerText();
      assert.equal(await text('replica'), replica.id);
      assert.equal(await text('kpi-events'), '0', 'nothing has happened yet');

      // The demo's campaigns open now: an OTP that must go at once, a flash sale and a reminder.
      const campaigns = demoCampaigns(Date.now(), USERS);
      log.append(topics.campaigns, campaigns.map((c) => json(c.campaignId, c)));
      await waitFor(() => replica.campaigns.size === campaigns.length, 'the campaigns table to load', 10_000);

      // The audience arrives in waves, a few hundred candidates every quarter second.
      let next = 0;
      const wave = () => {
        const batch: AppendRecord[] = [];
        for (let k = 0; k < 150 && next < USERS; k++, next++) {
          const userId = `u${next}`;
          const c = campaigns[next % campaigns.length];
          if (c === undefined) continue;
          batch.push(json(userId, { campaignId: c.campaignId, userId, vars: c.campaignId === 'otp-login' ? { otp: String(100_000 + next) } : { product: 'a kurta' } }));
        }
        if (batch.length > 0) log.append(topics.input('candidates'), batch);
      };
      feeding = setInterval(wave, 250);

      // Sample what the page shows while the campaign runs (and winds down: decisions/s is a
      // 10-second average, so it keeps moving after the last wave). Enough samples, not a fixed time,
      // so that a busy machine only makes the test slower.
      const seen = { dps: new Set<string>(), sends: new Set<string>(), events: new Set<string>(), progress: new Set<string>() };
      const numbers = (s: Set<string>) => [...s].map((v) => Number(v.replace(/[^\d.]/g, ''))).filter((n) => Number.isFinite(n));
      const enough = () => seen.dps.size >= 3 && numbers(seen.dps).some((n) => n > 0) && seen.sends.size >= 3 && seen.progress.size >= 3 && Math.max(0, ...numbers(seen.events)) > 100;
      const until = Date.now() + 45_000;
      while (Date.now() < until && !(enough() && next >= USERS)) {
        seen.dps.add(await text('kpi-dps'));
        seen.sends.add(await text('kpi-sends'));
        seen.events.add(await text('kpi-events'));
        seen.progress.add(await text('campaigns'));
        await page.waitForTimeout(300);
      }
      clearInterval(feeding);
      feeding = undefined;

      assert.ok(numbers(seen.dps).some((n) => n > 0), `decisions/s rose above zero: ${[...seen.dps].join(' ')}`);
      assert.ok(seen.dps.size >= 3, `decisions/s changed as the waves arrived: ${[...seen.dps].join(' ')}`);
      assert.ok(numbers(seen.sends).some((n) => n > 0) && seen.sends.size >= 3, `sends grew: ${[...seen.sends].join(' ')}`);
      assert.ok(numbers(seen.events).length >= 3 && Math.max(...numbers(seen.events)) > 100, `the live feed moved: ${[...seen.events].join(' ')}`);
      assert.ok(seen.progress.size >= 3, 'campaign progress changed');

      // The page's numbers are the pipeline's: the campaigns are the demo's and the sends reached the fakes.
      assert.equal(await page.locator('#campaigns .campaign').count(), campaigns.length);
      for (const c of campaigns) assert.match(await text('campaigns'), new RegExp(c.campaignId));
      const accepted = fakes.gupshup.stats.accepted + fakes.twilio.stats.accepted + fakes.fcm.stats.accepted;
      assert.ok(accepted > 0, 'messages reached the fake providers');
      assert.match(await text('sends'), /gupshup|twilio|fcm/);
      assert.ok((await page.locator('#feed li').count()) > 0);

      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-live-demo.png'), fullPage: true });
      await page.close();
      assert.deepEqual(problems, []);
    } finally {
      if (feeding !== undefined) clearInterval(feeding);
      await browser.close();
      server.close();
      await close();
      await agent.close();
      await fakes.close();
    }
  },
);
