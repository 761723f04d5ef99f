import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../models/backend.js';
import { mulberry32 } from '../models/random.js';
import { saveModel, type SaveModelInput } from '../models/registry.js';
import { ReloadingScorer } from '../models/reloading-scorer.js';
import { modelInput, rows } from './support/models.js';
import { ErrorCodes, isNudgeError } from '../errors/index.js';
import { HeuristicScorer } from '../operators/decisions/heuristic-scorer.js';
import { buildScorer } from '../cli/scorer.js';
import { validateConfig } from '../config/load.js';
import { createLogger } from '../processor/logger.js';
import { ProcessorMetrics } from '../processor/metrics.js';

before(async () => {
  await initBackend();
});

test('models: a new registry version is picked up without a restart, after running in the shadow; the old one is disposed', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nudge-reload-'));
  try {
    const first = await saveModel(dir, modelInput(1, Date.UTC(2026, 10, 20)));
    const swaps: Array<[string, string]> = [];
    const shadows: number[] = [];
    const { scorer } = await ReloadingScorer.open(dir, { shadowCalls: 3, onSwap: (a, b) => swaps.push([a, b]), onShadow: (r) => shadows.push(r.meanAbsDiff.click) });
    const sample = rows(mulberry32(9), 64);
    const before = await scorer.score(sample);
    assert.equal(scorer.version, `tfjs-${first.version}`);
    assert.equal(await scorer.check(), false, 'nothing new yet');
    const tensorsBefore = tf.memory().numTensors;
    const second = await saveModel(dir, modelInput(2, Date.UTC(2026, 10, 21)));
    assert.equal(await scorer.check(), true);
    // Shadow: the old model still answers, the new one is compared.
    for (let i = 0; i < 2; i++) assert.deepEqual(await scorer.score(sample), before);
    assert.equal(scorer.version, `tfjs-${first.version}`);
    await scorer.score(sample);
    assert.equal(scorer.version, `tfjs-${second.version}`, 'promoted after 3 shadow calls');
    assert.deepEqual(swaps, [[first.version, second.version]]);
    assert.equal(shadows.length, 3);
    assert.ok(shadows.every((d) => d > 0), 'the shadow reported real differences');
    const after = await scorer.score(sample);
    assert.notDeepEqual(after, before, 'the new model answers now');
    assert.ok(tf.memory().numTensors <= tensorsBefore, `old model disposed (${tf.memory().numTensors} tensors, ${tensorsBefore} before the new one)`);
    scorer.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** A model saved as if trained by a build with other features (an older FEATURE_SPEC). */
function otherFeatures(seed: number, createdAt: number): SaveModelInput {
  const input = modelInput(seed, createdAt);
  return { ...input, spec: { ...input.spec, version: 'f0' } };
}

test('models: a version trained on other features is passed over, once, for the newest that fits; a later one that fits is picked up', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nudge-reload-'));
  try {
    const fits = await saveModel(dir, modelInput(1, Date.UTC(2026, 10, 19)));
    const other = await saveModel(dir, otherFeatures(2, Date.UTC(2026, 10, 20)));
    const refused: Array<[string, string]> = [];
    const { scorer, backend } = await ReloadingScorer.open(dir, { onRefused: (v, reason) => refused.push([v, reason]) });
    assert.equal(scorer.version, `tfjs-${fits.version}`, 'the newest version that fits, not the newest');
    assert.equal(scorer.servingVersion, fits.version);
    assert.ok(backend !== undefined);
    assert.deepEqual(refused.map(([v]) => v), [other.version]);
    assert.match(refused[0]?.[1] ?? '', /feature version f0/);
    assert.equal(await scorer.check(), false);
    assert.equal(refused.length, 1, 'reported once, not at every check');
    // Published after the one served but named before the refused latest (a trainer of the old build, say).
    const between = await saveModel(dir, modelInput(4, Date.UTC(2026, 10, 19, 12)));
    assert.equal(await scorer.check(), true, 'found under a refused latest');
    assert.equal(scorer.version, `tfjs-${between.version}`);
    assert.equal(refused.length, 1);
    const next = await saveModel(dir, modelInput(3, Date.UTC(2026, 10, 21)));
    assert.equal(await scorer.check(), true);
    assert.equal(scorer.version, `tfjs-${next.version}`);
    scorer.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('models: with no version that fits, open() refuses with its code, or serves the fallback until a version that fits appears', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nudge-reload-'));
  try {
    await saveModel(dir, otherFeatures(2, Date.UTC(2026, 10, 20)));
    await assert.rejects(ReloadingScorer.open(dir), (err: unknown) => isNudgeError(err) && err.code === ErrorCodes.MODEL_INCOMPATIBLE && /fits this build/.test(err.message));
    const heuristic = new HeuristicScorer();
    const swaps: Array<[string, string]> = [];
    const { scorer, backend } = await ReloadingScorer.open(dir, { fallback: heuristic, onSwap: (a, b) => swaps.push([a, b]) });
    assert.equal(backend, undefined);
    assert.equal(scorer.servingVersion, undefined);
    assert.equal(scorer.version, heuristic.version);
    const sample = rows(mulberry32(9), 16);
    assert.deepEqual(await scorer.score(sample), await heuristic.score(sample), 'the fallback answers');
    assert.equal(await scorer.check(), false, 'still nothing that fits');
    const fits = await saveModel(dir, modelInput(1, Date.UTC(2026, 10, 21)));
    assert.equal(await scorer.check(), true);
    assert.equal(scorer.version, `tfjs-${fits.version}`);
    assert.deepEqual(swaps, [[heuristic.version, fits.version]]);
    assert.notDeepEqual(await scorer.score(sample), await heuristic.score(sample), 'the model answers now');
    scorer.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a replica configured for learned models whose registry holds none that fits starts on the heuristics, says so, and picks a model up when one is trained', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nudge-reload-'));
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  try {
    const old = await saveModel(dir, otherFeatures(2, Date.UTC(2026, 10, 20)));
    const config = validateConfig({ models: { scorer: 'learned', registryDir: dir, reloadMs: 1000 } });
    const { scorer, stop } = await buildScorer(config, new ProcessorMetrics(undefined, { defaultMetrics: false }), log);
    try {
      assert.equal(scorer.version, new HeuristicScorer().version);
      assert.ok(lines.some((l) => l['msg'] === 'model version does not fit this build; passed over' && l['version'] === old.version && l['level'] === 40));
      assert.ok(lines.some((l) => typeof l['msg'] === 'string' && (l['msg'] as string).startsWith('no model in the registry fits this build') && l['level'] === 40));
      const fits = await saveModel(dir, modelInput(1, Date.UTC(2026, 10, 21)));
      for (let i = 0; i < 200 && scorer.version !== `tfjs-${fits.version}`; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(scorer.version, `tfjs-${fits.version}`, 'picked up by the registry watch');
    } finally {
      stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
