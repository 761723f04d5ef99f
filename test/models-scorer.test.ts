/**
 * The model directory and the TF.js scorer: save/load round trip, the TF.js output equals the
 * hand-written forward pass, no tensor leaks, and a model of another feature spec is refused.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { FEATURE_COUNT, FEATURE_SPEC } from '../operators/decisions/feature-vector.js';
import { initBackend } from '../models/backend.js';
import type { Calibrator } from '../models/calibration.js';
import { computeBaseline } from '../models/drift.js';
import { fitNormalisation } from '../models/feature-spec-file.js';
import { ForwardPassScorer } from '../models/forward-pass.js';
import { HEADS, type Head } from '../models/heads.js';
import type { HeadWeights } from '../models/mlp.js';
import { mulberry32, normal, type Rng } from '../models/random.js';
import { latestVersion, loadModel, saveModel, type SaveModelInput } from '../models/registry.js';
import { syntheticRow } from '../models/synthetic.js';
import { TfjsScorer } from '../models/tfjs-scorer.js';
import { expandRow, INPUT_COUNT, INPUT_NAMES, INPUTS_VERSION, POLICY_SET } from '../models/model-inputs.js';
import { HeuristicScorer } from '../operators/decisions/heuristic-scorer.js';
import { modelInput, rows } from './support/models.js';

let backend = '';
before(async () => {
  backend = await initBackend();
});

async function withRegistry(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'nudge-models-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('initBackend picks wasm here (tfjs-node is not installable) and is idempotent', async () => {
  assert.ok(['tensorflow', 'wasm', 'cpu'].includes(backend));
  assert.equal(await initBackend(), backend);
  assert.equal(tf.getBackend(), backend);
});

test('save / load round trip keeps weights, spec, calibration and baseline; latestVersion is the newest', async () => {
  await withRegistry(async (reg) => {
    assert.equal(await latestVersion(reg), undefined);
    const input = modelInput(1, Date.UTC(2026, 10, 20, 9, 0));
    const older = await saveModel(reg, input);
    const newer = await saveModel(reg, modelInput(2, Date.UTC(2026, 10, 21, 9, 0)));
    assert.match(older.version, /^20261120T090000Z-[0-9a-f]{10}$/);
    assert.equal(await latestVersion(reg), newer.version);
    // Saving the same model at the same time again is a no-op, not a second version.
    assert.equal((await saveModel(reg, input)).version, older.version);
    assert.deepEqual((await readdir(reg)).sort(), [older.version, newer.version].sort());

    const loaded = await loadModel(older.dir);
    try {
      assert.deepEqual(loaded.weights.spec, input.spec);
      assert.deepEqual(loaded.weights.calibration, input.calibration);
      assert.deepEqual(loaded.driftBaseline, input.driftBaseline);
      assert.deepEqual(loaded.metrics, { note: 'test' });
      assert.deepEqual(loaded.manifest.hidden, { click: [32, 16], convert: [32, 16], unsubscribe: [8] });
      for (const h of HEADS) {
        const a = input.heads[h].layers;
        const b = loaded.weights.heads[h].layers;
        assert.equal(b.length, a.length);
        a.forEach((layer, i) => {
          assert.deepEqual(b[i]?.kernel, layer.kernel, `${h} layer ${i} kernel`);
          assert.deepEqual(b[i]?.bias, layer.bias, `${h} layer ${i} bias`);
        });
      }
    } finally {
      loaded.model.dispose();
    }
  });
});

test('TfjsScorer equals the Float32Array forward pass within 1e-5, across chunk boundaries', async () => {
  await withRegistry(async (reg) => {
    await saveModel(reg, modelInput(3, Date.UTC(2026, 10, 21)));
    const { scorer } = await TfjsScorer.fromRegistry(reg, { chunkRows: 64 });
    const loaded = await loadModel(scorer.modelDir);
    loaded.model.dispose();
    const reference = new ForwardPassScorer(loaded.weights);
    try {
      assert.equal(scorer.featureVersion, FEATURE_SPEC.version);
      assert.match(scorer.version, /^tfjs-/);
      const batch = rows(mulberry32(9), 300);
      const got = await scorer.score(batch);
      const want = await reference.score(batch);
      assert.equal(got.length, batch.length);
      let maxDiff = 0;
      got.forEach((s, i) => {
        for (const h of HEADS) maxDiff = Math.max(maxDiff, Math.abs(s[h] - (want[i] as typeof s)[h]));
      });
      assert.ok(maxDiff <= 1e-5, `max |TF.js − forward pass| = ${maxDiff}`);
      const z = await scorer.logits(batch.slice(0, 20));
      batch.slice(0, 20).forEach((row, i) => {
        const ref = reference.logits(row);
        HEADS.forEach((h, j) => assert.ok(Math.abs((z[3 * i + j] as number) - ref[h]) < 1e-4, `logit ${h} row ${i}`));
      });
      assert.deepEqual(await scorer.score([]), []);
      await assert.rejects(scorer.score([new Float32Array(3)]), /3 features/);
    } finally {
      scorer.dispose();
    }
  });
});

test('no tensor leaks after 100 score() calls; dispose frees the model', async () => {
  await withRegistry(async (reg) => {
    await saveModel(reg, modelInput(4, 0));
    const before = tf.memory().numTensors;
    const { scorer } = await TfjsScorer.fromRegistry(reg, { chunkRows: 128 });
    const withModel = tf.memory().numTensors;
    const rng = mulberry32(5);
    for (let i = 0; i < 100; i++) await scorer.score(rows(rng, 1 + (i % 7) * 50));
    assert.equal(tf.memory().numTensors, withModel, 'tensors left behind by score()');
    scorer.dispose();
    assert.equal(tf.memory().numTensors, before, 'tensors left behind by the model');
  });
});

test('the scorer refuses a model built for another feature spec', async () => {
  await withRegistry(async (reg) => {
    const input = modelInput(6, 0);
    const { dir } = await saveModel(reg, { ...input, spec: { ...input.spec, version: 'f0' } });
    await assert.rejects(TfjsScorer.fromDir(dir), /feature version f0/);
    const reordered = [...input.spec.names];
    [reordered[0], reordered[1]] = [reordered[1] as string, reordered[0] as string];
    const { dir: dir2 } = await saveModel(reg, { ...input, createdAt: 1000, spec: { ...input.spec, names: reordered } });
    await assert.rejects(TfjsScorer.fromDir(dir2), /names differ/);
  });
});

test('scoring feeds the drift accumulator with a sample of rows', async () => {
  await withRegistry(async (reg) => {
    await saveModel(reg, modelInput(7, 0));
    const { scorer } = await TfjsScorer.fromRegistry(reg, { driftSampleEvery: 2 });
    try {
      await scorer.score(rows(mulberry32(7), 4000));
      assert.equal(scorer.drift?.count, 2000);
      // Same generator as the baseline: every feature stable (PSI sampling noise ≈ bins/n ≈ 0.005).
      for (const f of scorer.drift?.snapshot() ?? []) assert.ok(f.psi < 0.1, `${f.name} PSI ${f.psi}`);
    } finally {
      scorer.dispose();
    }
  });
});

test('derived inputs: the heuristic log-odds and log lifts are appended, TF.js equals the forward pass, another derivation is refused; a given-click conversion head is multiplied by p(click)', async () => {
  // The inputs are heuristic-2's log-odds, whatever the serving heuristic is (model-inputs.ts).
  const heuristic = new HeuristicScorer({ version: 2 });
  const logit = (p: number) => Math.log(p / (1 - p));
  for (const row of rows(mulberry32(11), 50)) {
    const x = expandRow(row);
    assert.equal(x.length, INPUT_COUNT);
    // The logged features in order, without the ones the policy set (slot position, delay).
    const kept = FEATURE_SPEC.names.flatMap((n, i) => (POLICY_SET.includes(n) ? [] : [row[i] as number]));
    assert.deepEqual(Array.from(x.subarray(0, kept.length)), kept);
    assert.equal(kept.length, FEATURE_COUNT - POLICY_SET.length);
    for (const n of POLICY_SET) assert.ok(!INPUT_NAMES.includes(n), `${n} is not a model input`);
    const s = heuristic.scoreOne(row);
    const at = (name: string) => x[INPUT_NAMES.indexOf(name)] as number;
    assert.ok(Math.abs(at('heuristic_logit_click') - logit(s.click)) < 1e-4);
    assert.ok(Math.abs(at('heuristic_logit_unsubscribe') - logit(s.unsubscribe)) < 1e-4);
    const blend = row[FEATURE_SPEC.names.indexOf('blend_slot_lift')] as number;
    assert.ok(Math.abs(at('log_blend_slot_lift') - Math.log(Math.max(0.01, blend))) < 1e-5);
  }
  await withRegistry(async (reg) => {
    await saveModel(reg, modelInput(12, Date.UTC(2026, 10, 21), undefined, true));
    const { scorer } = await TfjsScorer.fromRegistry(reg, { chunkRows: 64 });
    const loaded = await loadModel(scorer.modelDir);
    loaded.model.dispose();
    const reference = new ForwardPassScorer(loaded.weights);
    try {
      assert.equal(loaded.weights.spec.inputs, INPUTS_VERSION);
      const batch = rows(mulberry32(13), 200);
      const got = await scorer.score(batch);
      const want = await reference.score(batch);
      let maxDiff = 0;
      got.forEach((s, i) => {
        for (const h of HEADS) maxDiff = Math.max(maxDiff, Math.abs(s[h] - (want[i] as typeof s)[h]));
      });
      assert.ok(maxDiff <= 1e-5, `max |TF.js − forward pass| = ${maxDiff}`);
      // The rows it takes are still the logged vector; an expanded row is not one of them.
      await assert.rejects(scorer.score([expandRow(batch[0] as Float32Array)]), new RegExp(`${INPUT_COUNT} features`));
    } finally {
      scorer.dispose();
    }
    const input = modelInput(14, 0, undefined, true);
    const { dir } = await saveModel(reg, { ...input, createdAt: 2000, spec: { ...input.spec, inputs: 'i0' } });
    await assert.rejects(TfjsScorer.fromDir(dir), /derived inputs i0/);

    // A conversion head trained given a click is served as p(click) · p(convert | click).
    const { dir: factorised } = await saveModel(reg, { ...input, createdAt: 3000, spec: { ...input.spec, convertHead: 'given_click' } });
    const { dir: joint } = await saveModel(reg, { ...input, createdAt: 4000 });
    const f = await TfjsScorer.fromDir(factorised);
    const j = await TfjsScorer.fromDir(joint);
    const fLoaded = await loadModel(factorised);
    fLoaded.model.dispose();
    try {
      const batch = rows(mulberry32(15), 100);
      const [fs, js, ref] = [await f.scorer.score(batch), await j.scorer.score(batch), await new ForwardPassScorer(fLoaded.weights).score(batch)];
      fs.forEach((s, i) => {
        const jointScores = js[i] as typeof s;
        assert.ok(Math.abs(s.click - jointScores.click) < 1e-9);
        assert.ok(Math.abs(s.convert - s.click * jointScores.convert) < 1e-6, `row ${i}: ${s.convert} vs ${s.click} × ${jointScores.convert}`);
        assert.ok(Math.abs(s.convert - (ref[i] as typeof s).convert) < 1e-5);
      });
    } finally {
      f.scorer.dispose();
      j.scorer.dispose();
    }
  });
});
