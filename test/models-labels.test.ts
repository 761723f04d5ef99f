/** Joining decision records and events into training labels, and the delayed-label instance sets. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DecisionRecord } from '../operators/decisions/decision-record.js';
import { FEATURE_COUNT, FEATURE_SPEC } from '../operators/decisions/feature-vector.js';
import { defaultSince, instancesFor } from '../models/delayed-labels.js';
import { attachOutcomes, collectMessages, toDecisionRecord, toOutcomeEvent, type OutcomeEvent } from '../models/labels.js';

const H = 3_600_000;
const T0 = Date.UTC(2026, 10, 1);
const features = Array.from({ length: FEATURE_COUNT }, (_, i) => i / 10);

function decision(id: string, over: Partial<DecisionRecord>): DecisionRecord {
  return {
    decisionId: id,
    campaignId: 'c1',
    userId: 'u1',
    action: 'send',
    kind: 'promotional',
    channel: 'sms',
    provider: null,
    sendAt: T0,
    reasons: [],
    scores: { click: 0.1, convert: 0.01, unsubscribe: 0.001, ev: 1 },
    propensity: 0.9,
    arm: 'model',
    modelVersion: 'heuristic-1',
    segments: 1,
    cost: 0.1,
    ts: T0,
    featureVersion: FEATURE_SPEC.version,
    features,
    ...over,
  };
}

test('messages: sends and schedules with features; supersedes, skips, other versions and replays dropped', async () => {
  const records = [
    decision('d1', {}),
    decision('d2', { action: 'schedule', sendAt: T0 + 5 * H, userId: 'u2' }),
    decision('d3', { action: 'schedule', sendAt: T0 + 6 * H, userId: 'u3' }),
    decision('d3', { action: 'skip', supersedes: 'schedule', reasons: ['preempted'], features: undefined }),
    decision('d4', { action: 'skip', reasons: ['cap_global'], userId: 'u4' }),
    decision('d5', { featureVersion: 'f0', userId: 'u5' }),
    decision('d6', { features: undefined, userId: 'u6' }),
    decision('d1', {}),
    decision('d7', { action: 'holdout', userId: 'u7' }),
  ];
  const { messages, stats } = await collectMessages(records, FEATURE_SPEC.version, FEATURE_COUNT);
  assert.deepEqual(messages.map((m) => m.decisionId), ['d1', 'd2']);
  assert.equal(messages[1]?.sentAt, T0 + 5 * H, 'a schedule goes out at sendAt');
  assert.deepEqual(messages[0]?.loggedScores, { click: 0.1, convert: 0.01, unsubscribe: 0.001 });
  assert.equal(stats.superseded, 1);
  assert.equal(stats.otherFeatureVersion, 1);
  assert.equal(stats.withoutFeatures, 1);
  assert.equal(stats.duplicates, 1);
  assert.equal(stats.byAction['holdout'], 1);
});

test('outcomes: click, attributed and click-attributed purchase, last-touch STOP, windows and asOf', async () => {
  const records = [
    decision('a', { userId: 'u1', campaignId: 'c1', channel: 'sms', sendAt: T0, ts: T0 }),
    decision('b', { userId: 'u1', campaignId: 'c2', channel: 'sms', sendAt: T0 + 2 * H, ts: T0 + 2 * H }),
    decision('c', { userId: 'u2', campaignId: 'c1', channel: 'push', sendAt: T0, ts: T0 }),
    decision('d', { userId: 'u3', campaignId: 'c1', channel: 'push', sendAt: T0, ts: T0 }),
  ];
  const events: OutcomeEvent[] = [
    // u1: clicks c1's SMS after 1 h, buys without attribution 10 h later (→ a converts via its click).
    { userId: 'u1', ts: T0 + 1 * H, type: 'sms_click', channel: 'sms', campaignId: 'c1' },
    { userId: 'u1', ts: T0 + 11 * H, type: 'purchase' },
    // u1 texts STOP 3 h after c1 and 1 h after c2: charged to c2, the latest SMS before it.
    { userId: 'u1', ts: T0 + 3 * H, type: 'sms_inbound', channel: 'sms', text: ' stop! ' },
    // u2: a click on another campaign, and one on c1 after the 24 h window: no click.
    { userId: 'u2', ts: T0 + 1 * H, type: 'push_open', channel: 'push', campaignId: 'c9' },
    { userId: 'u2', ts: T0 + 25 * H, type: 'push_open', channel: 'push', campaignId: 'c1' },
    // u2: a purchase attributed to c1 within 72 h converts even without a click.
    { userId: 'u2', ts: T0 + 70 * H, type: 'purchase', campaignId: 'c1' },
    // u3: clicks, but after asOf: not known yet.
    { userId: 'u3', ts: T0 + 200 * H, type: 'push_open', channel: 'push', campaignId: 'c1' },
    // Someone with no message.
    { userId: 'u9', ts: T0, type: 'click', campaignId: 'c1' },
  ];
  const { messages } = await collectMessages(records, FEATURE_SPEC.version, FEATURE_COUNT);
  const asOf = T0 + 100 * H;
  const { labeled, stats } = await attachOutcomes(messages, events, { asOf });
  const by = new Map(labeled.map((m) => [m.decisionId, m]));
  assert.deepEqual(by.get('a')?.outcomes, { click: T0 + 1 * H, convert: T0 + 11 * H });
  assert.deepEqual(by.get('b')?.outcomes, { unsubscribe: T0 + 3 * H });
  assert.deepEqual(by.get('c')?.outcomes, { convert: T0 + 70 * H });
  assert.deepEqual(by.get('d')?.outcomes, {});
  assert.deepEqual(by.get('a')?.matureAt, { click: T0 + 24 * H, convert: T0 + 96 * H, unsubscribe: T0 + 48 * H });
  assert.equal(stats.afterAsOf, 1);
  assert.deepEqual(stats.labeled, { click: 1, convert: 2, unsubscribe: 1 });

  // Parsing raw records: ISO timestamps accepted, irrelevant types and junk rejected.
  assert.equal(toOutcomeEvent({ userId: 'u1', ts: '2026-11-01T00:00:00Z', type: 'purchase' })?.ts, T0);
  assert.equal(toOutcomeEvent({ userId: 'u1', ts: T0, type: 'app_open' }), undefined);
  assert.equal(toOutcomeEvent('junk'), undefined);
  assert.equal(toDecisionRecord({ decisionId: 'x' }), undefined);
});

test('instances: wait, naive and FNW differ exactly as documented', async () => {
  const records = [0, 1, 2, 3].map((i) => decision(`m${i}`, { userId: `u${i}`, sendAt: T0 + i * 24 * H, ts: T0 + i * 24 * H }));
  // m0 converts at +60 h (inside its 72 h window, after `since`); m2 10 h after its send; m3 after asOf.
  const events: OutcomeEvent[] = [
    { userId: 'u0', ts: T0 + 60 * H, type: 'purchase', campaignId: 'c1' },
    { userId: 'u2', ts: T0 + 58 * H, type: 'purchase', campaignId: 'c1' },
    { userId: 'u3', ts: T0 + 100 * H, type: 'purchase', campaignId: 'c1' },
  ];
  const { messages } = await collectMessages(records, FEATURE_SPEC.version, FEATURE_COUNT);
  const asOf = T0 + 90 * H;
  const { labeled } = await attachOutcomes(messages, events, { asOf });
  const all = [0, 1, 2, 3];
  const since = T0 + 24 * H;
  // wait: sent in [since, asOf] and convert label final (96 h) by asOf: none of m1..m3.
  assert.deepEqual(instancesFor('convert', labeled, all, 'wait', since, asOf).index, []);
  // naive: m1, m2, m3 with what arrived: m2 positive.
  assert.deepEqual(instancesFor('convert', labeled, all, 'naive', since, asOf), { index: [1, 2, 3], y: [0, 1, 0], weighting: 'plain' });
  // FNW: m1, m2, m3 as negatives; m2's and m0's conversions (m0 sent before since, converted inside) as positives.
  assert.deepEqual(instancesFor('convert', labeled, all, 'fnw', since, asOf), { index: [0, 1, 2, 2, 3], y: [1, 0, 0, 1, 0], weighting: 'fnw' });
  // Default window start for FNW keeps one label horizon of older sends to supply late positives.
  assert.equal(defaultSince(labeled, T0 + 30 * 24 * H, 28 * 24 * H, 'fnw', 96 * H), T0 + 96 * H);
  assert.equal(defaultSince(labeled, T0 + 30 * 24 * H, 28 * 24 * H, 'naive', 96 * H), T0 + 2 * 24 * H);
});
