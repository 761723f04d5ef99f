/**
 * The model that ships with nudge (models/default, trained on the behavioural simulator by
 * scripts/train-default.ts), and a synchronous loader of a registry's latest version into the
 * hand-written forward pass. Synchronous and TF.js-free so that code which builds a topology
 * without awaiting anything (operators/topologies.ts) can still serve a learned model. The
 * forward pass gives the same numbers as TfjsScorer (test/models-scorer, test/models-sim); it is
 * faster below 32 rows per call and about 60% of wasm's speed above (models/BATCH-SIZE.md), so
 * cli/run.ts, which can await, serves TF.js.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Calibrator } from './calibration.js';
import type { FeatureSpecFile } from './feature-spec-file.js';
import { ForwardPassScorer, type ServingWeights } from './forward-pass.js';
import { HEADS, type Head } from './heads.js';
import type { DenseWeights, HeadWeights } from './mlp.js';
import { assertMatchesRunningSpec } from './model-inputs.js';

// The file names of registry.ts and fs-io-handler.ts, repeated because both modules import
// TF.js, which this loader must not load (test/models-sim checks the two agree).
export const VERSION_FILES = { manifest: 'manifest.json', spec: 'feature-spec.json', calibration: 'calibration.json', modelJson: 'model.json', weights: 'weights.bin' } as const;

/** The shipped registry: models/default at the package root (dist/models/ is two levels down). */
export const SHIPPED_REGISTRY = fileURLToPath(new URL('../../models/default', import.meta.url));

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
}

/** Newest complete version directory of a registry, synchronously; undefined when none. */
export function latestVersionDirSync(registryDir: string): string | undefined {
  if (!existsSync(registryDir)) return undefined;
  const names = readdirSync(registryDir)
    .filter((n) => !n.startsWith('.') && existsSync(join(registryDir, n, VERSION_FILES.manifest)))
    .sort();
  const last = names[names.length - 1];
  return last === undefined ? undefined : join(registryDir, last);
}

/** A version directory's weights, read from the TF.js files without TF.js. */
export function readServingWeightsSync(dir: string): ServingWeights {
  const modelJson = JSON.parse(readFileSync(join(dir, VERSION_FILES.modelJson), 'utf8')) as { weightsManifest: Array<{ weights: WeightSpec[] }> };
  const bin = readFileSync(join(dir, VERSION_FILES.weights));
  const data = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
  const tensors = new Map<string, { shape: number[]; values: Float32Array }>();
  let offset = 0;
  for (const spec of modelJson.weightsManifest.flatMap((g) => g.weights)) {
    if (spec.dtype !== 'float32') throw new Error(`${join(dir, VERSION_FILES.modelJson)}: weight ${spec.name} is ${spec.dtype}, expected float32`);
    const size = spec.shape.reduce((a, b) => a * b, 1);
    tensors.set(spec.name, { shape: spec.shape, values: data.subarray(offset, offset + size) });
    offset += size;
  }
  const heads = {} as Record<Head, HeadWeights>;
  for (const head of HEADS) {
    const layers: DenseWeights[] = [];
    // Layer names `<head>_<i>` (serving-model.ts); TF.js names weights `<layer>/kernel` and `/bias`.
    for (let i = 0; tensors.has(`${head}_${i}/kernel`); i++) {
      const k = tensors.get(`${head}_${i}/kernel`) as { shape: number[]; values: Float32Array };
      const b = tensors.get(`${head}_${i}/bias`);
      if (b === undefined || k.shape.length !== 2) throw new Error(`${dir}: layer ${head}_${i} is not a dense layer with bias`);
      layers.push({ inDim: k.shape[0] as number, outDim: k.shape[1] as number, kernel: k.values, bias: b.values });
    }
    if (layers.length === 0) throw new Error(`${dir}: no layers for head ${head}`);
    heads[head] = { layers };
  }
  const spec = JSON.parse(readFileSync(join(dir, VERSION_FILES.spec), 'utf8')) as FeatureSpecFile;
  const calibration = JSON.parse(readFileSync(join(dir, VERSION_FILES.calibration), 'utf8')) as Record<Head, Calibrator>;
  return { spec, heads, calibration };
}

/** The latest version of `registryDir` as a ForwardPassScorer, or undefined when it has none. */
export function forwardPassScorerSync(registryDir: string): ForwardPassScorer | undefined {
  const dir = latestVersionDirSync(registryDir);
  if (dir === undefined) return undefined;
  const weights = readServingWeightsSync(dir);
  assertMatchesRunningSpec(weights.spec);
  return new ForwardPassScorer(weights, dir.slice(dir.lastIndexOf('/') + 1));
}
