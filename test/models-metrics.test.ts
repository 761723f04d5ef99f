/**
 * Evaluation metrics against values computed by hand (the arithmetic is in the comments), plus
 * statistical checks of the drift and off-policy estimators on data with a known answer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auc, classificationReport, ece, logLoss, observedOverExpected } from '../models/metrics.js';
import { averageTreatmentEffect, qiniCoefficient, qiniCurve, upliftAt } from '../models/uplift-metrics.js';
import { doublyRobust, ips, offPolicyReport, snips, type LoggedSample } from '../models/off-policy.js';
import { bootstrapInterval, quantile } from '../models/bootstrap.js';
import { binOf, computeBaseline, decileEdges, DriftAccumulator, driftLevel, psi } from '../models/drift.js';
import { evaluateArmPolicy, evaluateRows } from '../models/evaluate.js';
import { mulberry32, normal } from '../models/random.js';

function close(actual: number, expected: number, tol = 1e-9, what = ''): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what} ${actual} differs from ${expected} by more than ${tol}`);
}

test('AUC: the textbook example and a tie counted as one half', () => {
  // Positives 0.35, 0.8; negatives 0.1, 0.4: pairs won 0.35>0.1, 0.8>0.1, 0.8>0.4 → 3/4.
  close(auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.75);
  // Positives 0.5, 0.8; negatives 0.5, 0.2: 0.5=0.5 (½), 0.5>0.2, 0.8>0.5, 0.8>0.2 → 3.5/4.
  close(auc([0.5, 0.5, 0.2, 0.8], [1, 0, 0, 1]), 0.875);
  // All tied: no ranking information → ½.
  close(auc([0.3, 0.3, 0.3], [1, 0, 1]), 0.5);
  assert.ok(Number.isNaN(auc([0.1, 0.2], [1, 1])), 'one class only has no AUC');
});

test('log loss, ECE (15 bins) and O/E', () => {
  // −(ln 0.9 + ln 0.8)/2 = (0.10536052 + 0.22314355)/2.
  close(logLoss([0.9, 0.2], [1, 0]), 0.164252035, 1e-8);
  // 0.1 → bin 1 (mean y ½, mean p 0.1, weight ½): 0.2; 0.9 → bin 13 (1 vs 0.9, weight ½): 0.05.
  close(ece([0.1, 0.1, 0.9, 0.9], [0, 1, 1, 1]), 0.25, 1e-12);
  // p = 1 lands in the last bin, not out of range.
  close(ece([1, 1], [1, 1]), 0, 1e-12);
  // 3 observed, 2.0 expected.
  close(observedOverExpected([0.1, 0.1, 0.9, 0.9], [0, 1, 1, 1]), 1.5, 1e-12);
  const r = classificationReport([0.1, 0.1, 0.9, 0.9], [0, 1, 1, 1]);
  assert.equal(r.n, 4);
  assert.equal(r.positives, 3);
  close(r.meanP, 0.5, 1e-12);
});

test('Qini curve, coefficient and uplift@k on a six-user example', () => {
  const s = { score: [0.9, 0.8, 0.7, 0.6, 0.5, 0.4], treated: [1, 0, 1, 0, 1, 0], outcome: [1, 0, 1, 1, 0, 0] };
  // Q(k) = Y_t − Y_c·N_t/N_c: 1 (no controls yet), 1, 2, 2 − 1·2/2 = 1, 2 − 1·3/2 = 0.5, 2 − 1·3/3 = 1.
  assert.deepEqual(qiniCurve(s).map((p) => p.q), [0, 1, 1, 2, 1, 0.5, 1]);
  // Minus the random line k/6·Q(6): 0, 5/6, 4/6, 9/6, 2/6, −2/6, 0; trapezoids of width 1/6 sum to
  // (1/6)·(5 + 9 + 13 + 11 + 0 − 2)/12 = 0.5 incremental responders; per user: 0.5/6.
  close(qiniCoefficient(s), 0.5 / 6, 1e-12);
  // Top half: treated 0.9 (1) and 0.7 (1), control 0.8 (0): 1 − 0.
  const top = upliftAt(s, 0.5);
  assert.equal(top.n, 3);
  close(top.uplift, 1, 1e-12);
  // Everyone: treated 2/3, control 1/3.
  close(averageTreatmentEffect(s), 1 / 3, 1e-12);
  // The same ranking reversed is worse than random.
  assert.ok(qiniCoefficient({ ...s, score: s.score.map((x) => -x) }) < 0);
});

test('Qini with tied scores does not depend on input order', () => {
  const rng = mulberry32(5);
  const n = 400;
  const score = Array.from({ length: n }, () => Math.floor(rng() * 5));
  const treated = Array.from({ length: n }, () => (rng() < 0.5 ? 1 : 0));
  const outcome = Array.from({ length: n }, () => (rng() < 0.3 ? 1 : 0));
  const q1 = qiniCoefficient({ score, treated, outcome });
  const order = Array.from({ length: n }, (_, i) => n - 1 - i);
  const q2 = qiniCoefficient({ score: order.map((i) => score[i] as number), treated: order.map((i) => treated[i] as number), outcome: order.map((i) => outcome[i] as number) });
  close(q1, q2, 1e-12, 'reordered ties');
  // One tie group: the curve is the random line itself.
  close(qiniCoefficient({ score: score.map(() => 1), treated, outcome }), 0, 1e-12);
});

test('IPS, SNIPS and DR on four hand-made logged decisions', () => {
  const samples: LoggedSample[] = [
    { reward: 1, propensity: 0.5, target: 1, qLogged: 0.5, qTarget: 0.6 },
    { reward: 0, propensity: 0.5, target: 1, qLogged: 0.5, qTarget: 0.6 },
    { reward: 1, propensity: 0.25, target: 0, qLogged: 0.5, qTarget: 0.2 },
    { reward: 1, propensity: 0.8, target: 0.4, qLogged: 0.5, qTarget: 0.3 },
  ];
  // w = 2, 2, 0, 0.5; Σw·r = 2.5; Σw = 4.5.
  close(ips(samples), 2.5 / 4, 1e-12);
  close(snips(samples), 2.5 / 4.5, 1e-12);
  // 0.6 + 2·0.5 = 1.6; 0.6 − 2·0.5 = −0.4; 0.2 + 0 = 0.2; 0.3 + 0.5·0.5 = 0.55 → 1.95/4.
  close(doublyRobust(samples), 1.95 / 4, 1e-12);
  assert.throws(() => ips([{ reward: 1, propensity: 0, target: 1 }]), /propensity/);
});

test('bootstrap quantiles and a known interval', () => {
  close(quantile([1, 2, 3, 4], 0.5), 2.5, 1e-12);
  close(quantile([1, 2, 3, 4], 0), 1, 1e-12);
  // Mean of 2,000 N(0,1): the 95% interval is about ±1.96/√2000 = ±0.044 around the sample mean.
  const rng = mulberry32(11);
  const x = Array.from({ length: 2000 }, () => normal(rng));
  const mean = (idx: Uint32Array) => {
    let s = 0;
    for (const i of idx) s += x[i] as number;
    return s / idx.length;
  };
  const all = mean(Uint32Array.from(x.keys()));
  const ci = bootstrapInterval(x.length, mean, { resamples: 500, seed: 3 });
  assert.ok(ci.lo < all && all < ci.hi);
  close(ci.hi - ci.lo, (2 * 1.96) / Math.sqrt(2000), 0.015, 'interval width');
});

test('IPS and SNIPS recover a known policy value within their bootstrap intervals', () => {
  // Contexts x ~ U(0,1); logging policy sends with π_b(send|x) = 0.2 + 0.6x; reward
  // P(r=1 | x, send) = 0.1 + 0.5x, P(r=1 | x, no send) = 0.1. Target policy: send iff x > 0.5.
  // True value: ∫₀^½ 0.1 dx + ∫½^1 (0.1 + 0.5x) dx = 0.05 + 0.05 + 0.25·(1 − ¼) = 0.2875.
  const rng = mulberry32(21);
  const samples: LoggedSample[] = [];
  for (let i = 0; i < 10_000; i++) {
    const x = rng();
    const pSend = 0.2 + 0.6 * x;
    const send = rng() < pSend;
    const pr = send ? 0.1 + 0.5 * x : 0.1;
    const reward = rng() < pr ? 1 : 0;
    const targetSends = x > 0.5;
    samples.push({ reward, propensity: send ? pSend : 1 - pSend, target: send === targetSends ? 1 : 0, qLogged: pr, qTarget: targetSends ? 0.1 + 0.5 * x : 0.1 });
  }
  const truth = 0.2875;
  const r = offPolicyReport(samples, { resamples: 200, seed: 2 });
  for (const [name, e] of [['IPS', r.ips], ['SNIPS', r.snips], ['DR', r.dr]] as const) {
    assert.ok(e !== undefined);
    assert.ok(e.lo <= truth && truth <= e.hi, `${name} ${e.value.toFixed(4)} [${e.lo.toFixed(4)}, ${e.hi.toFixed(4)}] misses ${truth}`);
  }
  // A correct reward model makes DR's interval the narrowest.
  assert.ok(r.dr !== undefined && r.dr.hi - r.dr.lo < r.ips.hi - r.ips.lo);
  assert.ok(r.effectiveSampleSize > 0 && r.effectiveSampleSize < r.n);
});

test('evaluateArmPolicy values "everyone gets arm A" from a 90/10 experiment', () => {
  const rng = mulberry32(4);
  const decisions = Array.from({ length: 20_000 }, () => {
    const arm = rng() < 0.9 ? 'model' : 'blast';
    const reward = rng() < (arm === 'model' ? 0.05 : 0.08) ? 1 : 0;
    return { arm, propensity: arm === 'model' ? 0.9 : 0.1, reward };
  });
  const r = evaluateArmPolicy(decisions, { blast: 1 }, { resamples: 300 });
  assert.ok(r.snips.lo <= 0.08 && 0.08 <= r.snips.hi, `SNIPS ${JSON.stringify(r.snips)}`);
});

test('PSI: hand value, deciles, and the stable / act thresholds', () => {
  // 0.25·ln 2 + 0.25·ln 1.5.
  close(psi([0.5, 0.5], [0.25, 0.75]), 0.25 * Math.log(2) + 0.25 * Math.log(1.5), 1e-12);
  assert.equal(driftLevel(0.05), 'stable');
  assert.equal(driftLevel(0.1), 'watch');
  assert.equal(driftLevel(0.3), 'act');
  // A 70/30 binary feature: edges 0 and 1; 0 → bin 0, 1 → bin 1.
  const binary = [...new Array<number>(70).fill(0), ...new Array<number>(30).fill(1)];
  assert.deepEqual(decileEdges(binary), [0, 1]);
  assert.equal(binOf([0, 1], 0), 0);
  assert.equal(binOf([0, 1], 1), 1);
  assert.equal(binOf([0, 1], 2), 2);

  const rng = mulberry32(8);
  const draw = (n: number, shift: number) => Array.from({ length: n }, () => Float32Array.of(normal(rng) + shift, rng() < 0.3 ? 1 : 0));
  const baseline = computeBaseline(draw(20_000, 0), ['x', 'flag'], 'f1');
  assert.equal(baseline.features[0]?.edges.length, 9);
  const same = new DriftAccumulator(baseline);
  for (const row of draw(20_000, 0)) same.add(row);
  for (const f of same.snapshot()) assert.ok(f.psi < 0.01, `${f.name}: PSI ${f.psi} for the same distribution`);
  const shifted = new DriftAccumulator(baseline);
  for (const row of draw(20_000, 1)) shifted.add(row);
  const [x, flag] = shifted.snapshot();
  assert.ok(x !== undefined && x.psi > 0.25 && x.level === 'act', `shifted PSI ${x?.psi}`);
  assert.ok(flag !== undefined && flag.psi < 0.01);
  shifted.reset();
  assert.equal(shifted.count, 0);
  assert.ok(Number.isNaN(shifted.snapshot()[0]?.psi ?? 0));
});

test('evaluateRows groups by channel and skips heads without labels', () => {
  const rows = [
    { p: { click: 0.9, convert: 0.1, unsubscribe: 0.01 }, y: { click: 1 }, groups: { channel: 'sms' } },
    { p: { click: 0.2, convert: 0.1, unsubscribe: 0.01 }, y: { click: 0 }, groups: { channel: 'sms' } },
    { p: { click: 0.6, convert: 0.1, unsubscribe: 0.01 }, y: { click: 1 }, groups: { channel: 'push' } },
  ];
  const r = evaluateRows(rows);
  assert.equal(r.convert, null);
  assert.equal(r.click?.overall.n, 3);
  assert.equal(r.click?.byGroup['channel']?.['sms']?.n, 2);
  close(r.click?.byGroup['channel']?.['sms']?.auc ?? NaN, 1, 1e-12);
});
