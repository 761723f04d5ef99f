/**
 * Synthetic decision logs with a known ground truth, for tests and benchmarks: feature rows
 * shaped like FEATURE_SPEC vectors (channel and kind one-hots set properly, the rest standard
 * normal), logistic response probabilities, and outcome events that arrive after
 * exponentially distributed delays, so delayed-label handling can be checked against the
 * truth. Not a behavioural simulator (bench/sim is): just data whose right answer is known.
 */
import type { DecisionRecord } from '../operators/decisions/decision-record.js';
import { FEATURE_COUNT, FEATURE_SPEC, featureIndex } from '../operators/decisions/feature-vector.js';
import type { Channel } from '../operators/decisions/types.js';
import { sigmoid } from './calibration.js';
import { HEADS, type Head } from './heads.js';
import type { OutcomeEvent } from './labels.js';
import { normal, type Rng } from './random.js';

const ONE_HOT = new Set<number>([
  featureIndex('channel_sms'),
  featureIndex('channel_push'),
  featureIndex('kind_transactional'),
  featureIndex('kind_service'),
  featureIndex('kind_promotional'),
  featureIndex('kind_reminder'),
]);
const KIND_INDICES = [featureIndex('kind_transactional'), featureIndex('kind_service'), featureIndex('kind_promotional'), featureIndex('kind_reminder')];

/** One feature row for a channel: one-hots set, every other feature ~ N(0, 1). */
export function syntheticRow(rng: Rng, channel: Channel): Float32Array {
  const row = new Float32Array(FEATURE_COUNT);
  for (let f = 0; f < FEATURE_COUNT; f++) if (!ONE_HOT.has(f)) row[f] = normal(rng);
  row[featureIndex(channel === 'sms' ? 'channel_sms' : 'channel_push')] = 1;
  row[KIND_INDICES[Math.floor(rng() * KIND_INDICES.length)] as number] = 1;
  return row;
}

/** p = σ(b + w·x): the known truth a trained head should recover. */
export interface LogisticTruth {
  w: Float64Array;
  b: number;
}

/** Random weights with N(0, scale²) entries; `b` sets the base rate (σ(b) when x = 0). */
export function randomTruth(rng: Rng, scale: number, b: number): LogisticTruth {
  return { w: Float64Array.from({ length: FEATURE_COUNT }, () => normal(rng) * scale), b };
}

export function truthProbability(t: LogisticTruth, row: ArrayLike<number>): number {
  let z = t.b;
  for (let f = 0; f < t.w.length; f++) z += (t.w[f] as number) * (row[f] as number);
  return sigmoid(z);
}

export interface SyntheticLogOptions {
  rng: Rng;
  /** Messages, one per (user, campaign), sent at evenly spaced times over [start, start + spanMs). */
  n: number;
  start: number;
  spanMs: number;
  truth: Record<Head, LogisticTruth>;
  /** Mean delay of each outcome after the send (exponential). */
  meanDelayMs: Record<Head, number>;
  /** Delays are cut at this (keeps outcomes inside their label windows). Default: no cut. */
  maxDelayMs?: Partial<Record<Head, number>>;
  campaignId?: string;
}

export interface SyntheticLog {
  decisions: DecisionRecord[];
  events: OutcomeEvent[];
  /** True probability per message and head, in decision order. */
  p: Record<Head, Float64Array>;
}

export function syntheticLog(o: SyntheticLogOptions): SyntheticLog {
  const campaignId = o.campaignId ?? 'c-synthetic';
  const decisions: DecisionRecord[] = [];
  const events: OutcomeEvent[] = [];
  const p = { click: new Float64Array(o.n), convert: new Float64Array(o.n), unsubscribe: new Float64Array(o.n) };
  for (let i = 0; i < o.n; i++) {
    const channel: Channel = o.rng() < 0.5 ? 'sms' : 'push';
    const row = syntheticRow(o.rng, channel);
    const ts = o.start + Math.floor((i * o.spanMs) / o.n);
    const userId = `u${i}`;
    decisions.push({
      decisionId: `d${i}`,
      campaignId,
      userId,
      action: 'send',
      kind: 'promotional',
      channel,
      provider: null,
      sendAt: ts,
      reasons: [],
      scores: null,
      propensity: 1,
      arm: 'default',
      modelVersion: 'synthetic',
      segments: 1,
      cost: 0,
      ts,
      featureVersion: FEATURE_SPEC.version,
      features: Array.from(row),
    });
    for (const h of HEADS) {
      const prob = truthProbability(o.truth[h], row);
      p[h][i] = prob;
      if (o.rng() >= prob) continue;
      const delay = Math.min(-Math.log(Math.max(o.rng(), 1e-12)) * o.meanDelayMs[h], o.maxDelayMs?.[h] ?? Infinity);
      const at = ts + Math.floor(delay);
      if (h === 'click') events.push({ userId, ts: at, type: channel === 'sms' ? 'sms_click' : 'push_open', channel, campaignId });
      else if (h === 'convert') events.push({ userId, ts: at, type: 'purchase', campaignId });
      else if (channel === 'sms') events.push({ userId, ts: at, type: 'sms_inbound', channel: 'sms', text: 'STOP' });
      else events.push({ userId, ts: at, type: 'uninstall' });
    }
  }
  return { decisions, events, p };
}
