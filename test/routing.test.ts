import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'undici';
import { startTwilioFake, type FakeServer } from '../bench/fakes/index.js';
import { pushIntent, smsIntent } from '../bench/fakes/intents.js';
import type { SendIntent } from '../operators/sinks/dispatcher.js';
import { createTwilioAdapter } from '../operators/sinks/providers/twilio.js';
import { retry, sent, type ProviderAdapter, type ProviderResult } from '../operators/sinks/providers/provider.js';
import { Router, type RoutedResult } from '../operators/sinks/routing.js';
import { realTimers, VirtualTimers } from '../operators/sinks/resilience/timers.js';

/** An adapter answering from a function, for the choice rules (no HTTP needed there). */
function stub(name: string, channel: 'sms' | 'push', answer: () => ProviderResult = () => sent(`${name}-id`)): ProviderAdapter & { calls: number } {
  const a = { name, channel, calls: 0, send: async (): Promise<ProviderResult> => (a.calls++, answer()) };
  return a;
}

test('routing: cheapest healthy provider per country and channel, ties by order', () => {
  const timers = new VirtualTimers(0);
  const router = new Router({
    timers,
    routes: [
      { country: 'IN', channel: 'sms', providers: [{ adapter: stub('gupshup', 'sms'), pricePerSegment: 0.12, ratePerSec: 100 }, { adapter: stub('msg91', 'sms'), pricePerSegment: 0.1, ratePerSec: 100 }, { adapter: stub('twilio-in', 'sms'), pricePerSegment: 0.1, ratePerSec: 100 }] },
      { country: 'US', channel: 'sms', providers: [{ adapter: stub('twilio-us', 'sms'), pricePerSegment: 0.0079, ratePerSec: 100 }] },
      { country: '*', channel: 'push', providers: [{ adapter: stub('fcm', 'push'), pricePerSegment: 0, ratePerSec: 1000 }] },
    ],
  });
  const hindi = smsIntent('+919812345678', 'आपका ऑर्डर भेज दिया गया है और जल्द ही पहुंच जाएगा, धन्यवाद। आपका ऑर्डर भेज दिया गया है');
  assert.equal(hindi.segments, 2);
  const c = router.choose(hindi);
  assert.deepEqual([c?.provider, c?.country, c?.cost], ['msg91', 'IN', 0.2], 'cheapest; msg91 before twilio-in on a tie (order)');
  assert.deepEqual(router.candidates(hindi).map((x) => x.provider), ['msg91', 'twilio-in', 'gupshup']);
  assert.equal(router.choose(smsIntent('+12125550100'))?.provider, 'twilio-us', 'country from the calling code');
  assert.equal(router.choose(pushIntent('fcm', 't'), 'BR')?.provider, 'fcm', "'*' serves countries without a table");
  assert.equal(router.choose(smsIntent('+5511999990000')), undefined, 'no SMS route for BR');
  assert.equal(router.bucket('msg91', 'IN')?.rate, 100, 'a token bucket per provider × country');
});

test('routing: open breakers are skipped; low delivery rate goes last', () => {
  const timers = new VirtualTimers(0);
  const router = new Router({
    timers,
    breaker: { consecutiveFailures: 2, coolDownMs: 1000 },
    minDeliverySamples: 10,
    routes: [{ country: 'IN', channel: 'sms', providers: [{ adapter: stub('a', 'sms'), pricePerSegment: 0.1, ratePerSec: 10 }, { adapter: stub('b', 'sms'), pricePerSegment: 0.2, ratePerSec: 10 }, { adapter: stub('c', 'sms'), pricePerSegment: 0.3, ratePerSec: 10 }] }],
  });
  const intent = smsIntent('+919800000000');
  const a = router.breaker('a');
  for (let i = 0; i < 2; i++) {
    const p = a?.acquire();
    if (p !== undefined) a?.record(p, retry('503', 'down'), 1);
  }
  assert.equal(router.choose(intent)?.provider, 'b');
  for (let i = 0; i < 20; i++) router.recordDelivery('b', i % 5 === 0);
  assert.deepEqual(router.candidates(intent).map((x) => x.provider), ['c', 'b'], 'b delivers 20%: used only after c');
  assert.deepEqual(router.health().map((h) => [h.provider, h.breaker, h.healthy]), [['a', 'open', false], ['b', 'closed', false], ['c', 'closed', true]]);
  timers.advance(1000);
  assert.equal(router.choose(intent)?.provider, 'a', 'half-open: the cheapest gets its probes');
});

test('routing: an ambiguous failure (timeout) is never failed over; throttling spills over', async () => {
  const timers = new VirtualTimers(0);
  const first = stub('a', 'sms', () => retry('transport:UND_ERR_HEADERS_TIMEOUT', 'timeout', { ambiguous: true }));
  const second = stub('b', 'sms');
  const router = new Router({ timers, routes: [{ country: 'IN', channel: 'sms', providers: [{ adapter: first, pricePerSegment: 0.1, ratePerSec: 1000, burst: 1000 }, { adapter: second, pricePerSegment: 0.2, ratePerSec: 1000, burst: 1000 }] }] });
  const r = await router.send(smsIntent('+919800000001'));
  assert.equal(r.result.status, 'retry');
  assert.deepEqual([first.calls, second.calls], [1, 0]);
  const busy = stub('busy', 'sms', () => retry('20429', 'throttled', { throttled: true }));
  const spill = stub('spill', 'sms');
  const r2 = await new Router({ timers, routes: [{ country: 'IN', channel: 'sms', providers: [{ adapter: busy, pricePerSegment: 0.1, ratePerSec: 1000, burst: 1000 }, { adapter: spill, pricePerSegment: 0.2, ratePerSec: 1000, burst: 1000 }] }] }).send(smsIntent('+919800000002'));
  assert.deepEqual([r2.provider, r2.result.status, r2.attempts.length], ['spill', 'sent', 2]);
});

for (const mode of ['refuse', 'unavailable'] as const) {
  test(`routing: fails over within seconds on an outage (${mode}), nothing lost or duplicated, and comes back`, async (t) => {
    const SID = `AC${'e5'.repeat(16)}`;
    const primary = await startTwilioFake({ accountSid: SID, authToken: 'tok' });
    const secondary = await startTwilioFake({ accountSid: SID, authToken: 'tok' });
    const agent = new Agent({ connections: 16 });
    const adapter = (name: string, fake: FakeServer): ProviderAdapter => createTwilioAdapter({ name, baseUrl: fake.url, accountSid: SID, authToken: 'tok', from: '+15005550006', dispatcher: agent, now: Date.now, timeoutMs: 5000 });
    try {
      const router = new Router({
        timers: realTimers,
        breaker: { consecutiveFailures: 5, coolDownMs: 1000, halfOpenProbes: 2 },
        routes: [{ country: 'US', channel: 'sms', providers: [{ adapter: adapter('primary', primary), pricePerSegment: 0.0079, ratePerSec: 400 }, { adapter: adapter('secondary', secondary), pricePerSegment: 0.0095, ratePerSec: 400 }] }],
      });
      const total = 1200;
      const phones = Array.from({ length: total }, (_, i) => `+1555200${String(i).padStart(4, '0')}`);
      const results: RoutedResult[] = [];
      let next = 0;
      let outageAt = 0;
      let firstSecondaryAt = 0;
      const worker = async (): Promise<void> => {
        for (let i = next++; i < total; i = next++) {
          const intent: SendIntent = smsIntent(phones[i] as string);
          const r = await router.send(intent);
          results.push(r);
          if (r.provider === 'secondary' && r.result.status === 'sent' && firstSecondaryAt === 0) firstSecondaryAt = performance.now();
          // The outage starts a third of the way through, and ends two thirds of the way.
          if (results.length === 400) {
            outageAt = performance.now();
            primary.outage(mode);
          }
          if (results.length === 800) primary.recover();
        }
      };
      await Promise.all(Array.from({ length: 16 }, worker));
      const failoverMs = firstSecondaryAt - outageAt;
      const lastOnSecondary = results.slice(800).filter((r) => r.provider === 'secondary').length;
      t.diagnostic(`${mode}: primary accepted ${primary.stats.accepted}, secondary ${secondary.stats.accepted}, failover after ${failoverMs.toFixed(0)} ms, breaker ${router.breaker('primary')?.state}, last third on secondary ${lastOnSecondary}`);
      assert.ok(failoverMs >= 0 && failoverMs < 2000, `failover took ${failoverMs} ms`);
      assert.equal(results.length, total);
      assert.ok(results.every((r) => r.result.status === 'sent'), JSON.stringify(results.find((r) => r.result.status !== 'sent')));
      // Counted at the fakes: every recipient exactly once, across both providers.
      for (const p of phones) assert.equal(primary.countFor(p) + secondary.countFor(p), 1, p);
      assert.equal(primary.stats.accepted + secondary.stats.accepted, total);
      assert.ok(secondary.stats.accepted > 0 && primary.stats.accepted > 400, 'both carried traffic');
      // After recovery the cheaper primary takes the traffic back (half-open probes, then closed).
      assert.equal(router.breaker('primary')?.state, 'closed');
      assert.ok(lastOnSecondary < 400, 'traffic returned to the primary');
    } finally {
      await agent.close();
      await primary.close();
      await secondary.close();
    }
  });
}
