import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Campaign } from '../processor/messages/index.js';
import type { UserState } from '../operators/decisions/types.js';
import { FEATURE_SPEC, featureIndex, featureVector, userFeatureParts, type FeatureInput, type FeatureName } from '../operators/decisions/feature-vector.js';
import { HOW_TIME_CONSTANT_MS } from '../operators/decisions/features.js';
import { HeuristicScorer } from '../operators/decisions/heuristic-scorer.js';
import { expectedValue, passesThreshold } from '../operators/decisions/policy.js';
import { blendShare, candidateSlots, chooseSlot, populationPrior } from '../operators/decisions/send-time.js';
import type { Scores } from '../operators/decisions/scorer.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const TZ = 'Asia/Kolkata'; // UTC+05:30, no DST: local hours below are exact.

// 2024-01-01 is a Monday; 00:00Z = 05:30 in Kolkata. A UTC day boundary, so the stored
// hour-of-week histogram (kept as of the day boundary at or before features.at) is exactly as of NOW.
const NOW = Date.UTC(2024, 0, 1, 0, 0);
// Monday 20:00 Kolkata = 14:30Z: hour-of-week bucket 20, the user's habitual hour.
const ACTIVE_SLOT = Date.UTC(2024, 0, 1, 14, 30);
// Tuesday 03:00 Kolkata = Monday 21:30Z: bucket 27, an hour the user is never active.
const INACTIVE_SLOT = Date.UTC(2024, 0, 1, 21, 30);

/** Hour-of-week histogram (×100, as stored) with `events` in the given buckets. */
function histogram(events: Record<number, number>): number[] {
  const h = new Array<number>(168).fill(0);
  for (const [bucket, n] of Object.entries(events)) h[Number(bucket)] = n * 100;
  return h;
}

/** An engaged user who opens the app most evenings at 20:00 local, built straight from types.ts. */
function activeUser(): UserState {
  return {
    v: 1,
    profile: {
      timezone: TZ,
      phone: '+919800000000',
      consent: { sms: { promotional: true }, push: { promotional: true } },
      pushTokens: [{ platform: 'fcm', token: 't1' }],
      value: 300,
    },
    features: {
      at: NOW,
      c: {
        app_open: [0.5, 2, 10, 30],
        view: [0, 1, 6, 20],
        add_to_cart: [0, 0, 1, 2],
        purchase: [0, 0, 0, 1],
      },
      last: { app_open: NOW - 2 * HOUR, purchase: NOW - 20 * DAY },
      how: histogram({ 20: 30, 21: 10, 44: 20 }),
      ch: { sms: { s: 2, c: 0.1 }, push: { s: 4, c: 0.3 } },
    },
    sent: [],
    pending: [],
  };
}

/** The same user after a week of heavy messaging on both channels. */
function fatiguedUser(): UserState {
  const u = activeUser();
  u.sent = Array.from({ length: 6 }, (_, i) => ({ t: NOW - (i + 1) * DAY, ch: i % 2 === 0 ? ('sms' as const) : ('push' as const), k: 'promotional' as const }));
  u.sent.push(...Array.from({ length: 6 }, (_, i) => ({ t: NOW - (i + 1) * DAY - HOUR, ch: i % 2 === 0 ? ('push' as const) : ('sms' as const), k: 'promotional' as const })));
  u.features.ch = { sms: { s: 14, c: 0.1 }, push: { s: 16, c: 0.3 } };
  return u;
}

/** The same user with no app activity left at all. */
function inactiveUser(): UserState {
  const u = activeUser();
  u.features.c = {};
  u.features.last = { app_open: NOW - 80 * DAY };
  return u;
}

function campaign(over: Partial<Campaign> = {}): Campaign {
  return {
    campaignId: 'c1',
    kind: 'promotional',
    channels: ['push', 'sms'],
    window: { start: NOW, end: NOW + DAY },
    value: 200,
    templates: { en: { push: { title: 'Hi', body: 'Sale' }, sms: { body: 'Sale' } } },
    ...over,
  };
}

const UNIFORM = populationPrior([]);

function input(over: Partial<FeatureInput> = {}): FeatureInput {
  return { user: activeUser(), campaign: campaign(), channel: 'push', sendAt: ACTIVE_SLOT, now: NOW, timeZone: TZ, population: UNIFORM, ...over };
}

function feature(v: Float32Array, name: FeatureName): number {
  return v[featureIndex(name)] as number;
}

const close = (actual: number, expected: number, eps = 1e-5) => assert.ok(Math.abs(actual - expected) <= eps, `${actual} ≉ ${expected}`);

// ---------------------------------------------------------------- feature vector

test('feature vector: one value per spec name, unique names, featureIndex round-trips', () => {
  const v = featureVector(input());
  assert.equal(v.length, FEATURE_SPEC.names.length);
  assert.ok(FEATURE_SPEC.names.length >= 24 && FEATURE_SPEC.names.length <= 48);
  assert.equal(new Set(FEATURE_SPEC.names).size, FEATURE_SPEC.names.length);
  FEATURE_SPEC.names.forEach((n, i) => assert.equal(featureIndex(n), i));
  assert.throws(() => featureIndex('no_such_feature' as FeatureName), RangeError);
  assert.equal(FEATURE_SPEC.version, 'f5');
});

test('feature vector: finite for hostile state (NaN counts, bad zone, no profile, short histograms)', () => {
  const u = activeUser();
  delete u.profile;
  u.features.c = { app_open: [NaN, Infinity, -3, NaN] };
  u.features.how = [NaN, 5];
  u.features.ch = { push: { s: NaN, c: Infinity } };
  u.features.last = { app_open: NaN };
  u.features.at = NaN;
  const v = featureVector(input({ user: u, timeZone: 'Not/AZone', population: [NaN], campaign: campaign({ value: Number.NaN, window: { start: NOW, end: NOW } }) }));
  assert.equal(v.length, FEATURE_SPEC.names.length);
  for (let i = 0; i < v.length; i++) assert.ok(Number.isFinite(v[i]), `${FEATURE_SPEC.names[i]} = ${v[i]}`);
  assert.equal(feature(v, 'has_push_token'), 0);
  assert.equal(feature(v, 'has_phone'), 0);
});

test('feature vector: deterministic and does not mutate the user state', () => {
  const u = activeUser();
  u.features.at = NOW - 3 * DAY;
  const before = structuredClone(u);
  const a = featureVector(input({ user: u }));
  const b = featureVector(input({ user: u }));
  assert.deepEqual(Array.from(a), Array.from(b));
  assert.deepEqual(u, before);
});

test('feature vector: a candidate\'s rows computed from the user\'s parts once equal rows computed alone, and stale parts are not used', () => {
  for (const u of [activeUser(), fatiguedUser(), inactiveUser()]) {
    const parts = userFeatureParts(u, NOW);
    for (const channel of ['push', 'sms'] as const) {
      for (let h = 0; h < 24; h += 3) {
        const row = input({ user: u, channel, sendAt: NOW + h * HOUR });
        assert.deepEqual(Array.from(featureVector(row, parts)), Array.from(featureVector(row)), `${channel} +${h} h`);
      }
    }
    // Parts of another instant or another user's state are recomputed, not read.
    const later = input({ user: u, now: NOW + 7 * DAY, sendAt: ACTIVE_SLOT + 7 * DAY });
    assert.deepEqual(Array.from(featureVector(later, parts)), Array.from(featureVector(later)));
    const other = input({ user: fatiguedUser() });
    assert.deepEqual(Array.from(featureVector(other, parts)), Array.from(featureVector(other)));
    // A slot's features are kept in the parts by instant: asked again for that instant in another
    // zone or with another population prior, they are made again, not read back.
    const slot = input({ user: u, sendAt: NOW + 6 * HOUR });
    const kept = Array.from(featureVector(slot, parts));
    const skewed = populationPrior(Array.from({ length: 168 }, (_, b) => (b % 24 === 3 ? 50 : 1)));
    for (const changed of [input({ user: u, sendAt: NOW + 6 * HOUR, timeZone: 'America/New_York' }), input({ user: u, sendAt: NOW + 6 * HOUR, population: skewed })]) {
      const fresh = Array.from(featureVector(changed));
      assert.notDeepEqual(fresh, kept, 'the zone and the prior change the row');
      assert.deepEqual(Array.from(featureVector(changed, parts)), fresh);
    }
    assert.deepEqual(Array.from(featureVector(slot, parts)), kept);
  }
});

test('feature vector: decayed counts are brought forward from features.at to now', () => {
  const u = activeUser();
  u.features.c = { app_open: [0, 4, 10, 10] };
  const fresh = featureVector(input({ user: u }));
  close(feature(fresh, 'app_open_24h'), Math.log1p(4));
  close(feature(fresh, 'app_open_7d'), Math.log1p(10));
  close(feature(fresh, 'app_open_30d'), Math.log1p(10));
  // The same stored state, read a week later: 7-day count × e^-1, 30-day × e^-7/30, 24-hour × e^-7.
  const later = featureVector(input({ user: u, now: NOW + 7 * DAY, sendAt: ACTIVE_SLOT + 7 * DAY }));
  close(feature(later, 'app_open_24h'), Math.log1p(4 * Math.exp(-7)));
  close(feature(later, 'app_open_7d'), Math.log1p(10 * Math.exp(-1)));
  close(feature(later, 'app_open_30d'), Math.log1p(10 * Math.exp(-7 / 30)));
  // Channel sends decay with 30 d too.
  close(feature(later, 'channel_sends_30d'), Math.log1p(4 * Math.exp(-7 / 30)));
  // The histogram's mass (how much the user's own pattern is trusted) fades with it; shares do not.
  close(feature(later, 'user_how_mass'), Math.log1p(60 * Math.exp(-7 * DAY / HOW_TIME_CONSTANT_MS)), 1e-4);
  close(feature(later, 'user_slot_lift'), feature(fresh, 'user_slot_lift'), 1e-3);
  // The histogram is stored as of the UTC day boundary before features.at (features.ts decays it
  // in whole days), so read at noon it has lost half a day of weight even with at = now.
  const noon = activeUser();
  noon.features.at = NOW + 12 * HOUR;
  const atNoon = featureVector(input({ user: noon, now: NOW + 12 * HOUR }));
  close(feature(atNoon, 'user_how_mass'), Math.log1p(60 * Math.exp(-12 * HOUR / HOW_TIME_CONSTANT_MS)), 1e-5);
  // State stamped after `now` is never inflated.
  const ahead = featureVector(input({ user: u, now: NOW - HOUR }));
  close(feature(ahead, 'app_open_7d'), Math.log1p(10));
});

test('feature vector: moving the slot to the habitual hour raises the slot affinity features', () => {
  const active = featureVector(input({ sendAt: ACTIVE_SLOT }));
  const inactive = featureVector(input({ sendAt: INACTIVE_SLOT }));
  assert.notDeepEqual(Array.from(active), Array.from(inactive));
  // The user has 30 of Monday's 40 events in bucket 20 (Monday 20:00), and 50 of all 60 at
  // 20:00 on some day; none on Tuesday (bucket 27) at 03:00, nor at 03:00 on any day.
  const share = (0.5 * (30 / 40) + 0.5 * (50 / 60)) / 7;
  close(feature(active, 'user_slot_lift'), share * 168, 1e-3);
  close(feature(inactive, 'user_slot_lift'), 0);
  close(feature(active, 'pop_slot_lift'), 1);
  close(feature(active, 'user_how_mass'), Math.log1p(60), 1e-4);
  close(feature(active, 'blend_slot_lift'), ((60 * share + 20 / 168) / 80) * 168, 1e-3);
  close(feature(inactive, 'blend_slot_lift'), (20 / 168 / 80) * 168, 1e-4);
  // 20:00 local: angle 2π·20/24.
  close(feature(active, 'hour_sin'), Math.sin((2 * Math.PI * 20) / 24));
  close(feature(active, 'hour_cos'), Math.cos((2 * Math.PI * 20) / 24));
  close(feature(inactive, 'hour_sin'), Math.sin((2 * Math.PI * 3) / 24));
  assert.equal(feature(active, 'weekend'), 0);
  // Saturday 2024-01-06 12:00 local.
  const saturday = featureVector(input({ sendAt: Date.UTC(2024, 0, 6, 6, 30) }));
  assert.equal(feature(saturday, 'weekend'), 1);
});

test('feature vector: messages_7d_before_slot counts sent and scheduled messages on any channel in the week before the slot', () => {
  const u = activeUser();
  const sendAt = NOW + 6 * HOUR;
  u.sent = [
    { t: NOW - DAY, ch: 'push', k: 'promotional' },
    { t: NOW - 2 * DAY, ch: 'sms', k: 'service' },
    { t: NOW - 8 * DAY, ch: 'push', k: 'promotional' }, // more than a week before the slot
  ];
  const pending = (t: number, n: number) => ({ t, ch: 'sms' as const, k: 'promotional' as const, decisionId: `d${n}`, campaignId: `c${n}`, ev: 1, priority: 0 });
  u.pending = [pending(NOW + 2 * HOUR, 1), pending(NOW + 9 * HOUR, 2)]; // the second is after the slot
  close(feature(featureVector(input({ user: u, sendAt, channel: 'push' })), 'messages_7d_before_slot'), Math.log1p(3));
  close(feature(featureVector(input({ user: u, sendAt, channel: 'sms' })), 'messages_7d_before_slot'), Math.log1p(3), 1e-5);
  // A later slot also counts the second scheduled message; one 7 days on no longer counts the first sent one.
  close(feature(featureVector(input({ user: u, sendAt: NOW + 10 * HOUR })), 'messages_7d_before_slot'), Math.log1p(4));
  close(feature(featureVector(input({ user: u, sendAt: NOW - DAY + 7 * DAY + HOUR })), 'messages_7d_before_slot'), Math.log1p(2));
  close(feature(featureVector(input()), 'messages_7d_before_slot'), 0);
});

test('feature vector: a user without history takes the population share at the slot', () => {
  const u = activeUser();
  delete u.features.how;
  const pop = populationPrior(histogram({ 20: 50 }), 1);
  const v = featureVector(input({ user: u, population: pop }));
  close(feature(v, 'user_slot_lift'), 1);
  close(feature(v, 'user_how_mass'), 0);
  close(feature(v, 'pop_slot_lift'), (pop[20] as number) * 168, 1e-4);
  close(feature(v, 'blend_slot_lift'), (pop[20] as number) * 168, 1e-4);
});

test('feature vector: channel, fatigue, campaign, timing, recency and reachability features', () => {
  const u = activeUser();
  u.sent = [
    { t: NOW - DAY, ch: 'push', k: 'promotional' },
    { t: NOW - 2 * DAY, ch: 'sms', k: 'promotional' },
    { t: NOW + HOUR, ch: 'push', k: 'promotional' }, // in the future: not history
  ];
  const push = featureVector(input({ user: u, sendAt: NOW + 6 * HOUR, campaign: campaign({ kind: 'reminder', value: 99 }) }));
  assert.equal(feature(push, 'channel_push'), 1);
  assert.equal(feature(push, 'channel_sms'), 0);
  close(feature(push, 'channel_sends_7d'), Math.log1p(Math.exp(-1 / 7)));
  close(feature(push, 'channel_sends_30d'), Math.log1p(4));
  close(feature(push, 'channel_ctr'), (0.3 + 10 * 0.03) / (4 + 10));
  close(feature(push, 'log_hours_since_send'), Math.log1p(24));
  close(feature(push, 'log_hours_since_app_open'), Math.log1p(2));
  close(feature(push, 'log_hours_since_purchase'), Math.log1p(480));
  assert.deepEqual(
    (['kind_transactional', 'kind_service', 'kind_promotional', 'kind_reminder'] as const).map((n) => feature(push, n)),
    [0, 0, 0, 1],
  );
  close(feature(push, 'campaign_value'), Math.log1p(99));
  close(feature(push, 'user_value'), Math.log1p(300));
  close(feature(push, 'window_position'), 0.25);
  close(feature(push, 'log_hours_until_send'), Math.log1p(6));
  assert.equal(feature(push, 'has_push_token'), 1);
  assert.equal(feature(push, 'has_phone'), 1);

  const sms = featureVector(input({ user: u, channel: 'sms' }));
  assert.equal(feature(sms, 'channel_sms'), 1);
  assert.equal(feature(sms, 'channel_push'), 0);
  close(feature(sms, 'channel_sends_7d'), Math.log1p(Math.exp(-2 / 7)));
  close(feature(sms, 'channel_ctr'), (0.1 + 10 * 0.015) / (2 + 10));

  // Never-seen events read as the cap, not as "just now".
  const blank = activeUser();
  blank.features.last = {};
  const b = featureVector(input({ user: blank }));
  close(feature(b, 'log_hours_since_app_open'), Math.log1p(90 * 24));
  close(feature(b, 'log_hours_since_send'), Math.log1p(30 * 24));
});

test('feature vector f5: the hour-of-day lift is the histogram pooled over the week and smoothed over neighbouring hours', () => {
  // activeUser: 30 events at Monday 20:00, 10 at 21:00, 20 at Tuesday 20:00 (bucket 44): 50 of 60 at 20:00–21:00.
  const v = featureVector(input({ sendAt: ACTIVE_SLOT }));
  const at = (h: number) => Math.exp(-((h + 0.5 - 20) ** 2) / 2);
  let weights = 0;
  for (let h = 0; h < 24; h++) weights += Math.exp(-(Math.min(Math.abs(h + 0.5 - 20), 24 - Math.abs(h + 0.5 - 20)) ** 2) / 2);
  // Slot at 20:00 local: bucket 20 (centre 20.5) and 21 (centre 21.5) at distances 0.5 and 1.5.
  const expected = (24 * (50 * at(20) + 10 * at(21))) / (60 * weights);
  close(feature(v, 'user_hour_lift'), expected, 1e-4);
  // An hour beside the habit still reads above uniform; one across the day reads near nothing.
  assert.ok(featureVector(input({ sendAt: ACTIVE_SLOT - 90 * MIN }))[featureIndex('user_hour_lift')] as number > 1);
  assert.ok((featureVector(input({ sendAt: INACTIVE_SLOT }))[featureIndex('user_hour_lift')] as number) < 0.01);
  // Blended with the population's (uniform here) by k = 5 against the decayed mass (60 events).
  close(feature(v, 'blend_hour_lift'), blendShare(feature(v, 'user_hour_lift'), 60, 1, 5), 1e-4);
  // Without history: 1, and the blend is the population's.
  const blank = activeUser();
  delete blank.features.how;
  const b = featureVector(input({ user: blank }));
  assert.equal(feature(b, 'user_hour_lift'), 1);
  assert.equal(feature(b, 'blend_hour_lift'), 1);
});

test('feature vector f5: category_share is the campaign category\'s share of categorised events, with one pseudo-event each', () => {
  const u = activeUser();
  u.features.cat = [0, 8, 0, 2, 0, 0, 0, 0, 0, 0];
  const of = (category: number | undefined) => featureVector(input({ user: u, campaign: campaign(category === undefined ? {} : { category }) }));
  close(feature(of(1), 'category_share'), ((8 + 1) / (10 + 10)) * 10);
  close(feature(of(5), 'category_share'), (1 / 20) * 10);
  close(feature(of(1), 'category_events'), Math.log1p(10));
  // A campaign without a category is neutral; so is a user with no categorised events.
  assert.equal(feature(of(undefined), 'category_share'), 1);
  delete u.features.cat;
  close(feature(of(1), 'category_share'), 1);
  assert.equal(feature(of(1), 'category_events'), 0);
  // The counts decay with 30 days between the state's time and the decision's.
  const later = activeUser();
  later.features.cat = [0, 10, 0, 0, 0, 0, 0, 0, 0, 0];
  const w = featureVector(input({ user: later, campaign: campaign({ category: 1 }), now: NOW + 30 * DAY, sendAt: NOW + 30 * DAY + HOUR }));
  close(feature(w, 'category_events'), Math.log1p(10 * Math.exp(-1)), 1e-4);
});

// ---------------------------------------------------------------- heuristic scorer

const scorer = new HeuristicScorer();
async function scoreOf(over: Partial<FeatureInput>): Promise<Scores> {
  const [s] = await scorer.score([featureVector(input(over))]);
  assert.ok(s !== undefined);
  return s;
}

test('heuristic: versions, batch order, ranges, determinism, wrong-length rows rejected', async () => {
  assert.equal(scorer.version, 'heuristic-3');
  assert.equal(new HeuristicScorer({ version: 2 }).version, 'heuristic-2');
  // From JavaScript any value can arrive: an unknown version is refused, not scored as NaN.
  assert.throws(() => new HeuristicScorer({ version: 4 as unknown as 3 }), RangeError);
  assert.equal(scorer.featureVersion, FEATURE_SPEC.version);
  const rows = [featureVector(input()), featureVector(input({ channel: 'sms', sendAt: INACTIVE_SLOT })), featureVector(input({ user: inactiveUser() }))];
  const a = await scorer.score(rows);
  const b = await scorer.score(rows);
  assert.deepEqual(a, b);
  assert.equal(a.length, 3);
  assert.deepEqual(await scorer.score([rows[2] as Float32Array, rows[0] as Float32Array]), [a[2], a[0]]);
  for (const s of a) {
    for (const p of [s.click, s.convert, s.unsubscribe]) assert.ok(p >= 0 && p <= 1);
    assert.ok(s.click <= 0.9);
    assert.ok(s.convert <= s.click);
  }
  await assert.rejects(scorer.score([new Float32Array(3)]), RangeError);
  assert.deepEqual(await scorer.score([]), []);
});

test('heuristic: the formulas at a neutral row (no opens, uniform hour, no sends, prior CTR)', () => {
  const row = (channel: 'push' | 'sms'): Float32Array => {
    const r = new Float32Array(FEATURE_SPEC.names.length);
    r[featureIndex(channel === 'push' ? 'channel_push' : 'channel_sms')] = 1;
    r[featureIndex('blend_hour_lift')] = 1;
    r[featureIndex('category_share')] = 1;
    r[featureIndex('channel_ctr')] = channel === 'push' ? 0.03 : 0.015;
    return r;
  };
  const push = scorer.scoreOne(row('push'));
  const sms = scorer.scoreOne(row('sms'));
  // base × activity floor 0.5; unsubscribe base × (1 + 2) for a user who never opens.
  close(push.click, 0.03 * 0.5, 1e-8);
  close(sms.click, 0.015 * 0.5, 1e-8);
  close(push.convert, 0.03 * 0.5 * 0.08, 1e-8);
  close(push.unsubscribe, 0.001 * 3, 1e-8);
  close(sms.unsubscribe, 0.004 * 3, 1e-8);
  // Affinity is clamped to [0.3, 6] (heuristic-2: [0.3, 3]).
  const hot = row('push');
  hot[featureIndex('blend_hour_lift')] = 50;
  close(scorer.scoreOne(hot).click, 0.03 * 0.5 * 6, 1e-8);
  close(new HeuristicScorer({ version: 2 }).scoreOne(hot).click, 0.03 * 0.5 * 3, 1e-8);
  hot[featureIndex('blend_hour_lift')] = 4;
  close(scorer.scoreOne(hot).click, 0.03 * 0.5 * 4, 1e-6);
  const cold = row('push');
  cold[featureIndex('blend_hour_lift')] = 0;
  close(scorer.scoreOne(cold).click, 0.03 * 0.5 * 0.3, 1e-8);
  // The user's own CTR relative to the channel prior, bounded to [0.5, 2].
  const clicker = row('push');
  clicker[featureIndex('channel_ctr')] = 0.045;
  close(scorer.scoreOne(clicker).click, 0.03 * 0.5 * 1.5, 1e-8);
  clicker[featureIndex('channel_ctr')] = 0.5;
  close(scorer.scoreOne(clicker).click, 0.03 * 0.5 * 2, 1e-8);
  clicker[featureIndex('channel_ctr')] = 0;
  close(scorer.scoreOne(clicker).click, 0.03 * 0.5 * 0.5, 1e-8);
  // Fatigue alone (CTR held at its prior): 5 sends this week + 8 this month on the channel
  // → load 5 + 0.25·8 = 7: clicks × e^(−0.2·7), unsubscribes × (1 + 0.25·7).
  const tired = row('push');
  tired[featureIndex('channel_sends_7d')] = Math.log1p(5);
  tired[featureIndex('channel_sends_30d')] = Math.log1p(8);
  const ts = scorer.scoreOne(tired);
  close(ts.click, 0.03 * 0.5 * Math.exp(-0.2 * 7), 1e-8);
  close(ts.unsubscribe, 0.001 * 3 * (1 + 0.25 * 7), 1e-8);
  // Interest: the category's share relative to uniform, bounded to [0.5, 2], square-rooted;
  // it divides the opt-out risk as it multiplies clicks.
  const fan = row('push');
  fan[featureIndex('category_share')] = 2;
  close(scorer.scoreOne(fan).click, 0.03 * 0.5 * Math.SQRT2, 1e-8);
  close(scorer.scoreOne(fan).unsubscribe, (0.001 * 3) / Math.SQRT2, 1e-8);
  fan[featureIndex('category_share')] = 9;
  close(scorer.scoreOne(fan).click, 0.03 * 0.5 * Math.SQRT2, 1e-8);
  fan[featureIndex('category_share')] = 0.1;
  close(scorer.scoreOne(fan).click, 0.03 * 0.5 * Math.SQRT1_2, 1e-8);
  close(scorer.scoreOne(fan).unsubscribe, 0.001 * 3 * Math.SQRT2, 1e-8);
  // Buyers convert more after a click.
  const buyer = row('push');
  buyer[featureIndex('purchase_30d')] = Math.log1p(5);
  buyer[featureIndex('add_to_cart_30d')] = Math.log1p(5);
  const bs = scorer.scoreOne(buyer);
  close(bs.click, push.click, 1e-8);
  assert.ok(bs.convert / bs.click > 0.08 * 1.5);
});

test('heuristic: p(click) is higher at the habitual hour than at an inactive hour', async () => {
  const hot = await scoreOf({ sendAt: ACTIVE_SLOT });
  const cold = await scoreOf({ sendAt: INACTIVE_SLOT });
  assert.ok(hot.click > 5 * cold.click, `${hot.click} vs ${cold.click}`);
  assert.ok(hot.convert > cold.convert);
});

test('heuristic: fatigue lowers p(click) and raises p(unsubscribe), per channel', async () => {
  for (const channel of ['push', 'sms'] as const) {
    const rested = await scoreOf({ channel });
    const tired = await scoreOf({ channel, user: fatiguedUser() });
    assert.ok(tired.click < rested.click * 0.6, `${channel}: ${tired.click} vs ${rested.click}`);
    assert.ok(tired.unsubscribe > rested.unsubscribe * 1.5, `${channel}: ${tired.unsubscribe} vs ${rested.unsubscribe}`);
  }
});

test('heuristic-3: messages scheduled before the slot tire the user as sent ones do; heuristic-2 reads sent messages on the channel only', async () => {
  const withPending = (n: number): UserState => {
    const u = activeUser();
    // No sends in the month: the messages before the slot are the whole load.
    u.features.ch = {};
    u.pending = Array.from({ length: n }, (_, i) => ({ t: ACTIVE_SLOT - (i + 1) * HOUR, ch: 'sms' as const, k: 'promotional' as const, decisionId: `d${i}`, campaignId: 'c0', ev: 1, priority: 0 }));
    return u;
  };
  const v2 = new HeuristicScorer({ version: 2 });
  const rows = [0, 1, 3].map((n) => featureVector(input({ user: withPending(n) })));
  const [none, one, three] = await scorer.score(rows);
  assert.ok(none !== undefined && one !== undefined && three !== undefined);
  close(one.click / none.click, Math.exp(-0.2), 1e-6);
  close(three.click / none.click, Math.exp(-0.6), 1e-6);
  assert.ok(one.unsubscribe > none.unsubscribe);
  const old = await v2.score(rows);
  assert.deepEqual(old[1], old[0], 'heuristic-2 does not see what is scheduled');
  // The larger load counts, not the sum (sent messages are in both counts): a month's 8 push
  // sends (a load of 2) and one scheduled message tire as much as the sends alone, not as 3.
  const sends = activeUser();
  sends.features.ch = { push: { s: 8, c: 0.3 } };
  const sendsAndOne = activeUser();
  sendsAndOne.features.ch = { push: { s: 8, c: 0.3 } };
  sendsAndOne.pending = withPending(1).pending;
  const alone = scorer.scoreOne(featureVector(input({ user: sends })));
  const both = scorer.scoreOne(featureVector(input({ user: sendsAndOne })));
  close(both.click, alone.click, 1e-9);
  close(both.unsubscribe, alone.unsubscribe, 1e-9);
});

test('heuristic: inactive users click less and unsubscribe more; SMS risks more unsubscribes, push clicks more', async () => {
  const active = await scoreOf({});
  const inactive = await scoreOf({ user: inactiveUser() });
  assert.ok(inactive.click < active.click);
  assert.ok(inactive.unsubscribe > active.unsubscribe * 1.5);
  const sms = await scoreOf({ channel: 'sms' });
  assert.ok(sms.unsubscribe > active.unsubscribe);
  assert.ok(sms.click < active.click);
});

// ---------------------------------------------------------------- policy

test('policy: expected value = p(convert)·value − cost − λ·p(unsubscribe)·userValue', () => {
  const s: Scores = { click: 0.1, convert: 0.02, unsubscribe: 0.004 };
  close(expectedValue(s, { value: 500, cost: 0.12, lambda: 1, userValue: 500 }), 0.02 * 500 - 0.12 - 0.004 * 500, 1e-12);
  close(expectedValue(s, { value: 500, cost: 0.12, lambda: 0, userValue: 500 }), 10 - 0.12, 1e-12);
  close(expectedValue(s, { value: 500, cost: 0, lambda: 2.5, userValue: 1000 }), 10 - 2.5 * 0.004 * 1000, 1e-12);
  assert.ok(expectedValue({ click: 0, convert: 0, unsubscribe: 0 }, { value: 100, cost: 0.5, lambda: 1, userValue: 1 }) < 0);
});

test('policy: threshold must be strictly exceeded; NaN never passes', () => {
  assert.equal(passesThreshold(1, 0), true);
  assert.equal(passesThreshold(0, 0), false);
  assert.equal(passesThreshold(-0.01, 0), false);
  assert.equal(passesThreshold(5, 4.99), true);
  assert.equal(passesThreshold(Number.NaN, -1), false);
});

// ---------------------------------------------------------------- send time

const T0 = Date.UTC(2024, 0, 1, 0, 0); // on every slot grid

test('candidateSlots: aligned to the epoch grid, end exclusive', () => {
  const slots = candidateSlots(T0, T0 + 2 * HOUR, T0 - HOUR, 15);
  assert.deepEqual(slots, Array.from({ length: 8 }, (_, i) => T0 + i * 15 * MIN));
  // A window that starts and ends off the grid: first = its start, then the grid, clipped before the end.
  const off = candidateSlots(T0 + 7 * MIN, T0 + 61 * MIN, T0, 15);
  assert.deepEqual(off, [T0 + 7 * MIN, T0 + 15 * MIN, T0 + 30 * MIN, T0 + 45 * MIN, T0 + 60 * MIN]);
  for (const t of off.slice(1)) assert.equal(t % (15 * MIN), 0);
  assert.deepEqual(candidateSlots(T0, T0 + 60 * MIN, T0, 60), [T0]);
});

test('candidateSlots: now inside the window starts at now; a closed window has none', () => {
  const now = T0 + 37 * MIN + 12_345;
  const slots = candidateSlots(T0, T0 + 2 * HOUR, now, 30);
  assert.deepEqual(slots, [now, T0 + 60 * MIN, T0 + 90 * MIN]);
  assert.deepEqual(candidateSlots(T0, T0 + HOUR, T0 + HOUR, 15), []);
  assert.deepEqual(candidateSlots(T0, T0 + HOUR, T0 + 2 * HOUR, 15), []);
  assert.deepEqual(candidateSlots(T0 + HOUR, T0, T0 - HOUR, 15), []);
  assert.throws(() => candidateSlots(T0, T0 + HOUR, T0, 0), RangeError);
});

test('candidateSlots: long windows are subsampled evenly to maxSlots, keeping the first', () => {
  const now = T0 + 5 * MIN;
  const all = candidateSlots(T0, T0 + 7 * DAY, now, 15, 10_000);
  assert.equal(all.length, 7 * 96);
  const some = candidateSlots(T0, T0 + 7 * DAY, now, 15);
  assert.equal(some.length, 96);
  assert.equal(some[0], now);
  for (let i = 1; i < some.length; i++) {
    assert.ok((some[i] as number) > (some[i - 1] as number));
    assert.ok(all.includes(some[i] as number));
  }
  // 672 slots into 96: every 7th, so the subset spans the whole week, not its first day.
  assert.equal(some[1], all[7]);
  assert.equal(some[95], all[665]);
  assert.equal(candidateSlots(T0, T0 + DAY, T0, 15, 1).length, 1);
});

test('chooseSlot: best allowed slot with capacity; ties go to the earliest', () => {
  const o = (at: number, ev: number, allowed = true, capacityLeft = 10) => ({ at, ev, allowed, capacityLeft });
  assert.equal(chooseSlot([o(0, 1), o(1, 3), o(2, 2)]), 1);
  assert.equal(chooseSlot([o(0, 1), o(1, 3, false), o(2, 2)]), 2);
  assert.equal(chooseSlot([o(0, 1), o(1, 3), o(2, 2, true, 0)]), 1);
  assert.equal(chooseSlot([o(0, 1), o(1, 3, true, 0), o(2, 2)]), 2);
  // Equal ev: the earliest instant wins even if listed later.
  assert.equal(chooseSlot([o(30, 5), o(10, 5), o(20, 5)]), 1);
  assert.equal(chooseSlot([o(10, 5), o(20, 5)]), 0);
  assert.equal(chooseSlot([o(0, Number.NaN), o(1, -2)]), 1);
  assert.equal(chooseSlot([o(0, 9, false), o(1, 9, true, 0)]), undefined);
  assert.equal(chooseSlot([]), undefined);
});

test('populationPrior: 168 shares normalised per weekday, summing to 1; uniform when empty', () => {
  const empty = populationPrior([]);
  assert.equal(empty.length, 168);
  for (const s of empty) close(s, 1 / 168, 1e-12);
  const h = histogram({ 20: 100, 44: 50 });
  const p = populationPrior(h, 1);
  close(p.reduce((a, b) => a + b, 0), 1, 1e-8);
  // Buckets 20 and 44 are both 20:00 (Monday, Tuesday): half of each day's share follows the
  // day's own hours, half the hours pooled over the week; each day holds 1/7.
  const t = 15_000 + 168;
  close(p[20] as number, (0.5 * (10_001 / (10_001 + 23)) + 0.5 * ((10_001 + 5_001 + 5) / t)) / 7, 1e-12);
  assert.ok((p[0] as number) > 0);
  assert.ok((p[20] as number) > (p[44] as number) && (p[44] as number) > (p[0] as number));
  const raw = populationPrior(h, 0);
  close(raw[20] as number, 1 / 7, 1e-12);
  close(raw[44] as number, 1 / 7, 1e-12);
  // Wednesday has no activity of its own: its 20:00 takes the pooled hours alone.
  close(raw[2 * 24 + 20] as number, 1 / 7, 1e-12);
  assert.equal(raw[0], 0);
  for (const s of populationPrior(new Array<number>(168).fill(0), 0)) close(s, 1 / 168, 1e-12);
});

test('blendShare: sparse users lean on the population, heavy users on themselves', () => {
  assert.equal(blendShare(0.5, 0, 0.01), 0.01);
  close(blendShare(0.5, 1e7, 0.01), 0.5, 1e-5);
  close(blendShare(0.5, 20, 0.01), (0.5 + 0.01) / 2, 1e-12);
  close(blendShare(0.5, 5, 0.01, 5), (0.5 + 0.01) / 2, 1e-12);
  assert.ok(blendShare(0.5, 2, 0.01) < blendShare(0.5, 40, 0.01));
});
