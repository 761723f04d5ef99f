/**
 * The shipped default model (models/default, trained by scripts/train-default.ts on simulator
 * seed 1, as of its first held-out day, with FNW while conversions were still arriving) judged
 * on a population it never saw: simulator seed 20261121, a fresh month, the real decision
 * pipeline logging under 20% exploration. Held out = the days after a 4-day burn-in (fatigue
 * from earlier messages has to build up first, as it had in training). Everything is compared
 * with the simulator's own truth: AUC of the true probabilities, calibration, the true value of
 * a policy for the off-policy estimators. The figures are printed; models/README.md quotes a run.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../config/load.js';
import { initBackend } from '../models/backend.js';
import { defaultScorer } from '../models/default-scorer.js';
import { ForwardPassScorer } from '../models/forward-pass.js';
import { MODEL_JSON, WEIGHTS_BIN } from '../models/fs-io-handler.js';
import { HEADS } from '../models/heads.js';
import { FILES, latestVersion } from '../models/registry.js';
import { forwardPassScorerSync, SHIPPED_REGISTRY, VERSION_FILES } from '../models/shipped-model.js';
import { simulateDataset, type SimDataset } from '../models/sim-dataset.js';
import { evaluateAgainstTruth, offPolicyCheck, type TruthEvaluation } from '../models/sim-evaluation.js';
import { TfjsScorer } from '../models/tfjs-scorer.js';
import { HeuristicScorer } from '../operators/decisions/heuristic-scorer.js';

const USERS = 1200;
const DAYS = 8;
const BURN_IN = 4;

let ds: SimDataset;
let model: TruthEvaluation;
let heuristic: TruthEvaluation;

function fmt(e: TruthEvaluation): string {
  return HEADS.map((h) => {
    const r = e.heads[h];
    return `  ${h.padEnd(11)} n ${r.n} pos ${r.positives} AUC ${r.auc.toFixed(3)} truth ${r.aucTrue.toFixed(3)} ratio ${r.aucRatio.toFixed(3)} (visible-traits truth ${r.aucVisible.toFixed(3)}) ECE ${r.ece.toFixed(4)} (truth ${r.eceTrue.toFixed(4)}) O/E ${r.observedOverExpected.toFixed(3)} truth/E ${r.trueOverExpected.toFixed(3)}`;
  }).join('\n');
}

before(async () => {
  await initBackend();
  const started = Date.now();
  ds = await simulateDataset({ users: USERS, seed: 20261121, days: DAYS, historyDays: 3, counterfactualArms: { model: 1 } });
  const from = ds.decideAt[BURN_IN] as number;
  const { scorer } = await TfjsScorer.fromRegistry(SHIPPED_REGISTRY);
  try {
    model = await evaluateAgainstTruth(scorer, ds, from, ds.end);
  } finally {
    scorer.dispose();
  }
  // The heuristics served (heuristic-3), on a world heuristic-2 decided (sim-dataset.ts).
  const served = new HeuristicScorer();
  heuristic = await evaluateAgainstTruth(served, ds, from, ds.end);
  console.log(`simulated ${JSON.stringify(ds.stats)}; held-out messages ${model.messages}; ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(`shipped model:\n${fmt(model)}\n${served.version}:\n${fmt(heuristic)}`);
});

test('the shipped model is one config line away, loads without TF.js and scores like the TF.js scorer', async () => {
  const version = await latestVersion(SHIPPED_REGISTRY);
  assert.ok(version !== undefined, 'models/default holds a model');
  assert.deepEqual(
    { manifest: VERSION_FILES.manifest, spec: VERSION_FILES.spec, calibration: VERSION_FILES.calibration, modelJson: VERSION_FILES.modelJson, weights: VERSION_FILES.weights },
    { manifest: FILES.manifest, spec: FILES.spec, calibration: FILES.calibration, modelJson: MODEL_JSON, weights: WEIGHTS_BIN },
  );
  assert.equal(validateConfig({}).models.scorer, 'heuristic');
  assert.ok(defaultScorer(validateConfig({}), () => new HeuristicScorer()) instanceof HeuristicScorer);
  const chosen = defaultScorer(validateConfig({ models: { scorer: 'learned' } }), () => new HeuristicScorer());
  assert.ok(chosen instanceof ForwardPassScorer);
  assert.equal(chosen.version, version);

  const rows = ds.decisions.filter((d) => d.features !== undefined).slice(0, 500).map((d) => Float32Array.from(d.features as number[]));
  const { scorer } = await TfjsScorer.fromRegistry(SHIPPED_REGISTRY);
  try {
    const a = await scorer.score(rows);
    const b = await (forwardPassScorerSync(SHIPPED_REGISTRY) as ForwardPassScorer).score(rows);
    for (let i = 0; i < rows.length; i++) for (const h of HEADS) assert.ok(Math.abs((a[i]?.[h] ?? NaN) - (b[i]?.[h] ?? NaN)) < 1e-5, `row ${i} ${h}`);
  } finally {
    scorer.dispose();
  }
});

test('held-out calibration: ECE ≤ 0.02 (15 bins) for every head', () => {
  for (const h of HEADS) assert.ok(model.heads[h].ece <= 0.02, `${h}: ECE ${model.heads[h].ece.toFixed(4)}`);
});

// Not met (models/README.md, "Trained on the simulator"): click AUC is about 0.92 of the truth's.
// The truth multiplies a per-user fatigue sensitivity that no event shows (a latent trait the
// simulator is specified with), and the best ranking there is without it, P(click | everything else the
// truth knows: visibleProbabilities, aucVisible in the printout), reaches only about 0.95 of the
// truth's AUC. So 0.97 is out of reach for any model of observable data; the next test holds the
// shipped model to what is reachable.
test('held-out ranking: click AUC ≥ 97% of the true probabilities\' AUC', { todo: 'unreachable with the logged features: see models/README.md' }, () => {
  const r = model.heads.click;
  assert.ok(r.aucRatio >= 0.97, `click AUC ${r.auc.toFixed(3)} vs truth ${r.aucTrue.toFixed(3)}: ratio ${r.aucRatio.toFixed(3)}`);
});

test('held-out ranking: click AUC ≥ 95% of the best reachable without the hidden traits', () => {
  // Ranking by P(click | all but the hidden traits) is the best any model of observable data can
  // do; the shipped model also has to estimate habits and interests from a few days of events.
  const r = model.heads.click;
  assert.ok(r.auc >= 0.95 * r.aucVisible, `click AUC ${r.auc.toFixed(3)} vs reachable ${r.aucVisible.toFixed(3)}: ${(r.auc / r.aucVisible).toFixed(3)}`);
  assert.ok(r.auc > heuristic.heads.click.auc, `the model ranks clicks better than the heuristics: ${r.auc.toFixed(3)} vs ${heuristic.heads.click.auc.toFixed(3)}`);
});

// Met by a margin that training at this volume does not pin (models/README.md): Σtruth/Σpredicted
// for conversions was 0.95 here and 0.96 on the training run's held-out days with the shipped model;
// training sees about 350 conversions, and earlier builds landed anywhere from 0.76 to 1.09.
test('delayed labels: the conversion head, trained by FNW while conversions were arriving, is within 10% of the truth in the large', () => {
  // Σ true probability ÷ Σ predicted: O/E without the noise of a few dozen drawn conversions.
  const r = model.heads.convert;
  assert.ok(Math.abs(r.trueOverExpected - 1) <= 0.1, `conversion truth/expected ${r.trueOverExpected.toFixed(3)} (drawn O/E ${r.observedOverExpected.toFixed(3)} from ${r.positives} conversions)`);
});

test('off-policy: IPS and SNIPS of "everyone gets the model arm" bracket its true value', () => {
  const check = offPolicyCheck(ds, { seed: 7 });
  console.log(`off-policy: true ${check.trueValue.toFixed(5)} clicks per candidate; logged ${check.loggedValue.toFixed(5)}; IPS ${check.report.ips.value.toFixed(5)} [${check.report.ips.lo.toFixed(5)}, ${check.report.ips.hi.toFixed(5)}]; SNIPS ${check.report.snips.value.toFixed(5)} [${check.report.snips.lo.toFixed(5)}, ${check.report.snips.hi.toFixed(5)}]; n ${check.report.n}, ESS ${check.report.effectiveSampleSize.toFixed(0)}`);
  const x = check.expectedReport;
  console.log(`off-policy with true click probabilities as rewards: IPS ${x.ips.value.toFixed(5)} [${x.ips.lo.toFixed(5)}, ${x.ips.hi.toFixed(5)}]; SNIPS ${x.snips.value.toFixed(5)} [${x.snips.lo.toFixed(5)}, ${x.snips.hi.toFixed(5)}]`);
  for (const name of ['ips', 'snips'] as const) {
    const e = check.report[name];
    assert.ok(e.lo <= check.trueValue && check.trueValue <= e.hi, `${name} interval [${e.lo}, ${e.hi}] misses the true value ${check.trueValue}`);
    // Without outcome noise the interval is about four times narrower, so a biased estimand (the
    // true value counting messages that a later decision preempted, say) shows here first.
    const f = x[name];
    assert.ok(f.lo <= check.trueValue && check.trueValue <= f.hi, `${name} with true probabilities: interval [${f.lo}, ${f.hi}] misses the true value ${check.trueValue}`);
  }
});
