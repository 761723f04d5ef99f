/**
 * Post-hoc calibration of a head's probabilities, fitted on a held-out calibration split:
 *  - Platt scaling: p' = σ(a·logit(p) + b). Two parameters, so it is safe on small sets.
 *  - Isotonic regression (pool-adjacent-violators): any monotone map, so it needs thousands
 *    of samples not to overfit (notes/ml.md); `auto` uses it from 5,000 samples and 1,000
 *    positives.
 * Calibrators are plain JSON (calibration.json in the model directory) and are applied after
 * the model's sigmoid, in JS, per row.
 */

export type Calibrator =
  | { method: 'identity'; reason?: string }
  | { method: 'platt'; a: number; b: number }
  /** Piecewise-linear through (x[i], y[i]), x ascending, y non-decreasing; flat outside. */
  | { method: 'isotonic'; x: number[]; y: number[] };

export type CalibrationMethod = 'auto' | 'platt' | 'isotonic' | 'none';

export interface CalibrationOptions {
  method?: CalibrationMethod;
  /** `auto` picks isotonic from this many calibration samples (default 5,000). */
  isotonicMinSamples?: number;
  /**
   * ...and this many positives (default 1,000). A step function through few positives is noise,
   * and its flat steps tie scores: on a simulated click head with ~200 calibration positives,
   * isotonic sent every raw score under 0.003 (most rows) to exactly 0. The decision operator
   * ranks a user's send slots by these scores, so ties throw that ranking away; Platt keeps it.
   */
  isotonicMinPositives?: number;
}

/** Probabilities are kept inside [EPS, 1 − EPS] so a log loss downstream is always finite. */
const EPS = 1e-7;

function clampP(p: number): number {
  return p < EPS ? EPS : p > 1 - EPS ? 1 - EPS : p;
}

export function logit(p: number): number {
  const q = clampP(p);
  return Math.log(q / (1 - q));
}

export function sigmoid(z: number): number {
  // Two branches so neither exp overflows.
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/**
 * Platt's fit of (a, b) on scores s = logit(p), by Newton's method with backtracking, using
 * Platt's smoothed targets (N₊+1)/(N₊+2) and 1/(N₋+2) so that a separable calibration set
 * does not drive a to infinity (Platt 1999; Lin, Lin & Weng 2007 for the stable iteration).
 */
export function fitPlatt(p: ArrayLike<number>, y: ArrayLike<number>): { a: number; b: number } {
  const n = p.length;
  if (n !== y.length) throw new RangeError(`fitPlatt: ${n} probabilities, ${y.length} labels`);
  let pos = 0;
  for (let i = 0; i < n; i++) if ((y[i] as number) > 0.5) pos++;
  const neg = n - pos;
  const hi = (pos + 1) / (pos + 2);
  const lo = 1 / (neg + 2);
  const s = new Float64Array(n);
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    s[i] = logit(p[i] as number);
    t[i] = (y[i] as number) > 0.5 ? hi : lo;
  }
  const objective = (a: number, b: number): number => {
    let f = 0;
    for (let i = 0; i < n; i++) {
      const z = a * (s[i] as number) + b;
      // −[t·log σ(z) + (1−t)·log(1−σ(z))] = log(1+e^z) − t·z, computed without overflow.
      f += (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z))) - (t[i] as number) * z;
    }
    return f;
  };
  // Start from the identity map, which is where a well-trained model already is.
  let a = 1;
  let b = 0;
  let f = objective(a, b);
  for (let iter = 0; iter < 100; iter++) {
    let g1 = 0;
    let g2 = 0;
    let h11 = 1e-12;
    let h22 = 1e-12;
    let h21 = 0;
    for (let i = 0; i < n; i++) {
      const si = s[i] as number;
      const q = sigmoid(a * si + b);
      const d = q - (t[i] as number);
      const w = q * (1 - q);
      g1 += d * si;
      g2 += d;
      h11 += w * si * si;
      h22 += w;
      h21 += w * si;
    }
    if (Math.abs(g1) < 1e-9 * n && Math.abs(g2) < 1e-9 * n) break;
    const det = h11 * h22 - h21 * h21;
    if (!(det > 0)) break;
    const da = -(h22 * g1 - h21 * g2) / det;
    const db = -(-h21 * g1 + h11 * g2) / det;
    let step = 1;
    let improved = false;
    while (step > 1e-10) {
      const na = a + step * da;
      const nb = b + step * db;
      const nf = objective(na, nb);
      if (nf < f + 1e-4 * step * (g1 * da + g2 * db)) {
        a = na;
        b = nb;
        f = nf;
        improved = true;
        break;
      }
      step /= 2;
    }
    if (!improved) break;
  }
  return { a, b };
}

/**
 * Isotonic regression of y on p by pool-adjacent-violators, with optional sample weights.
 * Returns the knots of a non-decreasing piecewise-linear map: each pooled block contributes
 * its lowest and highest p at the block's mean y (as scikit-learn does), so between blocks the
 * map interpolates instead of jumping.
 */
export function fitIsotonic(p: ArrayLike<number>, y: ArrayLike<number>, weights?: ArrayLike<number>): { x: number[]; y: number[] } {
  const n = p.length;
  if (n !== y.length) throw new RangeError(`fitIsotonic: ${n} probabilities, ${y.length} labels`);
  if (n === 0) return { x: [], y: [] };
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => (p[i] as number) - (p[j] as number));
  // Blocks on a stack: weighted sum of y, total weight, lowest and highest p.
  const sumY: number[] = [];
  const sumW: number[] = [];
  const xLo: number[] = [];
  const xHi: number[] = [];
  for (const i of order) {
    const w = weights === undefined ? 1 : (weights[i] as number);
    if (!(w > 0)) continue;
    const xi = p[i] as number;
    const top = sumY.length - 1;
    // Equal p must get equal output: merge ties into the current block before checking order.
    if (top >= 0 && xHi[top] === xi) {
      sumY[top] = (sumY[top] as number) + w * (y[i] as number);
      sumW[top] = (sumW[top] as number) + w;
    } else {
      sumY.push(w * (y[i] as number));
      sumW.push(w);
      xLo.push(xi);
      xHi.push(xi);
    }
    // Pool while the last block's mean is below the previous one's.
    while (sumY.length > 1) {
      const k = sumY.length - 1;
      const mk = (sumY[k] as number) / (sumW[k] as number);
      const mp = (sumY[k - 1] as number) / (sumW[k - 1] as number);
      if (mp <= mk) break;
      sumY[k - 1] = (sumY[k - 1] as number) + (sumY[k] as number);
      sumW[k - 1] = (sumW[k - 1] as number) + (sumW[k] as number);
      xHi[k - 1] = xHi[k] as number;
      sumY.pop();
      sumW.pop();
      xLo.pop();
      xHi.pop();
    }
  }
  const xs: number[] = [];
  const ys: number[] = [];
  for (let k = 0; k < sumY.length; k++) {
    const m = (sumY[k] as number) / (sumW[k] as number);
    xs.push(xLo[k] as number);
    ys.push(m);
    if ((xHi[k] as number) > (xLo[k] as number)) {
      xs.push(xHi[k] as number);
      ys.push(m);
    }
  }
  return { x: xs, y: ys };
}

/** The calibrated probability of one raw probability. */
export function calibrate(c: Calibrator, p: number): number {
  switch (c.method) {
    case 'identity':
      return clampP(p);
    case 'platt':
      return clampP(sigmoid(c.a * logit(p) + c.b));
    case 'isotonic':
      return clampP(interpolate(c.x, c.y, p));
  }
}

/** Piecewise-linear interpolation through sorted knots, constant beyond the ends. */
function interpolate(xs: readonly number[], ys: readonly number[], v: number): number {
  const n = xs.length;
  if (n === 0) return v;
  if (v <= (xs[0] as number)) return ys[0] as number;
  if (v >= (xs[n - 1] as number)) return ys[n - 1] as number;
  // Largest i with xs[i] <= v.
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if ((xs[mid] as number) <= v) lo = mid;
    else hi = mid;
  }
  const x0 = xs[lo] as number;
  const x1 = xs[hi] as number;
  const y0 = ys[lo] as number;
  const y1 = ys[hi] as number;
  return x1 > x0 ? y0 + ((y1 - y0) * (v - x0)) / (x1 - x0) : y1;
}

/** Fits the calibrator `opts.method` asks for; `auto` = isotonic with enough data, else Platt. */
export function fitCalibrator(p: ArrayLike<number>, y: ArrayLike<number>, opts: CalibrationOptions = {}): Calibrator {
  const method = opts.method ?? 'auto';
  if (method === 'none') return { method: 'identity', reason: 'calibration disabled' };
  let pos = 0;
  for (let i = 0; i < y.length; i++) if ((y[i] as number) > 0.5) pos++;
  // Nothing to calibrate against: a map fitted to one class would send every score to 0 or 1.
  if (pos === 0 || pos === y.length) return { method: 'identity', reason: `calibration split has ${pos} positives of ${y.length}` };
  const minSamples = opts.isotonicMinSamples ?? 5000;
  const minPositives = opts.isotonicMinPositives ?? 1000;
  const isotonic = method === 'isotonic' || (method === 'auto' && y.length >= minSamples && pos >= minPositives);
  if (isotonic) return { method: 'isotonic', ...fitIsotonic(p, y) };
  return { method: 'platt', ...fitPlatt(p, y) };
}
