import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { Agent } from 'undici';
import { smsIntent } from '../bench/fakes/intents.js';
import { startFakeProviders } from '../bench/fakes/index.js';
import { CapacitySignal, parseCapacity } from '../operators/sinks/capacity-signal.js';
import { createProviderAdapter } from '../operators/sinks/providers/index.js';
import { ProviderSink } from '../operators/sinks/provider-sink.js';
import { CampaignThrottle, CampaignThrottled } from '../operators/sinks/resilience/campaign-throttle.js';
import { realTimers, VirtualTimers } from '../operators/sinks/resilience/timers.js';
import { Router } from '../operators/sinks/routing.js';
import type { SendOutcome } from '../operators/sinks/dispatcher.js';
import { testLogger } from './support/logger.js';
import { passesInOneOf, waitFor } from './support/wait.js';

const promo = (campaignId: string, expiresAt: number) => smsIntent('+919800000001', 'Sale', { campaignId, kind: 'promotional', expiresAt });

/** Counts how many of `n` takes resolve by each step of virtual time. */
function pending(throttle: CampaignThrottle, intents: ReturnType<typeof promo>[]) {
  const done = { n: 0, throttled: 0, other: 0 };
  for (const i of intents) {
    throttle.take(i).then(
      () => done.n++,
      (err: unknown) => (err instanceof CampaignThrottled ? done.throttled++ : done.other++),
    );
  }
  return done;
}
const settle = () => new Promise((r) => setImmediate(r));

test('campaign throttle: a rate paces promotional sends; transactional ones and other campaigns never wait', async () => {
  const timers = new VirtualTimers(1_000_000);
  const throttle = new CampaignThrottle({ timers, rates: { sale: 10 }, burstSeconds: 0.1 });
  const done = pending(throttle, Array.from({ length: 50 }, () => promo('sale', 10_000_000)));
  await settle();
  assert.equal(done.n, 1, 'a burst of one (a tenth of a second at 10/s)');
  await throttle.take(smsIntent('+919800000002', 'OTP 1', { campaignId: 'sale', kind: 'transactional' }));
  await throttle.take(promo('other', 10_000_000));
  for (let s = 1; s <= 4; s++) {
    timers.advance(1_000);
    await settle();
    assert.ok(Math.abs(done.n - (1 + 10 * s)) <= 1, `after ${s} s: ${done.n}`);
  }
  assert.equal(throttle.waiting, 50 - done.n);
});

test('campaign throttle: 0 holds a campaign (also sends already waiting) until it rises; a closing window gives up', async () => {
  const timers = new VirtualTimers(0);
  const throttle = new CampaignThrottle({ timers, rates: { sale: 5 } });
  const done = pending(throttle, Array.from({ length: 20 }, () => promo('sale', 60_000)));
  timers.advance(1_000);
  await settle();
  const before = done.n;
  assert.ok(before >= 5 && before <= 6, `5/s: ${before}`);
  throttle.setRate('sale', 0);
  await settle();
  timers.advance(10_000);
  await settle();
  assert.equal(done.n, before, 'nothing goes while the rate is 0, not even sends that were waiting for tokens');
  assert.equal(throttle.waiting, 20 - before);
  throttle.setRate('sale', 2);
  await settle();
  timers.advance(2_000);
  await settle();
  assert.ok(done.n >= before + 3 && done.n <= before + 5, `2/s again: ${done.n - before}`);
  // The rest cannot make it before their window closes at 60 s.
  throttle.setRate('sale', 0);
  await settle();
  timers.advance(60_000);
  await settle();
  assert.equal(done.throttled, 20 - done.n, 'given up at the window end, with CampaignThrottled');
  assert.equal(done.other, 0);
  assert.equal(throttle.waiting, 0);
});

test('campaign throttle: each replica paces its share of the partitions; lifting the limit releases everyone', async () => {
  const timers = new VirtualTimers(0);
  let share = 0.25;
  const throttle = new CampaignThrottle({ timers, rates: { sale: 40 }, share: () => share });
  const done = pending(throttle, Array.from({ length: 100 }, () => promo('sale', 1e12)));
  timers.advance(2_000);
  await settle();
  assert.ok(done.n >= 20 && done.n <= 22, `a quarter of 40/s for 2 s: ${done.n}`);
  share = 0.5;
  throttle.reshare();
  const mid = done.n;
  timers.advance(2_000);
  await settle();
  assert.ok(done.n - mid >= 39 && done.n - mid <= 41, `half of 40/s after a rebalance: ${done.n - mid}`);
  throttle.setRate('sale', undefined);
  await settle();
  await settle();
  assert.equal(done.n, 100);
});

test('capacity signal: answers are validated; a bad one changes nothing', () => {
  assert.deepEqual(parseCapacity({ campaigns: { a: 5, b: 0 } }), { a: 5, b: 0 });
  assert.throws(() => parseCapacity({ rates: {} }), /expected \{"campaigns"/);
  assert.throws(() => parseCapacity({ campaigns: { a: -1 } }), /campaigns\.a: expected a number ≥ 0/);
  assert.throws(() => parseCapacity({ campaigns: { a: '5' } }), /campaigns\.a/);
  const throttle = new CampaignThrottle({ timers: new VirtualTimers(0), rates: { a: 7 } });
  const signal = new CapacitySignal({ url: 'http://127.0.0.1:9/', intervalMs: 1_000, timeoutMs: 500, throttle, configured: { a: 7 }, timers: realTimers, log: testLogger });
  signal.apply({ campaigns: { a: 3, b: 1 } });
  assert.deepEqual([throttle.rateOf('a'), throttle.rateOf('b')], [3, 1]);
  assert.throws(() => signal.apply({ campaigns: { a: 'x' } }));
  assert.deepEqual([throttle.rateOf('a'), throttle.rateOf('b')], [3, 1], 'the last good answer stays');
  signal.apply({ campaigns: {} });
  assert.deepEqual([throttle.rateOf('a'), throttle.rateOf('b')], [7, undefined], 'campaigns no longer named fall back to config');
});

test('capacity signal over HTTP: the send rate at the provider follows the landing page\'s capacity, and holds on a failing endpoint', { timeout: 60_000 }, async () => {
  let capacity: unknown = { campaigns: { sale: 20 } };
  let status = 200;
  let polls = 0;
  const endpoint: Server = createServer((req, res) => {
    polls++;
    if (req.headers.authorization !== 'Bearer cap-token') {
      res.writeHead(401).end();
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json' }).end(typeof capacity === 'string' ? capacity : JSON.stringify(capacity));
  });
  await new Promise<void>((r) => endpoint.listen(0, '127.0.0.1', r));
  const fakes = await startFakeProviders();
  const agent = new Agent({ keepAliveTimeout: 10_000, connections: 64 });
  const twilio = createProviderAdapter({ ...fakes.configs.twilio, name: 'twilio' }, { now: Date.now, dispatcher: agent });
  const router = new Router({ timers: realTimers, routes: [{ country: '*', channel: 'sms', providers: [{ adapter: twilio, pricePerSegment: 0.5, ratePerSec: 10_000 }] }] });
  const throttle = new CampaignThrottle({ timers: realTimers, rates: { sale: 1 } });
  const signal = new CapacitySignal({ url: `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/capacity`, token: 'cap-token', intervalMs: 200, timeoutMs: 1_000, throttle, configured: { sale: 1 }, timers: realTimers, log: testLogger });
  const sink = new ProviderSink(router, { now: Date.now }, undefined, throttle);
  const abort = new AbortController();
  const outcomes: SendOutcome[] = [];
  // Offered load far above capacity: 64 sends always waiting, as a busy effect runner would have.
  const offer = async () => {
    while (!abort.signal.aborted) {
      try {
        outcomes.push(await sink.run({ id: 'x', kind: 'send', owner: 'decisions', payload: promo('sale', Date.now() + 600_000), dispatches: 1 }, abort.signal));
      } catch {
        return;
      }
    }
  };
  // Over the time that passed, not the time asked for: a timer that fires late on a stalled
  // machine would otherwise count a longer window's sends as the shorter one's (71.5/s for 60 once).
  const rateOver = async (ms: number) => {
    const a = fakes.twilio.stats.accepted;
    const from = performance.now();
    await new Promise((r) => setTimeout(r, ms));
    return ((fakes.twilio.stats.accepted - a) * 1000) / (performance.now() - from);
  };
  // Up to four windows, the first in range passing, every one reported if none is. A stall lowers
  // the rate in its window, and can bunch the sends it held up into the next (91.5/s for 60 once,
  // counted at the provider); a throttle that does not hold the rate misses in every window.
  const rateWithin = (ms: number, lo: number, hi: number, what: string) =>
    passesInOneOf(4, async () => {
      const rate = await rateOver(ms);
      return rate >= lo && rate <= hi ? undefined : `${what}: ${rate.toFixed(1)}/s, want ${lo}–${hi}`;
    });
  try {
    signal.start();
    await waitFor(() => throttle.rateOf('sale') === 20, 'the first poll', 5_000);
    const workers = Array.from({ length: 64 }, offer);
    await new Promise((r) => setTimeout(r, 500));
    // A stall of this shared machine lowers a measured rate and never raises it (60/s measured
    // as 46.3 once, 20/s as 12.8, in full test runs): the upper bounds are the throttle's check,
    // the lower bounds only say that the rate given is the rate used, well above the one before.
    await rateWithin(3_000, 13, 23, '20/s at the provider');

    capacity = { campaigns: { sale: 60 } };
    await waitFor(() => throttle.rateOf('sale') === 60, 'the raised capacity', 5_000);
    await new Promise((r) => setTimeout(r, 300));
    await rateWithin(3_000, 40, 66, '60/s at the provider');

    // The endpoint fails, then answers nonsense: the last good rate stays.
    status = 503;
    const failedFrom = polls;
    await waitFor(() => polls >= failedFrom + 3, 'failing polls', 5_000);
    status = 200;
    capacity = '{"campaigns": oops';
    const garbageFrom = polls;
    await waitFor(() => polls >= garbageFrom + 3, 'garbage polls', 5_000);
    assert.equal(throttle.rateOf('sale'), 60);
    // A well-formed answer past the size limit is refused unread too.
    capacity = `{"campaigns": {"sale": 5}, "padding": "${'x'.repeat(2_000_000)}"}`;
    const hugeFrom = polls;
    await waitFor(() => polls >= hugeFrom + 2, 'oversized polls', 5_000);
    assert.equal(throttle.rateOf('sale'), 60);
    // Measured while the endpoint fails cheaply: building and refusing 2 MB answers five times a
    // second takes CPU from the senders in this same process, and on a loaded machine that, not
    // the throttle, pulled the measured rate down (50/s once).
    status = 503;
    await new Promise((r) => setTimeout(r, 300));
    await rateWithin(2_000, 40, 68, 'still 60/s');
    status = 200;

    // The landing page is down: capacity 0 stops the campaign at once.
    capacity = { campaigns: { sale: 0 } };
    await waitFor(() => throttle.rateOf('sale') === 0, 'capacity 0', 5_000);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await rateOver(1_500), 0);
    abort.abort();
    await Promise.all(workers);
    assert.ok(outcomes.length > 0 && outcomes.every((o) => o.final === 'sent'), 'everything that went was sent; nothing was dropped');
    assert.equal(fakes.twilio.stats.accepted, outcomes.length, 'each send reached the provider once');
  } finally {
    abort.abort();
    signal.stop();
    endpoint.close();
    await agent.close();
    await fakes.close();
  }
});
