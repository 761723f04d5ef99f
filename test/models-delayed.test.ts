/**
 * Delayed conversions: at training time the last days' conversions have not all arrived.
 * Fake-negative weighting must keep the model's conversion rate right (O/E within 10% on data
 * with final labels); the naive "not converted yet = negative" model must be visibly low,
 * which shows the test really has labels in flight.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { FEATURE_COUNT, FEATURE_SPEC } from '../operators/decisions/feature-vector.js';
import { initBackend } from '../models/backend.js';
import { sigmoid } from '../models/calibration.js';
import { instancesFor, type DelayedLabelStrategy } from '../models/delayed-labels.js';
import { fitNormalisation, normaliseInto } from '../models/feature-spec-file.js';
import { headLogits } from '../models/forward-pass.js';
import { attachOutcomes, collectMessages, type LabeledMessage } from '../models/labels.js';
import { observedOverExpected } from '../models/metrics.js';
import { hashUnit, mulberry32 } from '../models/random.js';
import { randomTruth, syntheticLog, syntheticRow, truthProbability } from '../models/synthetic.js';
import { fitBinary } from '../models/train-loop.js';

const H = 3_600_000;
const DAY = 24 * H;
const START = Date.UTC(2026, 9, 1);

before(async () => {
  await initBackend();
});

test('FNW keeps conversion O/E within 10% while labels are still arriving; naive does not', async () => {
  const rng = mulberry32(99);
  const truth = { click: randomTruth(rng, 0.2, -2), convert: randomTruth(rng, 0.25, -2), unsubscribe: randomTruth(rng, 0.2, -4) };
  // 12 days of sends, conversion delays ~ Exp(mean 18 h) (cut inside the 72 h window, so a
  // final label is exactly Bernoulli(p)). Training window: the last 3 days, where about a
  // quarter of the eventual conversions are still to come.
  const log = syntheticLog({
    rng,
    n: 30_000,
    start: START,
    spanMs: 12 * DAY,
    truth,
    meanDelayMs: { click: H, convert: 18 * H, unsubscribe: H },
    maxDelayMs: { click: 23 * H, convert: 71 * H, unsubscribe: 47 * H },
  });
  const asOf = START + 12 * DAY;
  const since = asOf - 3 * DAY;
  const { messages } = await collectMessages(log.decisions, FEATURE_SPEC.version, FEATURE_COUNT);
  const { labeled } = await attachOutcomes(messages, log.events, { asOf });
  const spec = fitNormalisation(labeled.map((m) => m.features), FEATURE_SPEC.names, FEATURE_SPEC.version);
  const mean = Float32Array.from(spec.mean);
  const invStd = Float32Array.from(spec.std, (s) => 1 / s);
  const x = new Float32Array(labeled.length * FEATURE_COUNT);
  labeled.forEach((m, i) => normaliseInto(m.features, mean, invStd, x, i * FEATURE_COUNT));
  const gather = (index: number[]) => {
    const out = new Float32Array(index.length * FEATURE_COUNT);
    index.forEach((i, r) => out.set(x.subarray(i * FEATURE_COUNT, (i + 1) * FEATURE_COUNT), r * FEATURE_COUNT));
    return out;
  };
  const trainRows: number[] = [];
  const valRows: number[] = [];
  labeled.forEach((m: LabeledMessage, i) => (hashUnit(m.decisionId) < 0.1 ? valRows : trainRows).push(i));

  // Fresh messages with final labels to judge the fitted rates.
  const hold = mulberry32(5);
  const fresh = Array.from({ length: 30_000 }, () => syntheticRow(hold, hold() < 0.5 ? 'sms' : 'push'));
  const freshY = fresh.map((r) => (hold() < truthProbability(truth.convert, r) ? 1 : 0));
  const freshX = new Float32Array(fresh.length * FEATURE_COUNT);
  fresh.forEach((r, i) => normaliseInto(r, mean, invStd, freshX, i * FEATURE_COUNT));

  const oe = (strategy: DelayedLabelStrategy): { oe: number; positives: number; instances: number } => {
    const tr = instancesFor('convert', labeled, trainRows, strategy, since, asOf);
    const va = instancesFor('convert', labeled, valRows, strategy, since, asOf);
    const fit = fitBinary({ x: gather(tr.index), y: Float32Array.from(tr.y) }, { x: gather(va.index), y: Float32Array.from(va.y) }, FEATURE_COUNT, { hidden: [], weighting: tr.weighting, seed: 4 });
    const p = Array.from(headLogits(fit.weights, freshX, fresh.length), sigmoid);
    return { oe: observedOverExpected(p, freshY), positives: tr.y.reduce((a, b) => a + b, 0), instances: tr.index.length };
  };
  const tensors = tf.memory().numTensors;
  const fnw = oe('fnw');
  const naive = oe('naive');
  assert.equal(tf.memory().numTensors, tensors, 'training left tensors behind');
  console.log(`conversion O/E on final labels: FNW ${fnw.oe.toFixed(3)} (${fnw.instances} instances, ${fnw.positives} positives), naive ${naive.oe.toFixed(3)} (${naive.instances}, ${naive.positives})`);
  assert.ok(Math.abs(fnw.oe - 1) <= 0.1, `FNW O/E ${fnw.oe}`);
  assert.ok(naive.oe > 1.15, `naive O/E ${naive.oe}: the test needs labels still in flight`);
});
