import { test } from 'node:test';
import assert from 'node:assert/strict';
import { featureIndex } from '../operators/decisions/feature-vector.js';
import { HeuristicScorer } from '../operators/decisions/heuristic-scorer.js';
import { expectedValue } from '../operators/decisions/policy.js';
import type { Scorer, Scores } from '../operators/decisions/scorer.js';
import { activate, campaign, decisionDriver, decisions, HOUR, indiaUser, MONDAY, policyConfig, sends } from './support/decisions.js';

const RECENT = featureIndex('messages_7d_before_slot');

/**
 * The heuristics, with every message in the week before the slot (sent or scheduled) cutting
 * the click and conversion by e^(−rate): the heuristics themselves read fatigue from past sends
 * only, so they see no harm in a message placed ahead of a scheduled one.
 */
class FatigueScorer implements Scorer {
  readonly version = 'fatigue-test';
  readonly #inner = new HeuristicScorer();
  readonly featureVersion = this.#inner.featureVersion;
  readonly #rate: number;

  constructor(rate: number) {
    this.#rate = rate;
  }

  async score(rows: readonly Float32Array[]): Promise<Scores[]> {
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
    const out = decisions(d);
    await d.advanceTime(24 * HOUR);
    return { sale: out.find((r) => r.campaignId === 'sale'), reminder: out.find((r) => r.campaignId === 'reminder'), sent: sends(d).map((s) => s.campaignId) };
  } finally {
    await d.close();
  }
}

test('later harm: a message ahead of a scheduled one is worth its own value less what it takes from that one', async () => {
  const scorer = new FatigueScorer(0.05);
  // A reminder worth far more than its harm: it goes out, and its logged value shows the harm.
  const { sale: s, reminder: r } = await saleThenReminder(scorer, { reminderValue: 20_000 });
  assert.equal(s?.action, 'schedule');
  assert.equal(r?.action, 'schedule', 'at this fatigue the reminder is still worth sending');
  assert.ok(r?.sendAt !== null && s?.sendAt !== null && (r?.sendAt as number) < (s?.sendAt as number), 'the reminder comes first');
  const { policy } = policyConfig();
  const user = { value: 1200 };
  // The reminder's own value, from the probabilities its decision logged.
  const own = expectedValue(r?.scores as Scores, { value: 20_000, cost: r?.cost as number, lambda: policy.unsubscribeWeight, userValue: user.value });
  // The sale's row as logged is its row now (nothing else changed in between); with one more
  // message before it, it scores lower. The cost is paid either way.
  const row = Float32Array.from(s?.features as number[]);
  const tired = Float32Array.from(row);
  tired[RECENT] = Math.log1p(Math.round(Math.expm1(row[RECENT] as number)) + 1);
  const value = (x: Scores) => expectedValue(x, { value: 3000, cost: 0, lambda: policy.unsubscribeWeight, userValue: user.value });
  const harm = value(scorer.scoreOne(row)) - value(scorer.scoreOne(tired));
  assert.ok(harm > 0.5, `the sale loses value to an earlier message: ${harm}`);
  assert.ok(Math.abs((r?.scores?.ev as number) - (own - harm)) < 0.01, `logged ev ${r?.scores?.ev} = own ${own} − harm ${harm}`);
});

test('later harm: a reminder that would cost the scheduled sale more than it brings is skipped as low_value; alone, or with scorers blind to it, it is sent', async () => {
  const strong = await saleThenReminder(new FatigueScorer(0.1));
  assert.equal(strong.sale?.action, 'schedule');
  assert.equal(strong.reminder?.action, 'skip');
  assert.deepEqual(strong.reminder?.reasons, ['low_value']);
  assert.deepEqual(strong.sent, ['sale'], 'the sale goes out alone, at the peak');
  // Without a scheduled message after it, the same reminder is worth sending.
  const alone = await saleThenReminder(new FatigueScorer(0.1), { withSale: false });
  assert.equal(alone.reminder?.action, 'schedule');
  // The heuristics weigh no harm (their fatigue reads past sends only): both go out.
  const heuristic = await saleThenReminder(new HeuristicScorer());
  assert.equal(heuristic.reminder?.action, 'schedule');
  assert.deepEqual(heuristic.sent.sort(), ['reminder', 'sale']);
});
