/**
 * The serving model's forward pass by hand, over Float32Array weights: encode (model-inputs.ts), dense+relu
 * layers, logit, sigmoid, calibration. Two uses: the reference the TF.js scorer is checked
 * against numerically (test/models-scorer), and the speed limit a TF.js backend is measured
 * against (models/bench-batch). Accumulates in float64, so it is the more exact of the two.
 */
import type { Scorer, Scores } from '../operators/decisions/scorer.js';
import { calibrate, sigmoid, type Calibrator } from './calibration.js';
import type { FeatureSpecFile } from './feature-spec-file.js';
import { convertProbability, HEADS, type Head } from './heads.js';
import type { HeadWeights } from './mlp.js';
import { RowEncoder } from './model-inputs.js';

/** Everything needed to score: what a model directory holds, as plain arrays. */
export interface ServingWeights {
  spec: FeatureSpecFile;
  heads: Record<Head, HeadWeights>;
  calibration: Record<Head, Calibrator>;
}

function widest(head: HeadWeights): number {
  return head.layers.reduce((m, l) => Math.max(m, l.outDim, l.inDim), 0);
}

/** Logit of one normalised row x[offset .. offset+inDim) through one head. */
export function headLogit(head: HeadWeights, x: Float32Array, offset: number, a: Float64Array, b: Float64Array): number {
  let input: Float64Array | null = null;
  let out = a;
  const last = head.layers.length - 1;
  for (let l = 0; l <= last; l++) {
    const { inDim, outDim, kernel, bias } = head.layers[l] as HeadWeights['layers'][number];
    for (let j = 0; j < outDim; j++) out[j] = bias[j] as number;
    for (let i = 0; i < inDim; i++) {
      const xi = input === null ? (x[offset + i] as number) : (input[i] as number);
      if (xi === 0) continue;
      const row = i * outDim;
      for (let j = 0; j < outDim; j++) out[j] = (out[j] as number) + xi * (kernel[row + j] as number);
    }
    if (l < last) for (let j = 0; j < outDim; j++) if ((out[j] as number) < 0) out[j] = 0;
    input = out;
    out = out === a ? b : a;
  }
  return (input as Float64Array)[0] as number;
}

/** Logits of n normalised rows (row-major n×inDim) through one head. */
export function headLogits(head: HeadWeights, x: Float32Array, n: number): Float64Array {
  const w = widest(head);
  const a = new Float64Array(w);
  const b = new Float64Array(w);
  const inDim = (head.layers[0] as HeadWeights['layers'][number]).inDim;
  const out = new Float64Array(n);
  for (let r = 0; r < n; r++) out[r] = headLogit(head, x, r * inDim, a, b);
  return out;
}

/** The reference scorer: same contract and same numbers (to float32 rounding) as TfjsScorer. */
export class ForwardPassScorer implements Scorer {
  readonly version: string;
  readonly featureVersion: string;
  readonly #w: ServingWeights;
  readonly #encoder: RowEncoder;
  readonly #a: Float64Array;
  readonly #b: Float64Array;
  readonly #row: Float32Array;

  constructor(weights: ServingWeights, version = 'forward-pass') {
    this.#w = weights;
    this.version = version;
    this.featureVersion = weights.spec.version;
    this.#encoder = new RowEncoder(weights.spec);
    const w = Math.max(...HEADS.map((h) => widest(weights.heads[h])));
    this.#a = new Float64Array(w);
    this.#b = new Float64Array(w);
    this.#row = new Float32Array(this.#encoder.inputDim);
  }

  /** Uncalibrated logits per head, for the numerical comparison with TF.js. */
  logits(row: Float32Array): Record<Head, number> {
    this.#encoder.encodeInto(row, this.#row, 0);
    const out = { click: 0, convert: 0, unsubscribe: 0 };
    for (const h of HEADS) out[h] = headLogit(this.#w.heads[h], this.#row, 0, this.#a, this.#b);
    return out;
  }

  scoreOne(row: Float32Array): Scores {
    if (row.length !== this.#encoder.rowDim) throw new RangeError(`row has ${row.length} features, model has ${this.#encoder.rowDim}`);
    const z = this.logits(row);
    const click = calibrate(this.#w.calibration.click, sigmoid(z.click));
    return {
      click,
      convert: convertProbability(this.#w.spec.convertHead, click, calibrate(this.#w.calibration.convert, sigmoid(z.convert))),
      unsubscribe: calibrate(this.#w.calibration.unsubscribe, sigmoid(z.unsubscribe)),
    };
  }

  async score(rows: readonly Float32Array[]): Promise<Scores[]> {
    return rows.map((r) => this.scoreOne(r));
  }
}
