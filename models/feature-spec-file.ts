/**
 * feature-spec.json: which features a model was trained on, in which order, and how each was
 * normalised ((x − mean)/std, from the training split). Serving refuses a model whose spec is
 * not the running FEATURE_SPEC (same version, same names in the same order): a model scoring
 * vectors built by another feature version would read every feature at the wrong meaning
 * (model-inputs.ts checks it, together with the derived inputs).
 */
import type { ConvertHead } from './heads.js';

export interface FeatureSpecFile {
  /** FEATURE_SPEC.version the rows were built with ('f1', …). */
  version: string;
  /** INPUTS_VERSION of the derived inputs appended to the vector (model-inputs.ts); absent: none. */
  inputs?: string;
  /** What the convert output means (heads.ts ConvertHead); absent: 'joint'. */
  convertHead?: ConvertHead;
  names: string[];
  mean: number[];
  std: number[];
}

/** Below this a feature is treated as constant: dividing by ~0 would turn float noise into huge inputs. */
const MIN_STD = 1e-6;

/** Mean and standard deviation per feature over the given rows (float64 sums). */
export function fitNormalisation(rows: readonly ArrayLike<number>[], names: readonly string[], version: string, inputs?: string): FeatureSpecFile {
  const d = names.length;
  const sum = new Float64Array(d);
  const sumSq = new Float64Array(d);
  for (const row of rows) {
    if (row.length !== d) throw new RangeError(`row has ${row.length} features, spec has ${d}`);
    for (let f = 0; f < d; f++) {
      const x = row[f] as number;
      const v = Number.isFinite(x) ? x : 0;
      sum[f] = (sum[f] as number) + v;
      sumSq[f] = (sumSq[f] as number) + v * v;
    }
  }
  const n = Math.max(1, rows.length);
  const mean: number[] = [];
  const std: number[] = [];
  for (let f = 0; f < d; f++) {
    const m = (sum[f] as number) / n;
    const variance = Math.max(0, (sumSq[f] as number) / n - m * m);
    mean.push(m);
    std.push(Math.sqrt(variance) < MIN_STD ? 1 : Math.sqrt(variance));
  }
  return { version, ...(inputs !== undefined ? { inputs } : {}), names: [...names], mean, std };
}

/**
 * Normalises `row` into out[offset .. offset+d). A non-finite input becomes the training mean
 * (0 after normalisation): the least surprising value for a feature that could not be computed.
 */
export function normaliseInto(row: ArrayLike<number>, mean: Float32Array, invStd: Float32Array, out: Float32Array, offset: number): void {
  const d = mean.length;
  for (let f = 0; f < d; f++) {
    const x = row[f] as number;
    out[offset + f] = Number.isFinite(x) ? (x - (mean[f] as number)) * (invStd[f] as number) : 0;
  }
}
