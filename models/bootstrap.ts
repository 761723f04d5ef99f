/**
 * Percentile bootstrap confidence intervals: resample the n observations with replacement,
 * recompute the statistic, take the α/2 and 1−α/2 quantiles. Seeded, so a report and a test
 * get the same interval on every run.
 */
import { mulberry32 } from './random.js';

export interface Interval {
  lo: number;
  hi: number;
}

export interface BootstrapOptions {
  /** Resamples (default 1,000). */
  resamples?: number;
  /** 1 − confidence (default 0.05 for a 95% interval). */
  alpha?: number;
  seed?: number;
}

/** Quantile of sorted values by linear interpolation (type 7, R's and NumPy's default). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return (sorted[lo] as number) + (h - lo) * ((sorted[hi] as number) - (sorted[lo] as number));
}

/**
 * `stat` receives the resampled indices (a fresh array of length n each time) and returns the
 * statistic; non-finite results (e.g. SNIPS of a resample with no weight) are dropped.
 */
export function bootstrapInterval(n: number, stat: (indices: Uint32Array) => number, opts: BootstrapOptions = {}): Interval {
  const resamples = opts.resamples ?? 1000;
  const alpha = opts.alpha ?? 0.05;
  const rng = mulberry32(opts.seed ?? 1);
  if (n === 0) return { lo: NaN, hi: NaN };
  const values: number[] = [];
  const idx = new Uint32Array(n);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) idx[i] = Math.floor(rng() * n);
    const v = stat(idx);
    if (Number.isFinite(v)) values.push(v);
  }
  values.sort((a, b) => a - b);
  return { lo: quantile(values, alpha / 2), hi: quantile(values, 1 - alpha / 2) };
}
