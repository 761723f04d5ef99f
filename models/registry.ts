/**
 * The model registry: one directory per model version under a registry directory.
 *
 *   <registry>/<version>/
 *     model.json, weights.bin   serving graph (TF.js layers format, fs-io-handler.ts)
 *     feature-spec.json         feature names, order, normalisation, FEATURE_SPEC.version
 *     calibration.json          per head: identity | platt {a, b} | isotonic {x, y}
 *     metrics.json              held-out evaluation (evaluate.ts)
 *     training-data.json        what the model was trained on (train.ts)
 *     drift-baseline.json       decile edges and shares per feature (drift.ts)
 *     manifest.json             version, creation time, architecture; written last
 *
 * Versions are `<UTC yyyymmddThhmmssZ>-<content hash>`, so lexicographic order is time order
 * and the latest is the greatest name. A version is written to a hidden temporary directory
 * and renamed into place, so a reader never sees a half-written model.
 */
import { createHash, randomBytes } from 'node:crypto';
import { access, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { loadLayersModel } from '@tensorflow/tfjs';
import type { Calibrator } from './calibration.js';
import type { DriftBaseline } from './drift.js';
import type { FeatureSpecFile } from './feature-spec-file.js';
import type { ServingWeights } from './forward-pass.js';
import { fsHandler } from './fs-io-handler.js';
import { HEADS, type Head } from './heads.js';
import type { HeadWeights } from './mlp.js';
import { buildServingModel, extractHeads } from './serving-model.js';

export const FILES = {
  manifest: 'manifest.json',
  spec: 'feature-spec.json',
  calibration: 'calibration.json',
  metrics: 'metrics.json',
  trainingData: 'training-data.json',
  driftBaseline: 'drift-baseline.json',
} as const;

export interface ModelManifest {
  version: string;
  /** Epoch ms the model was made (the trainer's injected clock). */
  createdAt: number;
  featureVersion: string;
  heads: Head[];
  /** Hidden layer sizes per head ([] = logistic regression). */
  hidden: Record<Head, number[]>;
  tfjsVersion: string;
}

export interface SaveModelInput<M = unknown, T = unknown> {
  heads: Record<Head, HeadWeights>;
  spec: FeatureSpecFile;
  calibration: Record<Head, Calibrator>;
  metrics: M;
  trainingData: T;
  driftBaseline: DriftBaseline;
  createdAt: number;
  tfjsVersion: string;
}

export interface LoadedModel<M = unknown, T = unknown> {
  version: string;
  dir: string;
  manifest: ModelManifest;
  /** The TF.js serving graph; dispose() it when the model is retired. */
  model: tf.LayersModel;
  weights: ServingWeights;
  metrics: M;
  trainingData: T;
  driftBaseline: DriftBaseline;
}

function compactUtc(ms: number): string {
  // 2026-11-21T09:34:00.000Z → 20261121T093400Z
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

function contentHash(input: SaveModelInput): string {
  const h = createHash('sha256');
  for (const head of HEADS) {
    for (const l of input.heads[head].layers) {
      h.update(Buffer.from(l.kernel.buffer, l.kernel.byteOffset, l.kernel.byteLength));
      h.update(Buffer.from(l.bias.buffer, l.bias.byteOffset, l.bias.byteLength));
    }
  }
  h.update(JSON.stringify(input.spec));
  h.update(JSON.stringify(input.calibration));
  return h.digest('hex').slice(0, 10);
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function writeJson(dir: string, name: string, value: unknown): Promise<void> {
  // NaN metrics (undefined AUC of a label with no positives) are written as null by JSON.
  await writeFile(join(dir, name), `${JSON.stringify(value, null, 2)}\n`);
}

async function readJson<T>(dir: string, name: string): Promise<T> {
  return JSON.parse(await readFile(join(dir, name), 'utf8')) as T;
}

/** Writes a new version into the registry and returns it. */
export async function saveModel<M, T>(registryDir: string, input: SaveModelInput<M, T>): Promise<{ version: string; dir: string }> {
  const version = `${compactUtc(input.createdAt)}-${contentHash(input)}`;
  const dir = join(registryDir, version);
  await mkdir(registryDir, { recursive: true });
  // Same time and same content is the same model: saving it twice is a no-op.
  if (await exists(join(dir, FILES.manifest))) return { version, dir };
  const tmp = join(registryDir, `.tmp-${version}-${randomBytes(4).toString('hex')}`);
  await mkdir(tmp);
  try {
    const model = buildServingModel(input.heads);
    try {
      await model.save(fsHandler(tmp));
    } finally {
      model.dispose();
    }
    await writeJson(tmp, FILES.spec, input.spec);
    await writeJson(tmp, FILES.calibration, input.calibration);
    await writeJson(tmp, FILES.metrics, input.metrics);
    await writeJson(tmp, FILES.trainingData, input.trainingData);
    await writeJson(tmp, FILES.driftBaseline, input.driftBaseline);
    const manifest: ModelManifest = {
      version,
      createdAt: input.createdAt,
      featureVersion: input.spec.version,
      heads: [...HEADS],
      hidden: Object.fromEntries(HEADS.map((h) => [h, input.heads[h].layers.slice(0, -1).map((l) => l.outDim)])) as Record<Head, number[]>,
      tfjsVersion: input.tfjsVersion,
    };
    await writeJson(tmp, FILES.manifest, manifest);
    await rename(tmp, dir);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  return { version, dir };
}

/** Loads one model directory. Does not check the feature spec against this build (the scorer does). */
export async function loadModel<M = unknown, T = unknown>(dir: string): Promise<LoadedModel<M, T>> {
  const manifest = await readJson<ModelManifest>(dir, FILES.manifest);
  const spec = await readJson<FeatureSpecFile>(dir, FILES.spec);
  const calibration = await readJson<Record<Head, Calibrator>>(dir, FILES.calibration);
  for (const h of HEADS) if (calibration[h] === undefined) throw new Error(`${join(dir, FILES.calibration)} has no entry for head ${h}`);
  const model = await loadLayersModel(fsHandler(dir));
  const heads = extractHeads(model);
  return {
    version: manifest.version,
    dir,
    manifest,
    model,
    weights: { spec, heads, calibration },
    metrics: await readJson<M>(dir, FILES.metrics),
    trainingData: await readJson<T>(dir, FILES.trainingData),
    driftBaseline: await readJson<DriftBaseline>(dir, FILES.driftBaseline),
  };
}

/** The registry's complete versions, oldest first (names sort by creation time); none for a missing folder. */
export async function versions(registryDir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(registryDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const complete: string[] = [];
  for (const name of names) {
    if (name.startsWith('.')) continue;
    if (await exists(join(registryDir, name, FILES.manifest))) complete.push(name);
  }
  return complete.sort();
}

/** The newest complete version in the registry, or undefined when there is none. */
export async function latestVersion(registryDir: string): Promise<string | undefined> {
  const all = await versions(registryDir);
  return all[all.length - 1];
}

/** loadModel of latestVersion; throws when the registry holds no model. */
export async function loadLatestModel<M = unknown, T = unknown>(registryDir: string): Promise<LoadedModel<M, T>> {
  const version = await latestVersion(registryDir);
  if (version === undefined) throw new Error(`no model in registry ${registryDir}`);
  return loadModel<M, T>(join(registryDir, version));
}
