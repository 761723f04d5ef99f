/**
 * Feature drift by the population stability index (notes/ml.md):
 *   PSI = Σ_i (A_i − E_i)·ln(A_i / E_i)
 * over bins whose edges are the training data's deciles (stored in the model directory as
 * drift-baseline.json), E = training shares, A = live shares in the same bins.
 * < 0.1 stable, 0.1–0.25 watch, > 0.25 act.
 *
 * The accumulator is what the processor feeds per scored row: one binary search over at most
 * nine edges per feature and a counter increment, no allocation.
 */

export interface FeatureBaseline {
  name: string;
  /** Ascending, distinct inner edges; bin i holds edges[i−1] < x ≤ edges[i] (bin 0: x ≤ edges[0]). */
  edges: number[];
  /** Training share per bin (edges.length + 1 numbers summing to 1). */
  expected: number[];
}

export interface DriftBaseline {
  featureVersion: string;
  /** Training rows the edges were computed on. */
  n: number;
  features: FeatureBaseline[];
}

export type DriftLevel = 'stable' | 'watch' | 'act';

/** notes/ml.md thresholds. */
export const PSI_WATCH = 0.1;
export const PSI_ACT = 0.25;

/**
 * Empty bins would make ln(A/E) infinite; a share is floored at this (the usual 1e-4), so a
 * bin that vanished contributes a large but finite term.
 */
const SHARE_FLOOR = 1e-4;

export function driftLevel(psi: number): DriftLevel {
  return psi > PSI_ACT ? 'act' : psi >= PSI_WATCH ? 'watch' : 'stable';
}

/** Bin of x: the number of edges strictly below x (x ≤ edges[0] is bin 0). NaN goes to bin 0. */
export function binOf(edges: readonly number[], x: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x > (edges[mid] as number)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Distinct decile edges (10%, …, 90% quantiles) of a sample; fewer for features with repeated values. */
export function decileEdges(values: Float64Array | Float32Array | number[]): number[] {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  const edges: number[] = [];
  if (n === 0) return edges;
  for (let d = 1; d < 10; d++) {
    const v = sorted[Math.min(n - 1, Math.floor((d * n) / 10))] as number;
    // A one-hot or mostly-constant feature gives repeated quantiles: one edge each.
    if (Number.isFinite(v) && (edges.length === 0 || v > (edges[edges.length - 1] as number))) edges.push(v);
  }
  return edges;
}

function shares(counts: ArrayLike<number>, total: number): number[] {
  return Array.from({ length: counts.length }, (_, i) => (total > 0 ? (counts[i] as number) / total : 0));
}

/** PSI between expected and actual shares over the same bins. */
export function psi(expected: ArrayLike<number>, actual: ArrayLike<number>): number {
  if (expected.length !== actual.length) throw new RangeError(`psi: ${expected.length} expected bins, ${actual.length} actual`);
  let sum = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(SHARE_FLOOR, expected[i] as number);
    const a = Math.max(SHARE_FLOOR, actual[i] as number);
    sum += (a - e) * Math.log(a / e);
  }
  return sum;
}

/** Baseline of every feature from training rows (raw feature values, before normalisation). */
export function computeBaseline(rows: readonly Float32Array[], names: readonly string[], featureVersion: string): DriftBaseline {
  const d = names.length;
  const n = rows.length;
  const features: FeatureBaseline[] = [];
  const column = new Float64Array(n);
  for (let f = 0; f < d; f++) {
    for (let r = 0; r < n; r++) column[r] = (rows[r] as Float32Array)[f] as number;
    const edges = decileEdges(column);
    const counts = new Float64Array(edges.length + 1);
    for (let r = 0; r < n; r++) {
      const b = binOf(edges, column[r] as number);
      counts[b] = (counts[b] as number) + 1;
    }
    features.push({ name: names[f] as string, edges, expected: shares(counts, n) });
  }
  return { featureVersion, n, features };
}

export interface FeatureDrift {
  name: string;
  psi: number;
  level: DriftLevel;
}

/** Counts live rows per baseline bin; `snapshot()` turns them into PSI per feature. */
export class DriftAccumulator {
  readonly #baseline: DriftBaseline;
  readonly #counts: Float64Array[];
  #n = 0;

  constructor(baseline: DriftBaseline) {
    this.#baseline = baseline;
    this.#counts = baseline.features.map((f) => new Float64Array(f.edges.length + 1));
  }

  get count(): number {
    return this.#n;
  }

  /** One live feature vector (same feature order as the baseline). */
  add(row: ArrayLike<number>): void {
    const fs = this.#baseline.features;
    for (let f = 0; f < fs.length; f++) {
      const c = this.#counts[f] as Float64Array;
      const b = binOf((fs[f] as FeatureBaseline).edges, row[f] as number);
      c[b] = (c[b] as number) + 1;
    }
    this.#n++;
  }

  /** PSI per feature since the last reset; NaN before any row arrived. */
  snapshot(): FeatureDrift[] {
    return this.#baseline.features.map((f, i) => {
      const value = this.#n === 0 ? NaN : psi(f.expected, shares(this.#counts[i] as Float64Array, this.#n));
      return { name: f.name, psi: value, level: Number.isNaN(value) ? 'stable' : driftLevel(value) };
    });
  }

  /** Starts a new window (e.g. after each metrics export period). */
  reset(): void {
    for (const c of this.#counts) c.fill(0);
    this.#n = 0;
  }
}
