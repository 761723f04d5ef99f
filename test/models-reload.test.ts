import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../models/backend.js';
import { mulberry32 } from '../models/random.js';
import { saveModel } from '../models/registry.js';
import { ReloadingScorer } from '../models/reloading-scorer.js';
import { modelInput, rows } from './support/models.js';

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
