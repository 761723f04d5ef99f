import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FEATURE_COUNT, featureIndex, withMoreRecent } from '../operators/decisions/feature-vector.js';
import { harmAt, harmRows, harmsFrom, laterMessages } from '../operators/decisions/later-harm.js';
import type { PendingSend } from '../operators/decisions/types.js';
import type { DecisionRecord } from '../operators/decisions/decision-record.js';
import { HeuristicScorer } from '../operators/decisions/heuristic-scorer.js';
import { expectedValue } from '../operators/decisions/policy.js';
import type { Scorer, Scores } from '../operators/decisions/scorer.js';
import { activate, campaign, decisionDriver, decisions, HOUR, indiaUser, MONDAY, policyConfig, sends } from './support/decisions.js';

const RECENT = featureIndex('messages_7d_before_slot');

/**
 * heuristic-2, with every message in the week before the slot (sent or scheduled) cutting the
 * click and conversion by e^(−rate): heuristic-2 itself reads fatigue from past sends only, so
 * it sees no harm in a message placed ahead of a scheduled one.
 */
class FatigueScorer implements Scorer {
  readonly version = 'fatigue-test';
  readonly #inner = new HeuristicScorer({ version: 2 });
  readonly featureVersion = this.#inner.featureVersion;
  readonly #rate: number;
  /** The rows of the last call. */
  last: readonly Float32Array[] = [];

  constructor(rate: number) {
    this.#rate = rate;
  }

  async score(rows: readonly Float32Array[]): Promise<Scores[]> {
    this.last = rows;
    return rows.map((row) => this.scoreOne(row));
  }

  scoreOne(row: Float32Array): Scores {
    const s = this.#inner.scoreOne(row);
    const tired = Math.exp(-this.#rate * Math.expm1(row[RECENT] as number));
    return { click: s.click * tired, convert: s.convert * tired, unsubscribe: s.unsubscribe };
  }
}

// The evening flash sale holds the user's peak (19:00–21:00 IST); the reminder's window ends
// before it, so every slot of the reminder comes first and would tire the user for the sale.
const sale = () => campaign('sale', { value: 3000, priority: 60, window: { start: MONDAY + 12 * HOUR, end: MONDAY + 16 * HOUR } });
const reminder = (value: number) => campaign('reminder', { kind: 'reminder', value, priority: 40, window: { start: MONDAY + 3 * HOUR, end: MONDAY + 11 * HOUR } });

async function saleThenReminder(scorer: Scorer, opts: { withSale?: boolean; reminderValue?: number } = {}) {
  const withSale = opts.withSale ?? true;
  const d = await decisionDriver({ scorer: () => scorer });
  try {
    await d.pipe('profiles', 'u1', indiaUser('u1'));
    await activate(d, 'u1');
    d.putCampaign(sale());
    d.putCampaign(reminder(opts.reminderValue ?? 1500));
    if (withSale) await d.pipe('candidates', 'u1', { campaignId: 'sale', userId: 'u1', vars: { product: 'shoes' } });
    await d.pipe('candidates', 'u1', { campaignId: 'reminder', userId: 'u1', vars: { product: 'shoes' } });
    // The reminder's decision scored its slots and, in the same call, the sale's two rows last.
    const reminderCall = scorer instanceof FatigueScorer ? scorer.last : [];
    const out = decisions(d);
    await d.advanceTime(24 * HOUR);
    return { sale: out.find((r) => r.campaignId === 'sale'), reminder: out.find((r) => r.campaignId === 'reminder'), sent: sends(d).map((s) => s.campaignId), reminderCall };
  } finally {
    await d.close();
  }
}

test('later harm: a message ahead of a scheduled one is worth its own value less what it takes from that one', async () => {
  const scorer = new FatigueScorer(0.05);
  // A reminder worth far more than its harm: it goes out, and its logged value shows the harm.
  const { sale: s, reminder: r, reminderCall } = await saleThenReminder(scorer, { reminderValue: 20_000 });
  assert.equal(s?.action, 'schedule');
  assert.equal(r?.action, 'schedule', 'at this fatigue the reminder is still worth sending');
  assert.ok(r?.sendAt !== null && s?.sendAt !== null && (r?.sendAt as number) < (s?.sendAt as number), 'the reminder comes first');
  const { policy } = policyConfig();
  const user = { value: 1200 };
  // The reminder's own value, from the probabilities its decision logged (rounded to 6 places:
  // within 0.01 at a value of 20,000).
  const own = expectedValue(r?.scores as Scores, { value: 20_000, cost: r?.cost as number, lambda: policy.unsubscribeWeight, userValue: user.value });
  // The sale's row now, and with one more message before it: the last two rows of the call.
  const [row, tired] = reminderCall.slice(-2) as [Float32Array, Float32Array];
  assert.deepEqual([...row].map((x) => Math.round(x * 1e4)), (s?.features as number[]).map((x) => Math.round(x * 1e4)), 'the sale\'s row is the one its decision logged');
  assert.equal(Math.round(Math.expm1(tired[RECENT] as number)), Math.round(Math.expm1(row[RECENT] as number)) + 1);
  const value = (x: Scores) => expectedValue(x, { value: 3000, cost: 0, lambda: policy.unsubscribeWeight, userValue: user.value });
  const harm = value(scorer.scoreOne(row)) - value(scorer.scoreOne(tired));
  assert.ok(harm > 0.5, `the sale loses value to an earlier message: ${harm}`);
  assert.ok(Math.abs((r?.scores?.ev as number) - (own - harm)) < 0.02, `logged ev ${r?.scores?.ev} = own ${own} − harm ${harm}`);
});

test('later harm: a reminder that would cost the scheduled sale more than it brings is skipped as low_value; alone, or with a scorer blind to it, it is sent', async () => {
  const strong = await saleThenReminder(new FatigueScorer(0.1));
  assert.equal(strong.sale?.action, 'schedule');
  assert.equal(strong.reminder?.action, 'skip');
  assert.deepEqual(strong.reminder?.reasons, ['low_value']);
  assert.deepEqual(strong.sent, ['sale'], 'the sale goes out alone, at the peak');
  // Without a scheduled message after it, the same reminder is worth sending.
  const alone = await saleThenReminder(new FatigueScorer(0.1), { withSale: false });
  assert.equal(alone.reminder?.action, 'schedule');
  // heuristic-2 weighs no harm (its fatigue reads past sends only): both go out.
  const blind = await saleThenReminder(new HeuristicScorer({ version: 2 }));
  assert.equal(blind.reminder?.action, 'schedule');
  assert.deepEqual(blind.sent.sort(), ['reminder', 'sale']);
});

test('later harm: the heuristics served (heuristic-3) charge a message for the scheduled one it comes before', async () => {
  const { sale: s, reminder: r } = await saleThenReminder(new HeuristicScorer(), { reminderValue: 20_000 });
  assert.equal(s?.action, 'schedule');
  assert.equal(r?.action, 'schedule');
  const { policy } = policyConfig();
  const own = expectedValue(r?.scores as Scores, { value: 20_000, cost: r?.cost as number, lambda: policy.unsubscribeWeight, userValue: 1200 });
  // The sale goes from no message before it to one: clicks × e^(−0.2) on a value of 3,000.
  assert.ok(own - (r?.scores?.ev as number) > 1, `logged ev ${r?.scores?.ev} is below the reminder's own value ${own}`);
  // At the reminder's value of 1,500 that harm outweighs it.
  const cheap = await saleThenReminder(new HeuristicScorer());
  assert.deepEqual(cheap.reminder?.reasons, ['low_value']);
  assert.deepEqual(cheap.sent, ['sale']);
});

test('later harm, the pure parts: which messages count, two rows each, the harm never below 0, charged only to slots before a message in its week and not displacing it', () => {
  const pending = (decisionId: string, t: number, campaignId = 'sale'): PendingSend => ({ t, ch: 'push', k: 'promotional', decisionId, campaignId, ev: 5, priority: 50 });
  const at = MONDAY + 10 * HOUR;
  const early = pending('early', at - HOUR);
  const soon = pending('soon', at + HOUR);
  const gone = pending('gone', at + 2 * HOUR, 'deleted');
  const known = (id: string) => (id === 'deleted' ? undefined : sale());
  // Only messages after the window opens, of a campaign that still exists; none without the lookup.
  assert.deepEqual(laterMessages([early, soon, gone], at, known).map((m) => m.pending.decisionId), ['soon']);
  assert.deepEqual(laterMessages([early, soon], at, undefined), []);

  const row = new Float32Array(FEATURE_COUNT);
  row[RECENT] = Math.log1p(2);
  const rows = harmRows([{ pending: soon, campaign: sale() }], () => row);
  assert.equal(rows.length, 2);
  assert.equal(rows[0], row, 'the row as it is');
  assert.equal(Math.round(Math.expm1(rows[1]?.[RECENT] as number)), 3, 'and with one more message before it');
  assert.deepEqual(withMoreRecent(row, 2)[RECENT], Float32Array.of(Math.log1p(4))[0], 'written as featureVector writes a count');

  const scores = (click: number): Scores => ({ click, convert: click, unsubscribe: 0 });
  const later = [{ pending: soon, campaign: sale() }, { pending: gone, campaign: sale() }];
  const harms = harmsFrom(later, [scores(0.1), scores(0.04), scores(0.01), scores(0.02)], (s) => s.convert * 100);
  assert.deepEqual(harms.map((h) => Math.round(h.harm * 1e6) / 1e6), [6, 0], 'a message that would gain is not a harm');
  assert.deepEqual(harmsFrom(later, [scores(Number.NaN), scores(0.1)], (s) => s.convert).map((h) => h.harm), [0, 0], 'NaN and missing scores harm nothing');

  const week = 7 * 24 * HOUR;
  const h = (t: number) => [{ pending: pending('p', t), harm: 2 }];
  assert.equal(harmAt(h(at + HOUR), at, []), 2, 'a message an hour later');
  assert.equal(harmAt(h(at), at, []), 0, 'one at the same instant does not count it (messages_7d_before_slot counts earlier ones)');
  assert.equal(harmAt(h(at - HOUR), at, []), 0, 'an earlier one is not harmed');
  assert.equal(harmAt(h(at + week - 1), at, []), 2, 'inside the week');
  assert.equal(harmAt(h(at + week), at, []), 0, 'a week later it has worn off');
  const both = [{ pending: soon, harm: 2 }, { pending: gone, harm: 3 }];
  assert.equal(harmAt(both, at, [soon]), 3, 'a displaced message takes no harm');
});

/** Two promotions a day at most, no gap; the evening holds a cheap message and a valuable one of higher priority; then a morning promotion worth `value`. */
async function displacing(scorer: Scorer, value: number) {
  const d = await decisionDriver({ scorer: () => scorer, policy: { caps: [{ name: 'two-a-day', scope: 'global', kinds: ['promotional'], max: 2, localDays: 1 }], minGapMs: 0 } });
  try {
    await d.pipe('profiles', 'u1', indiaUser('u1'));
    await activate(d, 'u1');
    const evening = { start: MONDAY + 12 * HOUR, end: MONDAY + 16 * HOUR };
    d.putCampaign(campaign('cheap', { value: 1500, priority: 10, window: evening }));
    d.putCampaign(campaign('valuable', { value: 20_000, priority: 100, window: evening }));
    d.putCampaign(campaign('morning', { value, priority: 10, window: { start: MONDAY + 3 * HOUR, end: MONDAY + 11 * HOUR } }));
    for (const id of ['cheap', 'valuable', 'morning']) await d.pipe('candidates', 'u1', { campaignId: id, userId: 'u1', vars: { product: 'shoes' } });
    const out = decisions(d);
    const first = (id: string) => out.find((r) => r.campaignId === id) as DecisionRecord;
    return { cheap: first('cheap'), valuable: first('valuable'), morning: first('morning'), preempted: out.filter((r) => r.reasons.includes('preempted')).map((r) => r.campaignId) };
  } finally {
    await d.close();
  }
}

test('later harm: a slot that displaces one scheduled message still pays for the harm to the one it leaves in place', async () => {
  const scorer = new FatigueScorer(0.05);
  // Worth displacing the cheap message even after the harm to the valuable one (about 6 here).
  const rich = await displacing(scorer, 40_000);
  assert.equal(rich.cheap.action, 'schedule');
  assert.equal(rich.valuable.action, 'schedule');
  assert.equal(rich.morning.action, 'schedule');
  assert.deepEqual(rich.preempted, ['cheap'], 'the cheap one is displaced, the valuable one stays');
  const { policy } = policyConfig();
  const own = expectedValue(rich.morning.scores as Scores, { value: 40_000, cost: rich.morning.cost, lambda: policy.unsubscribeWeight, userValue: 1200 });
  assert.ok(own - (rich.morning.scores?.ev as number) > 3, `logged ev ${rich.morning.scores?.ev}: its own value ${own} less the valuable message's harm`);
  // At half the value the morning message is worth more than the cheap one on its own, but not
  // once the harm to the valuable one is counted: nothing is displaced and the cap holds.
  const poor = await displacing(scorer, 20_000);
  assert.equal(poor.morning.action, 'skip');
  assert.deepEqual(poor.morning.reasons, ['cap_global']);
  assert.deepEqual(poor.preempted, []);
  // Blind to that harm, heuristic-2 displaces the cheap one.
  assert.deepEqual((await displacing(new HeuristicScorer({ version: 2 }), 20_000)).preempted, ['cheap']);
});
