/**
 * trainModels end to end on a synthetic decision log whose truth is known: each head's label
 * is Bernoulli(σ(w·x + b)). The saved model, served by TfjsScorer, must rank nearly as well as
 * the true probabilities and be calibrated on a fresh held-out set.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../models/backend.js';
import { evaluateModelOnLog } from '../models/evaluate-log.js';
import { HEADS, type Head } from '../models/heads.js';
import { auc, ece, observedOverExpected } from '../models/metrics.js';
import { mulberry32 } from '../models/random.js';
import { FILES } from '../models/registry.js';
import { randomTruth, syntheticLog, syntheticRow, truthProbability, type LogisticTruth } from '../models/synthetic.js';
import { TfjsScorer } from '../models/tfjs-scorer.js';
import { MIN_GIVEN_CLICK_CALIBRATION_POSITIVES, trainModels, type ModelMetrics, type TrainingDataSummary } from '../models/train.js';

const H = 3_600_000;
const DAY = 24 * H;
const START = Date.UTC(2026, 9, 1);

before(async () => {
  await initBackend();
});

/** A logistic truth per head (click ~23%, convert ~8%, unsubscribe ~3%) and `n` sends over `days` drawn from it. */
function logisticLog(rng: ReturnType<typeof mulberry32>, n: number, days: number): { truth: Record<Head, LogisticTruth>; log: ReturnType<typeof syntheticLog> } {
  const truth: Record<Head, LogisticTruth> = {
    click: randomTruth(rng, 0.3, -1.2),
    convert: randomTruth(rng, 0.3, -2.5),
    unsubscribe: randomTruth(rng, 0.3, -3.5),
  };
  const log = syntheticLog({
    rng,
    n,
    start: START,
    spanMs: days * DAY,
    truth,
    meanDelayMs: { click: 1 * H, convert: 8 * H, unsubscribe: 2 * H },
    maxDelayMs: { click: 23 * H, convert: 71 * H, unsubscribe: 47 * H },
  });
  return { truth, log };
}

test('training on a known logistic truth: AUC ≥ 97% of the truth\'s, ECE ≤ 0.02 on held-out data', async () => {
  const started = Date.now();
  const rng = mulberry32(2026);
  // 30 days of sends; outcomes arrive within their windows (delays cut just inside them).
  const { truth, log } = logisticLog(rng, 24_000, 30);
  const registry = await mkdtemp(join(tmpdir(), 'nudge-train-'));
  try {
    const asOf = START + 35 * DAY;
    // Through JSON lines files, as `nudge train` would read topic dumps; plus lines that must be skipped.
    const decisionsPath = join(registry, 'decisions.jsonl');
    const eventsPath = join(registry, 'events.jsonl');
    await writeFile(decisionsPath, `${log.decisions.map((d) => JSON.stringify(d)).join('\n')}\nnot json\n{"decisionId":1}\n`);
    await writeFile(eventsPath, `${log.events.map((e) => JSON.stringify(e)).join('\n')}\n{"userId":"u1","ts":0,"type":"app_open"}\n`);
    const tensors = tf.memory().numTensors;
    // Each head here has its own truth, conversions included (no click behind them): a joint head.
    // And each truth is logistic over every logged feature, the two the derived inputs leave out
    // (model-inputs.ts POLICY_SET) included, so the model reads the logged vector as it is.
    const result = await trainModels({ decisions: decisionsPath, events: eventsPath, registryDir: join(registry, 'models'), asOf, since: START, seed: 3, convertHead: 'joint', derivedInputs: false });
    assert.equal(tf.memory().numTensors, tensors, 'trainModels left tensors behind');
    const summary = JSON.parse(await readFile(join(result.dir, FILES.trainingData), 'utf8')) as TrainingDataSummary;
    assert.equal(summary.messages.messages, 24_000);
    assert.deepEqual(summary.decisionsRead, { read: 24_002, invalid: 2 });
    assert.equal(summary.delayed, 'fnw');
    const metrics = JSON.parse(await readFile(join(result.dir, FILES.metrics), 'utf8')) as ModelMetrics;
    assert.ok(metrics.heads.click !== null && metrics.heads.click.overall.n > 2000);
    assert.deepEqual(Object.keys(metrics.heads.click.byGroup['channel'] ?? {}), ['push', 'sms']);

    // A fresh held-out set from the same truth, scored through the registry and TF.js.
    const { scorer } = await TfjsScorer.fromRegistry(join(registry, 'models'));
    try {
      const hold = mulberry32(77);
      const rows = Array.from({ length: 20_000 }, () => syntheticRow(hold, hold() < 0.5 ? 'sms' : 'push'));
      const scores = await scorer.score(rows);
      const report: string[] = [];
      for (const h of HEADS) {
        const pTrue = rows.map((r) => truthProbability(truth[h], r));
        const y = pTrue.map((p) => (hold() < p ? 1 : 0));
        const pModel = scores.map((s) => s[h]);
        const aucModel = auc(pModel, y);
        const aucTrue = auc(pTrue, y);
        const e = ece(pModel, y);
        report.push(`${h}: AUC ${aucModel.toFixed(4)} vs truth ${aucTrue.toFixed(4)} (${((100 * aucModel) / aucTrue).toFixed(1)}%), ECE ${e.toFixed(4)}, O/E ${observedOverExpected(pModel, y).toFixed(3)}, calibration ${summary.heads[h].calibration}, epochs ${summary.heads[h].fit.epochsRun}`);
        assert.ok(aucModel >= 0.97 * aucTrue, report.join('\n'));
        assert.ok(e <= 0.02, report.join('\n'));
      }
      console.log(`${report.join('\n')}\n(train + evaluate ${((Date.now() - started) / 1000).toFixed(1)} s)`);

      // Re-judged on the whole log (labels final by asOf): same quality, served scores absent, no drift.
      const judged = await evaluateModelOnLog({ modelDir: result.dir, decisions: log.decisions, events: log.events, asOf, since: START });
      assert.equal(judged.messages, 24_000);
      assert.ok((judged.model.click?.overall.auc ?? 0) > 0.8);
      assert.deepEqual(Object.keys(judged.served), [], 'synthetic decisions carry no served scores');
      for (const f of judged.drift) assert.equal(f.level, 'stable', `${f.name} PSI ${f.psi}`);
    } finally {
      scorer.dispose();
    }
  } finally {
    await rm(registry, { recursive: true, force: true });
  }
});

test('a given-click conversion head keeps its trained level when the calibration split has under 50 conversions; a joint head is recalibrated', async () => {
  const { log } = logisticLog(mulberry32(11), 4_000, 10);
  const registry = await mkdtemp(join(tmpdir(), 'nudge-train-cal-'));
  try {
    const common = { decisions: log.decisions, events: log.events, registryDir: join(registry, 'models'), asOf: START + 15 * DAY, since: START, seed: 3, derivedInputs: false, fit: { epochs: 5 } };
    const givenClick = await trainModels({ ...common, convertHead: 'given_click' });
    const cal = JSON.parse(await readFile(join(givenClick.dir, FILES.calibration), 'utf8')) as Record<Head, { method: string; reason?: string }>;
    assert.equal(cal.convert.method, 'identity', JSON.stringify(cal.convert));
    const [, conversions] = /^(\d+) conversions among (\d+) clicked/.exec(cal.convert.reason ?? '') ?? [];
    assert.ok(conversions !== undefined && Number(conversions) < MIN_GIVEN_CLICK_CALIBRATION_POSITIVES, `reason names the count: ${cal.convert.reason}`);
    assert.notEqual(cal.click.method, 'identity', 'the click head is calibrated as usual');
    const joint = await trainModels({ ...common, convertHead: 'joint' });
    const jointCal = JSON.parse(await readFile(join(joint.dir, FILES.calibration), 'utf8')) as Record<Head, { method: string }>;
    assert.notEqual(jointCal.convert.method, 'identity', 'a joint head has conversions enough and is fitted');
  } finally {
    await rm(registry, { recursive: true, force: true });
  }
});
