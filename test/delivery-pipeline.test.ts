import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'undici';
import { TopologyTestDriver } from '../processor/test-driver.js';
import type { VirtualClock } from '../processor/clock.js';
import { HeuristicScorer } from '../operators/decisions/heuristic-scorer.js';
import { decisionTopology } from '../operators/decisions/topology.js';
import { createProviderAdapter } from '../operators/sinks/providers/index.js';
import { ProviderSink } from '../operators/sinks/provider-sink.js';
import { realTimers } from '../operators/sinks/resilience/timers.js';
import { Router } from '../operators/sinks/routing.js';
import type { SendRecord } from '../operators/sinks/dispatcher.js';
import { startFakeProviders } from '../bench/fakes/index.js';
import { HOUR, MONDAY, activate, campaign, decisions, indiaUser, policyConfig } from './support/decisions.js';

const config = policyConfig();

/**
 * The adapters' clock, bound to the driver's once it exists. They compare an intent's expiry
 * (the OTP window's end, on the driver's fixed Monday) with it: on the system clock every
 * send would read as expired once that Monday's window had passed in real time.
 */
function driverTime(): { now: () => number; bind: (clock: VirtualClock) => VirtualClock } {
  let clock: VirtualClock | undefined;
  return {
    now: () => {
      if (clock === undefined) throw new Error('the adapters were called before the driver started');
      return clock.now();
    },
    bind: (c) => (clock = c),
  };
}

test('delivery: decisions reach the providers through routing; an outage fails over with nothing lost or sent twice', { timeout: 120_000 }, async () => {
  const fakes = await startFakeProviders();
  const agent = new Agent({ keepAliveTimeout: 10_000 });
  const { now, bind } = driverTime();
  const gupshup = createProviderAdapter({ ...fakes.configs.gupshup, name: 'gupshup-in' }, { now, dispatcher: agent });
  const twilio = createProviderAdapter({ ...fakes.configs.twilio, name: 'twilio' }, { now, dispatcher: agent });
  const fcm = createProviderAdapter({ ...fakes.configs.fcm, name: 'fcm' }, { now, dispatcher: agent });
  const router = new Router({
    timers: realTimers,
    routes: [
      // Gupshup is cheaper in India, so it is chosen first; Twilio takes over in an outage.
      { country: 'IN', channel: 'sms', providers: [{ adapter: gupshup, pricePerSegment: 0.1, ratePerSec: 500 }, { adapter: twilio, pricePerSegment: 0.5, ratePerSec: 500 }] },
      { country: '*', channel: 'push', providers: [{ adapter: fcm, pricePerSegment: 0.0001, ratePerSec: 500 }] },
    ],
    breaker: { consecutiveFailures: 3, coolDownMs: 60_000 },
  });
  const d = await TopologyTestDriver.create({
    topology: () => decisionTopology(config, new HeuristicScorer()),
    partitions: 2,
    startTime: MONDAY + 5 * HOUR, // 10:30 IST: SMS may go out at once
    config: { policy: config.policy },
    effects: (clock) => [new ProviderSink(router, bind(clock))],
  });
  try {
    const users = Array.from({ length: 40 }, (_, i) => `u${i}`);
    for (const u of users) {
      await d.pipe('profiles', u, indiaUser(u, { phone: `+9198000${String(10000 + Number(u.slice(1)))}`, quietHours: null }));
      await activate(d, u);
    }
    d.putCampaign(campaign('otp', { kind: 'transactional', deadline: 'hard', channels: ['sms'], window: { start: MONDAY, end: MONDAY + 8 * HOUR } }));
    for (const u of users.slice(0, 20)) await d.pipe('candidates', u, { campaignId: 'otp', userId: u, vars: { product: 'x' } });
    // The primary goes down half-way through.
    fakes.gupshup.outage('unavailable');
    for (const u of users.slice(20)) await d.pipe('candidates', u, { campaignId: 'otp', userId: u, vars: { product: 'x' } });
    const sends = d.readOutputs('sends').map((o) => o.value as SendRecord);
    const final = sends.filter((s) => s.status === 'sent');
    assert.equal(final.length, users.length, 'every message sent once');
    assert.equal(new Set(final.map((s) => s.userId)).size, users.length);
    assert.ok(final.slice(0, 20).every((s) => s.provider === 'gupshup-in'), 'the cheaper provider first');
    assert.ok(final.some((s) => s.provider === 'twilio'), 'failover to the next provider');
    // The bill is the routed provider's price; `cost` stays the policy's estimate, whichever took it.
    const price: Record<string, number> = { 'gupshup-in': 0.1, twilio: 0.5 };
    for (const s of final) {
      assert.ok(s.segments >= 1);
      assert.equal(s.providerCost, (price[s.provider] as number) * s.segments, `${s.provider} providerCost`);
      assert.equal(s.cost, config.policy.smsSegmentPrice * s.segments, 'cost: the policy\'s estimate');
    }
    assert.ok(sends.filter((s) => s.status !== 'sent').every((s) => s.providerCost === undefined && s.cost === 0), 'nothing charged for an attempt not taken');
    // And the replica's spend metric adds up the same bill, by provider.
    const spend = (await d.metrics.providerCost.get()).values;
    for (const provider of ['gupshup-in', 'twilio']) {
      const billed = final.filter((s) => s.provider === provider).reduce((a, s) => a + (s.providerCost as number), 0);
      const metric = spend.filter((v) => v.labels['provider'] === provider && v.labels['channel'] === 'sms').reduce((a, v) => a + v.value, 0);
      assert.ok(billed > 0 && Math.abs(metric - billed) < 1e-9, `${provider}: metric ${metric}, records ${billed}`);
    }
    // Counted at the providers: each recipient exactly once across both.
    for (const u of users) {
      const phone = `+9198000${String(10000 + Number(u.slice(1)))}`;
      const count = fakes.gupshup.countFor(phone) + fakes.gupshup.countFor(phone.slice(1)) + fakes.twilio.countFor(phone);
      assert.equal(count, 1, `${u} received exactly one message`);
    }
    assert.equal(decisions(d).filter((r) => r.action === 'send').length, users.length);
  } finally {
    await d.close();
    await agent.close();
    await fakes.close();
  }
});

test('delivery: receipts on nudge.receipts feed routing health; a provider that stops delivering goes last', { timeout: 120_000 }, async () => {
  const fakes = await startFakeProviders();
  const agent = new Agent({ keepAliveTimeout: 10_000 });
  const { now, bind } = driverTime();
  const gupshup = createProviderAdapter({ ...fakes.configs.gupshup, name: 'gupshup-in' }, { now, dispatcher: agent });
  const twilio = createProviderAdapter({ ...fakes.configs.twilio, name: 'twilio' }, { now, dispatcher: agent });
  const router = new Router({
    timers: realTimers,
    minDeliverySamples: 20,
    routes: [{ country: 'IN', channel: 'sms', providers: [{ adapter: gupshup, pricePerSegment: 0.1, ratePerSec: 500 }, { adapter: twilio, pricePerSegment: 0.5, ratePerSec: 500 }] }],
  });
  const d = await TopologyTestDriver.create({
    topology: () => decisionTopology(config, new HeuristicScorer()),
    partitions: 2,
    startTime: MONDAY + 5 * HOUR,
    config: { policy: config.policy },
    effects: (clock) => [new ProviderSink(router, bind(clock))],
  });
  try {
    const phone = (u: string) => `+9198000${String(10000 + Number(u.slice(1)))}`;
    const users = Array.from({ length: 60 }, (_, i) => `u${i}`);
    for (const u of users) {
      await d.pipe('profiles', u, indiaUser(u, { phone: phone(u), quietHours: null }));
      await activate(d, u);
    }
    d.putCampaign(campaign('otp', { kind: 'transactional', deadline: 'hard', channels: ['sms'], window: { start: MONDAY, end: MONDAY + 8 * HOUR } }));
    for (const u of users.slice(0, 30)) await d.pipe('candidates', u, { campaignId: 'otp', userId: u, vars: { product: 'x' } });
    const first = d.readOutputs('sends').map((o) => o.value as SendRecord).filter((s) => s.status === 'sent');
    assert.equal(first.length, 30);
    assert.ok(first.every((s) => s.provider === 'gupshup-in'), 'the cheaper provider while nothing is known of delivery');
    assert.equal(router.health().find((h) => h.provider === 'gupshup-in')?.deliveryRate, undefined);

    // The operator network loses most of Gupshup's messages: its DLRs say so.
    for (const [i, s] of first.entries()) {
      await d.pipe('receipts', s.userId, { sendId: s.sendId, userId: s.userId, provider: 'gupshup-in', status: i % 5 === 0 ? 'delivered' : 'undelivered', code: i % 5 === 0 ? null : 'EXPIRED', ts: MONDAY + 5 * HOUR });
    }
    // A recipient's own failure (unsubscribed) is not held against the provider.
    const before = router.health().find((h) => h.provider === 'gupshup-in')?.deliveryRate;
    assert.ok(before !== undefined && before < 0.3, `delivery rate learnt from receipts: ${before}`);
    await d.pipe('receipts', 'u0', { sendId: first[0]?.sendId, userId: 'u0', provider: 'gupshup-in', status: 'failed', code: '21610', ts: MONDAY + 5 * HOUR });
    assert.equal(router.health().find((h) => h.provider === 'gupshup-in')?.deliveryRate, before);
    assert.equal(router.health().find((h) => h.provider === 'gupshup-in')?.healthy, false);

    for (const u of users.slice(30)) await d.pipe('candidates', u, { campaignId: 'otp', userId: u, vars: { product: 'x' } });
    // readOutputs hands over what is new since the last call: this wave's sends.
    const later = d.readOutputs('sends').map((o) => o.value as SendRecord).filter((s) => s.status === 'sent');
    assert.equal(later.length, 30);
    assert.ok(later.every((s) => s.provider === 'twilio'), `the provider that delivers takes over: ${[...new Set(later.map((s) => s.provider))].join(',')}`);
    assert.equal(fakes.twilio.stats.accepted, 30);
  } finally {
    await d.close();
    await agent.close();
    await fakes.close();
  }
});
