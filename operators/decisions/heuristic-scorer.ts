/**
 * Transparent, hand-set response model used until trained TF.js models exist. It reads the
 * same feature vector a trained model will (so the decision log already holds the training
 * data), and every coefficient below is a stated assumption, not a fit: the point is sensible
 * ordering (active hour > dead hour, rested > fatigued user), not calibrated probabilities.
 * Deterministic: same rows, same scores.
 */
import { CHANNEL_PRIOR_CTR, FEATURE_COUNT, FEATURE_SPEC, featureIndex } from './feature-vector.js';
import type { Scorer, Scores } from './scorer.js';

// Base click rates per channel: typical published push CTR (~3%) and promotional SMS link CTR (~1.5%).
const BASE_CLICK = { push: 0.03, sms: 0.015 } as const;
// Base unsubscribe rates per message for a targeted send: SMS 0.4%, well under the 1% vendors
// advise as a ceiling (notes/ml.md; its retail average of ~37 per 1,000 is for blanket blasts,
// which the fatigue and relevance terms below push towards); push disables are rarer (0.1%).
const BASE_UNSUBSCRIBE = { push: 0.001, sms: 0.004 } as const;
// Conversion given a click: typical landing-page conversion for promotional traffic.
const BASE_CONVERT_GIVEN_CLICK = 0.08;

// Activity lift = 0.5 + 1.5·(1 − e^(−opens/7)), opens = 7-day decayed app opens: a user who
// never opens clicks at half the base rate, one who opens about daily at ~1.45×, and it
// saturates at 2× so heavy users are not scored as certain clickers.
const ACTIVITY_FLOOR = 0.5;
const ACTIVITY_SPAN = 1.5;
const ACTIVITY_SCALE = 7;
// Time-of-day affinity is the blended, smoothed hour-of-day share relative to uniform (f5's
// blend_hour_lift; heuristic-1 read the hour-of-week bucket, which a few days of history leave
// ragged), clamped so one hour can neither zero a user out (0.3) nor dominate on thin evidence.
// Weekday patterns are left to the learned model. heuristic-2 capped the lift at 3×; with a week
// of history several of a user's good hours then tie at the cap and the earliest wins, so
// heuristic-3 caps it at 6× (models/README.md: after seven days of history that alone took
// clicks per message from 48.1 to 54.4 in the demo's world, with the same opt-outs).
const AFFINITY_MIN = 0.3;
const AFFINITY_MAX = { 2: 3, 3: 6 } as const;
// Fatigue load = this week's sends on the channel + a quarter of the month's: recent sends
// tire most, older ones linger. Each unit cuts clicks by e^(−0.2) ≈ 18%. heuristic-3 takes
// the larger of that and the messages on any channel, sent or scheduled, in the week before
// the slot (messages_7d_before_slot): a message already scheduled ahead of this one tires the
// user as a sent one does, and a message placed ahead of a scheduled one is then seen to cost
// it (later-harm.ts). The larger, not the sum: the sent messages are in both counts.
const MONTH_SENDS_WEIGHT = 0.25;
const FATIGUE_CLICK_RATE = 0.2;
// The user's own smoothed CTR on the channel relative to its prior: past clickers click more.
// Bounded to [0.5, 2] because it rests on few, decayed observations.
const CTR_LIFT_MIN = 0.5;
const CTR_LIFT_MAX = 2;
// Interest: the campaign's category's share of what the user views and buys, relative to
// uniform (category_share), bounded to [0.5, 2] and taken to the power 0.5: a share rests on a
// few dozen events at most, and liking a category makes a click likelier, not certain.
const INTEREST_MIN = 0.5;
const INTEREST_MAX = 2;
const INTEREST_POWER = 0.5;
// No probability of a click above 90%: nothing here justifies certainty.
const CLICK_MAX = 0.9;
// Conversion-given-click lift: buyers (30-day purchases) convert up to 2× more, users with
// carts (30-day add-to-cart) up to 1.5×; both saturate after a few events.
const PURCHASE_LIFT = 1.0;
const PURCHASE_SCALE = 2;
const CART_LIFT = 0.5;
const CART_SCALE = 3;
const CONVERT_GIVEN_CLICK_MAX = 0.5;
// Unsubscribe = base × (1 + 0.25 × fatigue load) × (1 + 2·e^(−opens/7)) ÷ interest: every recent
// send adds a quarter of the base risk, a message to someone who no longer opens the app is ~3×
// as likely to be unwelcome as one to a daily user, and one about what they never look at up to
// √2× as likely as an average one.
const FATIGUE_UNSUBSCRIBE_RATE = 0.25;
const IRRELEVANCE_LIFT = 2;
const UNSUBSCRIBE_MAX = 0.5;

const I = {
  opens7: featureIndex('app_open_7d'),
  cart30: featureIndex('add_to_cart_30d'),
  purchase30: featureIndex('purchase_30d'),
  push: featureIndex('channel_push'),
  ctr: featureIndex('channel_ctr'),
  sends7: featureIndex('channel_sends_7d'),
  sends30: featureIndex('channel_sends_30d'),
  blend: featureIndex('blend_hour_lift'),
  category: featureIndex('category_share'),
  recent: featureIndex('messages_7d_before_slot'),
};

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

/** A feature, NaN-safe (rows come from featureVector, which already guards, but a logged row may not). */
function at(row: Float32Array, i: number): number {
  const x = row[i];
  return x !== undefined && Number.isFinite(x) ? x : 0;
}

/** Count features are stored as log1p(count): undo it, never below 0. */
function count(row: Float32Array, i: number): number {
  return Math.max(0, Math.expm1(at(row, i)));
}

export class HeuristicScorer implements Scorer {
  readonly version: `heuristic-${2 | 3}`;
  readonly featureVersion = FEATURE_SPEC.version;
  readonly #generation: 2 | 3;

  /**
   * heuristic-3 unless `version: 2` is asked for: the model's derived inputs are heuristic-2's
   * log-odds (models/model-inputs.ts), which a model trained on them must keep getting.
   */
  constructor(opts: { version?: 2 | 3 } = {}) {
    const generation = opts.version ?? 3;
    // From JavaScript any value can arrive; an unknown one would score NaN everywhere.
    if (generation !== 2 && generation !== 3) throw new RangeError(`heuristic version must be 2 or 3, got ${String(generation)}`);
    this.#generation = generation;
    this.version = `heuristic-${this.#generation}`;
  }

  async score(rows: readonly Float32Array[]): Promise<Scores[]> {
    return rows.map((row) => this.scoreOne(row));
  }

  /** One row, synchronously: the formulas, for tests and explanations. */
  scoreOne(row: Float32Array): Scores {
    // A row of another length was built by another feature version: indices would be wrong.
    if (row.length !== FEATURE_COUNT) {
      throw new RangeError(`row has ${row.length} features, ${FEATURE_SPEC.version} has ${FEATURE_COUNT}`);
    }
    const channel = at(row, I.push) > 0.5 ? 'push' : 'sms';
    const opens = count(row, I.opens7);
    const activity = ACTIVITY_FLOOR + ACTIVITY_SPAN * (1 - Math.exp(-opens / ACTIVITY_SCALE));
    const affinity = clamp(at(row, I.blend), AFFINITY_MIN, AFFINITY_MAX[this.#generation]);
    const sent = count(row, I.sends7) + MONTH_SENDS_WEIGHT * count(row, I.sends30);
    const load = this.#generation === 3 ? Math.max(sent, count(row, I.recent)) : sent;
    const fatigue = Math.exp(-FATIGUE_CLICK_RATE * load);
    const ctrLift = clamp(at(row, I.ctr) / CHANNEL_PRIOR_CTR[channel], CTR_LIFT_MIN, CTR_LIFT_MAX);
    const interest = clamp(at(row, I.category), INTEREST_MIN, INTEREST_MAX) ** INTEREST_POWER;
    const click = clamp(BASE_CLICK[channel] * activity * affinity * fatigue * ctrLift * interest, 0, CLICK_MAX);

    const buyer = 1 - Math.exp(-count(row, I.purchase30) / PURCHASE_SCALE);
    const carts = 1 - Math.exp(-count(row, I.cart30) / CART_SCALE);
    const convertGivenClick = Math.min(CONVERT_GIVEN_CLICK_MAX, BASE_CONVERT_GIVEN_CLICK * (1 + PURCHASE_LIFT * buyer + CART_LIFT * carts));

    const irrelevance = Math.exp(-opens / ACTIVITY_SCALE);
    const unsubscribe = clamp(
      (BASE_UNSUBSCRIBE[channel] * (1 + FATIGUE_UNSUBSCRIBE_RATE * load) * (1 + IRRELEVANCE_LIFT * irrelevance)) / interest,
      0,
      UNSUBSCRIBE_MAX,
    );
    return { click, convert: click * convertGivenClick, unsubscribe };
  }
}
