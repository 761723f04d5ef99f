/**
 * The trained response model as a `Scorer` (operators/decisions/scorer.ts): normalise with the
 * model's feature spec, one TF.js predict() per chunk of rows giving the three heads' logits,
 * sigmoid, then each head's calibration. Rows must be FEATURE_SPEC vectors of the version the
 * model was trained on; construction refuses a model of another feature version.
 *
 * Also feeds a drift accumulator (PSI against the training baseline) with a sample of the rows
 * it scores, so the processor can export drift without a second pass over the features.
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Scorer, Scores } from '../operators/decisions/scorer.js';
import { initBackend, type BackendName, type BackendOptions } from './backend.js';
import { calibrate, sigmoid, type Calibrator } from './calibration.js';
import { DriftAccumulator } from './drift.js';
import { convertProbability, type ConvertHead, type Head } from './heads.js';
import { assertMatchesRunningSpec, RowEncoder } from './model-inputs.js';
import { latestVersion, loadModel, type LoadedModel } from './registry.js';

/**
 * Rows per predict() call. models/BATCH-SIZE.md has the measurement behind it: on the wasm
 * backend rows/s climbs to a plateau (~530K rows/s of CPU) from ~512 rows per call and holds
 * to 8,192. 512 is the smallest batch on the plateau, ~1 ms of CPU a call, so one large batch
 * never holds the event loop for long.
 */
export const DEFAULT_CHUNK_ROWS = 512;

/** Drift bookkeeping costs ~1 µs a row (40 binary searches); one row in 16 is plenty for PSI. */
export const DEFAULT_DRIFT_SAMPLE_EVERY = 16;

export interface TfjsScorerOptions {
  /** Rows per predict() call (default DEFAULT_CHUNK_ROWS). */
  chunkRows?: number;
  /** Feed one scored row in this many to the drift accumulator; 0 disables drift tracking. */
  driftSampleEvery?: number;
  /** Passed to initBackend by the static constructors. */
  backend?: BackendOptions;
}

export class TfjsScorer implements Scorer {
  /** A predict call costs ~280 µs however few its rows (models/BATCH-SIZE.md). */
  readonly prefersBatches = true;
  readonly version: string;
  readonly featureVersion: string;
  /** The registry version directory this scorer serves. */
  readonly modelDir: string;
  /** PSI per feature against the training baseline, fed while scoring; undefined when disabled. */
  readonly drift: DriftAccumulator | undefined;
  readonly #model: tf.LayersModel;
  readonly #encoder: RowEncoder;
  readonly #convertHead: ConvertHead | undefined;
  readonly #cal: Record<Head, Calibrator>;
  readonly #chunk: number;
  readonly #sampleEvery: number;
  #seen = 0;
  #disposed = false;

  /** Takes ownership of `loaded.model` (disposed by dispose()). Call initBackend() first. */
  constructor(loaded: LoadedModel, opts: TfjsScorerOptions = {}) {
    const spec = loaded.weights.spec;
    assertMatchesRunningSpec(spec);
    this.version = `tfjs-${loaded.version}`;
    this.featureVersion = spec.version;
    this.modelDir = loaded.dir;
    this.#model = loaded.model;
    this.#encoder = new RowEncoder(spec);
    this.#convertHead = spec.convertHead;
    this.#cal = loaded.weights.calibration;
    this.#chunk = opts.chunkRows ?? DEFAULT_CHUNK_ROWS;
    if (!(Number.isInteger(this.#chunk) && this.#chunk > 0)) throw new RangeError(`chunkRows must be a positive integer, got ${this.#chunk}`);
    this.#sampleEvery = opts.driftSampleEvery ?? DEFAULT_DRIFT_SAMPLE_EVERY;
    this.drift = this.#sampleEvery > 0 ? new DriftAccumulator(loaded.driftBaseline) : undefined;
  }

  /** Initialises TF.js, loads a model directory, and returns the scorer with the backend in use. */
  static async fromDir(dir: string, opts: TfjsScorerOptions = {}): Promise<{ scorer: TfjsScorer; backend: BackendName }> {
    const backend = await initBackend(opts.backend);
    const loaded = await loadModel(dir);
    try {
      return { scorer: new TfjsScorer(loaded, opts), backend };
    } catch (err) {
      loaded.model.dispose();
      throw err;
    }
  }

  /** Same, for the newest version in a registry directory. */
  static async fromRegistry(registryDir: string, opts: TfjsScorerOptions = {}): Promise<{ scorer: TfjsScorer; backend: BackendName }> {
    const version = await latestVersion(registryDir);
    if (version === undefined) throw new Error(`no model in registry ${registryDir}`);
    return TfjsScorer.fromDir(join(registryDir, version), opts);
  }

  async score(rows: readonly Float32Array[]): Promise<Scores[]> {
    if (this.#disposed) throw new Error(`scorer ${this.version} was disposed`);
    const n = rows.length;
    const d = this.#encoder.inputDim;
    const rowDim = this.#encoder.rowDim;
    for (const row of rows) {
      // A row of another length was built by another feature version: refuse, as the heuristic scorer does.
      if (row.length !== rowDim) throw new RangeError(`row has ${row.length} features, model ${this.version} has ${rowDim}`);
    }
    const out = new Array<Scores>(n);
    const cal = this.#cal;
    for (let start = 0; start < n; start += this.#chunk) {
      const m = Math.min(this.#chunk, n - start);
      // A fresh buffer per chunk: the cpu backend keeps a reference to the array it is given.
      const x = new Float32Array(m * d);
      for (let r = 0; r < m; r++) {
        const row = rows[start + r] as Float32Array;
        this.#encoder.encodeInto(row, x, r * d);
        if (this.drift !== undefined && this.#seen++ % this.#sampleEvery === 0) this.drift.add(row);
      }
      // batchSize: the whole chunk in one pass. predict() otherwise cuts its input into batches
      // of 32 and runs the graph once per batch: 5× slower at 256 rows, 30× at 4,096.
      const logits = tf.tidy(() => this.#model.predict(tf.tensor2d(x, [m, d]), { batchSize: m }) as tf.Tensor);
      let z: Float32Array;
      try {
        // data(), not dataSync(): does not block the event loop on backends that compute asynchronously.
        z = (await logits.data()) as Float32Array;
      } finally {
        logits.dispose();
      }
      for (let r = 0; r < m; r++) {
        const click = calibrate(cal.click, sigmoid(z[3 * r] as number));
        out[start + r] = {
          click,
          convert: convertProbability(this.#convertHead, click, calibrate(cal.convert, sigmoid(z[3 * r + 1] as number))),
          unsubscribe: calibrate(cal.unsubscribe, sigmoid(z[3 * r + 2] as number)),
        };
      }
    }
    return out;
  }

  /** Uncalibrated logits [n×3, HEADS order] of rows, for numerical checks against the forward pass. */
  async logits(rows: readonly Float32Array[]): Promise<Float32Array> {
    const d = this.#encoder.inputDim;
    const x = new Float32Array(rows.length * d);
    rows.forEach((row, r) => this.#encoder.encodeInto(row, x, r * d));
    const t = tf.tidy(() => this.#model.predict(tf.tensor2d(x, [rows.length, d]), { batchSize: Math.max(1, rows.length) }) as tf.Tensor);
    try {
      return Float32Array.from(await t.data());
    } finally {
      t.dispose();
    }
  }

  /** Frees the model's tensors. Idempotent. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#model.dispose();
  }
}
