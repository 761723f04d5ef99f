import * as tf from '@tensorflow/tfjs';
import { FEATURE_COUNT, FEATURE_SPEC } from '../../operators/decisions/feature-vector.js';
import type { Calibrator } from '../../models/calibration.js';
import { computeBaseline } from '../../models/drift.js';
import { fitNormalisation } from '../../models/feature-spec-file.js';
import type { Head } from '../../models/heads.js';
import type { HeadWeights } from '../../models/mlp.js';
import { expandRow, INPUT_COUNT, INPUT_NAMES, INPUTS_VERSION } from '../../models/model-inputs.js';
import { mulberry32, normal, type Rng } from '../../models/random.js';
import type { SaveModelInput } from '../../models/registry.js';
import { syntheticRow } from '../../models/synthetic.js';

/** Small random models and rows for tests of the model files and the scorers. */
export function randomHead(rng: Rng, sizes: number[]): HeadWeights {
  const layers = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const inDim = sizes[l] as number;
    const outDim = sizes[l + 1] as number;
    layers.push({
      inDim,
      outDim,
      kernel: Float32Array.from({ length: inDim * outDim }, () => normal(rng) * Math.sqrt(2 / inDim)),
      bias: Float32Array.from({ length: outDim }, () => normal(rng) * 0.1),
    });
  }
  return { layers };
}

export function rows(rng: Rng, n: number): Float32Array[] {
  return Array.from({ length: n }, () => {
    const r = syntheticRow(rng, rng() < 0.5 ? 'sms' : 'push');
    // Raw-scale features (not standardised) so normalisation matters.
    for (let f = 0; f < 15; f++) r[f] = Math.abs(r[f] as number) * 3;
    return r;
  });
}

/** A random model over the logged vector, or over it and the derived inputs of model-inputs.ts. */
export function modelInput(seed: number, createdAt: number, calibration?: Record<Head, Calibrator>, derived = false): SaveModelInput {
  const rng = mulberry32(seed);
  const train = rows(rng, 2000);
  const d = derived ? INPUT_COUNT : FEATURE_COUNT;
  return {
    heads: { click: randomHead(rng, [d, 32, 16, 1]), convert: randomHead(rng, [d, 32, 16, 1]), unsubscribe: randomHead(rng, [d, 8, 1]) },
    spec: derived
      ? fitNormalisation(train.map(expandRow), INPUT_NAMES, FEATURE_SPEC.version, INPUTS_VERSION)
      : fitNormalisation(train, FEATURE_SPEC.names, FEATURE_SPEC.version),
    calibration: calibration ?? {
      click: { method: 'platt', a: 0.9, b: -0.3 },
      convert: { method: 'isotonic', x: [0.01, 0.2, 0.5, 0.9], y: [0.005, 0.1, 0.3, 0.6] },
      unsubscribe: { method: 'identity' },
    },
    metrics: { note: 'test' },
    trainingData: { note: 'test' },
    driftBaseline: computeBaseline(train, FEATURE_SPEC.names, FEATURE_SPEC.version),
    createdAt,
    tfjsVersion: tf.version.tfjs,
  };
}

