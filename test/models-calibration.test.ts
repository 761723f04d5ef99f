/** Platt and isotonic calibration: known answers, monotonicity, and ECE before and after. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { calibrate, fitCalibrator, fitIsotonic, fitPlatt, logit, sigmoid } from '../models/calibration.js';
import { ece } from '../models/metrics.js';
import { mulberry32, normal } from '../models/random.js';

test('Platt recovers a known sigmoid of the logit', () => {
  // Scores s ~ N(0, 1.5²); the model says σ(s) but the truth is σ(1.5·s − 0.7).
  const rng = mulberry32(1);
  const p: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < 20_000; i++) {
    const s = normal(rng) * 1.5;
    p.push(sigmoid(s));
    y.push(rng() < sigmoid(1.5 * s - 0.7) ? 1 : 0);
  }
  const { a, b } = fitPlatt(p, y);
  assert.ok(Math.abs(a - 1.5) < 0.08, `a = ${a}`);
  assert.ok(Math.abs(b + 0.7) < 0.08, `b = ${b}`);
  close(calibrate({ method: 'platt', a, b }, sigmoid(1)), sigmoid(a + b));
});

function close(x: number, y: number, tol = 1e-9): void {
  assert.ok(Math.abs(x - y) <= tol, `${x} vs ${y}`);
}

test('Platt of an already calibrated model stays near the identity', () => {
  const rng = mulberry32(2);
  const p: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < 20_000; i++) {
    const q = sigmoid(normal(rng) * 2 - 1);
    p.push(q);
    y.push(rng() < q ? 1 : 0);
  }
  const { a, b } = fitPlatt(p, y);
  assert.ok(Math.abs(a - 1) < 0.06 && Math.abs(b) < 0.06, `a = ${a}, b = ${b}`);
});

test('isotonic: pool-adjacent-violators by hand', () => {
  // (0.1, 0), (0.2, 1), (0.3, 0), (0.4, 1): the middle two violate order and pool to ½.
  assert.deepEqual(fitIsotonic([0.3, 0.1, 0.4, 0.2], [0, 0, 1, 1]), { x: [0.1, 0.2, 0.3, 0.4], y: [0, 0.5, 0.5, 1] });
  // Ties in p get one value: (0.5: 1, 0) pooled to ½ before anything else.
  assert.deepEqual(fitIsotonic([0.5, 0.5, 0.9], [1, 0, 1]), { x: [0.5, 0.9], y: [0.5, 1] });
  // Interpolates between knots, flat outside.
  const c = { method: 'isotonic' as const, x: [0.2, 0.4], y: [0.1, 0.3] };
  close(calibrate(c, 0.3), 0.2);
  close(calibrate(c, 0.05), 0.1);
  close(calibrate(c, 0.9), 0.3);
});

test('isotonic is monotone and cuts ECE of a miscalibrated model', () => {
  // True probability q ~ U(0,1); the model reports q² (under-confident for low q... a bent curve).
  const rng = mulberry32(3);
  const draw = (n: number) => {
    const p: number[] = [];
    const y: number[] = [];
    for (let i = 0; i < n; i++) {
      const q = rng();
      p.push(q * q);
      y.push(rng() < q ? 1 : 0);
    }
    return { p, y };
  };
  const cal = draw(10_000);
  const c = fitCalibrator(cal.p, cal.y);
  assert.equal(c.method, 'isotonic', 'auto picks isotonic from 5,000 samples and 1,000 positives');
  let prev = -Infinity;
  for (let v = 0; v <= 1; v += 0.001) {
    const out = calibrate(c, v);
    assert.ok(out >= prev - 1e-12, `not monotone at ${v}`);
    prev = out;
  }
  const test = draw(20_000);
  const before = ece(test.p, test.y);
  const after = ece(test.p.map((v) => calibrate(c, v)), test.y);
  assert.ok(before > 0.1, `before ${before}`);
  assert.ok(after < 0.02 && after < before / 5, `ECE ${before} → ${after}`);
});

test('auto uses Platt for small or positive-poor sets and identity without both classes', () => {
  const rng = mulberry32(4);
  const p = Array.from({ length: 1000 }, () => rng());
  const y = p.map((q) => (rng() < q ? 1 : 0));
  assert.equal(fitCalibrator(p, y).method, 'platt');
  const rare = Array.from({ length: 6000 }, (_, i) => (i < 20 ? 1 : 0));
  assert.equal(fitCalibrator(Array.from({ length: 6000 }, () => 0.01), rare).method, 'platt');
  // 600 positives in 6,000: enough samples, too few positives for isotonic's steps not to tie scores.
  const some = Array.from({ length: 6000 }, (_, i) => (i % 10 === 0 ? 1 : 0));
  assert.equal(fitCalibrator(Array.from({ length: 6000 }, (_, i) => (i % 97) / 100), some).method, 'platt');
  assert.equal(fitCalibrator([0.1, 0.2], [0, 0]).method, 'identity');
  assert.equal(fitCalibrator(p, y, { method: 'none' }).method, 'identity');
  close(logit(sigmoid(2.5)), 2.5, 1e-9);
  // Clamped: never exactly 0 or 1, so log loss stays finite.
  assert.ok(calibrate({ method: 'identity' }, 0) > 0 && calibrate({ method: 'identity' }, 1) < 1);
});
