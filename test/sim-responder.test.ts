import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SendRecord } from '../operators/sinks/dispatcher.js';
import { DEFAULT_WORLD, simUser, type SimUser } from '../bench/sim/population.js';
import { CONVERSION_HORIZON_MS, FeedbackQueue, GROUND_TRUTH, Responder, type Feedback, type ResponseModel } from '../bench/sim/responder.js';
import type { Message } from '../bench/sim/response.js';
import { activate, campaign, decisionDriver, decisions, HOUR, indiaUser, MINUTE, MONDAY, sends } from './support/decisions.js';

const CATEGORY = 5;
const categoryOf = (id: string) => (id === 'otp' ? undefined : CATEGORY);
// 19:30 IST: an evening hour, when many simulated users are active.
const AT = Date.UTC(2026, 10, 23, 14, 0);

function send(userId: string, n: number, extra: Partial<SendRecord> = {}): SendRecord {
  return {
    sendId: `d-${n}.1.${Buffer.from(userId).toString('base64url')}`,
    decisionId: `d-${n}`,
    userId,
    campaignId: 'promo',
    channel: 'push',
    provider: 'recorded',
    status: 'sent',
    attempt: 1,
    providerMessageId: null,
    segments: 0,
    cost: 0,
    error: null,
    ts: AT,
    ...extra,
  };
}

const users = (n: number): SimUser[] => Array.from({ length: n }, (_, i) => simUser(DEFAULT_WORLD, i));

test('responder: the same seed gives the same answers, whatever order sends come in; another seed differs', () => {
  const population = users(3000);
  const sent = population.map((u, i) => send(u.userId, i, { channel: i % 2 ? 'sms' : 'push' }));
  const answer = (seed: number, order: readonly number[]) => {
    const r = new Responder({ seed, categoryOf });
    const out = new Map<string, Feedback[]>();
    for (const i of order) out.set((sent[i] as SendRecord).sendId, r.answer(sent[i] as SendRecord, population[i] as SimUser));
    return out;
  };
  const forward = population.map((_, i) => i);
  const a = answer(1, forward);
  const b = answer(1, [...forward].reverse());
  assert.deepEqual(b, a);
  const total = [...a.values()].reduce((s, f) => s + f.length, 0);
  assert.ok(total > 50, `some answers (${total})`);
  assert.notDeepEqual(answer(2, forward), a);
});

test('responder: click, conversion and opt-out rates match the ground truth within sampling error', () => {
  const population = users(40_000);
  const r = new Responder({ seed: 7, categoryOf });
  let clicks = 0;
  let conversions = 0;
  let optOuts = 0;
  const expected = { click: 0, clickVar: 0, conversion: 0, conversionVar: 0, optOut: 0, optOutVar: 0 };
  population.forEach((u, i) => {
    const s = send(u.userId, i, { channel: i % 3 === 0 ? 'sms' : 'push' });
    const m: Message = { userId: u.userId, channel: s.channel, at: s.ts, category: CATEGORY };
    const pc = GROUND_TRUTH.click(u, m, 0);
    const pv = pc * GROUND_TRUTH.convertGivenClick(u, m);
    const po = GROUND_TRUTH.optOut(u, m, 0);
    expected.click += pc;
    expected.clickVar += pc * (1 - pc);
    expected.conversion += pv;
    expected.conversionVar += pv * (1 - pv);
    expected.optOut += po;
    expected.optOutVar += po * (1 - po);
    for (const f of r.answer(s, u)) {
      if (f.kind === 'click') clicks++;
      if (f.kind === 'conversion') conversions++;
      if (f.kind === 'opt_out') optOuts++;
    }
  });
  // Four standard deviations of a sum of independent Bernoulli draws: a false alarm about once in 16,000 runs (and the seed is fixed).
  const near = (name: string, got: number, mean: number, variance: number) => {
    assert.ok(Math.abs(got - mean) <= 4 * Math.sqrt(variance), `${name}: ${got} drawn, ${mean.toFixed(1)} expected (σ ${Math.sqrt(variance).toFixed(1)})`);
  };
  near('clicks', clicks, expected.click, expected.clickVar);
  near('conversions', conversions, expected.conversion, expected.conversionVar);
  near('opt-outs', optOuts, expected.optOut, expected.optOutVar);
  assert.equal(r.counts.clicks, clicks);
  assert.ok(clicks > 500 && conversions > 50 && optOuts > 50, `enough draws to mean something (${clicks}, ${conversions}, ${optOuts})`);
});

test('responder: delays are minutes for clicks and STOPs, up to 72 h for purchases; records are valid events', () => {
  const population = users(20_000);
  const r = new Responder({ seed: 3, categoryOf });
  let late = 0;
  const clickAt = new Map<string, number>();
  for (const [i, u] of population.entries()) {
    const s = send(u.userId, i, { channel: i % 2 ? 'sms' : 'push' });
    for (const f of r.answer(s, u)) {
      const delay = f.at - s.ts;
      assert.ok(Number.isInteger(f.at), 'whole milliseconds, as the contract requires');
      if (f.kind === 'click') {
        assert.ok(delay >= 20_000 && delay <= 6 * HOUR, `click after ${delay} ms`);
        assert.equal(f.value['type'], s.channel === 'push' ? 'push_open' : 'sms_click');
        assert.equal(f.value['campaignId'], 'promo');
        clickAt.set(u.userId, f.at);
      }
      if (f.kind === 'conversion') {
        assert.ok(f.at >= (clickAt.get(u.userId) ?? Infinity), 'a purchase follows its click');
        assert.ok(delay <= CONVERSION_HORIZON_MS, `purchase after ${delay} ms`);
        assert.equal(f.value['type'], 'purchase');
        assert.equal(f.value['campaignId'], 'promo');
        assert.ok(Number(f.value['value']) > 0);
        if (delay > 24 * HOUR) late++;
      }
      if (f.kind === 'opt_out') {
        assert.ok(delay >= MINUTE && delay <= 24 * HOUR, `opt-out after ${delay} ms`);
        if (s.channel === 'sms') assert.deepEqual([f.role, f.value['type'], f.value['text']], ['events', 'sms_inbound', 'STOP']);
        else {
          assert.equal(f.role, 'profiles');
          assert.deepEqual((f.value['consent'] as { push: Record<string, boolean> }).push, { promotional: false, service: false, reminder: false, transactional: true });
        }
      }
      if (f.role === 'events') assert.equal(f.value['ts'], f.at, 'the event carries the simulated time');
    }
  }
  assert.ok(late > 0, 'some purchases come days later');
});

test('responder: only sent promotional messages are answered; nothing after an opt-out has reached nudge', () => {
  const u = simUser(DEFAULT_WORLD, 1);
  const always: ResponseModel = { click: () => 1, convertGivenClick: () => 1, optOut: () => 1 };
  const r = new Responder({ seed: 1, categoryOf, model: always });
  assert.deepEqual(r.answer(send(u.userId, 1, { status: 'failed' }), u), []);
  assert.deepEqual(r.answer(send(u.userId, 2, { campaignId: 'otp' }), u), []);
  const first = r.answer(send(u.userId, 3, { channel: 'sms' }), u);
  assert.deepEqual(first.map((f) => f.kind).sort(), ['click', 'conversion', 'opt_out']);
  const stopAt = (first.find((f) => f.kind === 'opt_out') as Feedback).at;
  // Before the STOP arrives the user still reads messages; after it, a message is a violation and gets no answer.
  assert.notEqual(r.answer(send(u.userId, 4, { channel: 'sms', ts: stopAt - 1 }), u).length, 0);
  assert.deepEqual(r.answer(send(u.userId, 5, { channel: 'sms', ts: stopAt + HOUR }), u), []);
  assert.equal(r.counts.afterOptOut, 1);
  // Push is a separate channel.
  assert.notEqual(r.answer(send(u.userId, 6, { channel: 'push', ts: stopAt + HOUR }), u).length, 0);
});

test('feedback queue: releases what is due, earliest first, and counts what is left', () => {
  const q = new FeedbackQueue();
  const f = (kind: Feedback['kind'], at: number): Feedback => ({ kind, at, userId: 'u1', role: 'events', value: {} });
  q.push([f('conversion', 300), f('click', 100)]);
  q.push([f('opt_out', 200)]);
  assert.deepEqual(q.due(50), []);
  assert.deepEqual(q.due(200).map((x) => x.at), [100, 200]);
  assert.deepEqual(q.pending(), { click: 0, conversion: 1, opt_out: 0 });
  assert.equal(q.size, 1);
});

test('pipeline: a STOP the responder writes back withdraws SMS consent (a new candidate gets no_consent)', async () => {
  const d = await decisionDriver();
  try {
    d.putCampaign(campaign('c1'));
    d.putCampaign(campaign('c2', { window: { start: MONDAY, end: MONDAY + 48 * HOUR } }));
    await d.pipe('profiles', 'u1', indiaUser('u1'));
    await activate(d, 'u1');
    await d.pipe('candidates', 'u1', { campaignId: 'c1', userId: 'u1', vars: { product: 'shoes' } });
    assert.notEqual(decisions(d)[0]?.action, 'skip');
    await d.advanceTime(12 * HOUR);
    const [sent] = sends(d);
    assert.ok(sent !== undefined && sent.status === 'sent' && sent.channel === 'sms');

    const stopOnly: ResponseModel = { click: () => 0, convertGivenClick: () => 0, optOut: () => 1 };
    const r = new Responder({ seed: 1, categoryOf: () => 5, model: stopOnly });
    const [stop, ...rest] = r.answer(sent, simUser(DEFAULT_WORLD, 1));
    assert.equal(rest.length, 0);
    assert.ok(stop !== undefined && stop.role === 'events');
    // The answer reaches the events topic when the clock does.
    assert.ok(stop.at <= d.clock.now());
    await d.pipe('events', 'u1', stop.value);
    assert.equal(d.readOutputs('deadletter').length, 0, 'a valid event');

    await d.pipe('candidates', 'u1', { campaignId: 'c2', userId: 'u1', vars: { product: 'shoes' } });
    const [after] = decisions(d);
    assert.equal(after?.action, 'skip');
    assert.ok(after?.reasons.includes('no_consent'), JSON.stringify(after));
  } finally {
    await d.close();
  }
});
