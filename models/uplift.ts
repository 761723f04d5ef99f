/**
 * Uplift ("does sending help this user?") by a two-model T-learner: one TF.js model of the
 * outcome for treated users, one for controls, uplift(x) = p_t(x) − p_c(x). Trained on a
 * randomised experiment (Hillstrom, or our random holdouts), so both models see the same
 * population and the difference estimates the causal effect. Evaluated by the Qini
 * coefficient and uplift@30% on a holdout (uplift-metrics.ts).
 */
import { readFile } from 'node:fs/promises';
import { sigmoid } from './calibration.js';
import { fitNormalisation, normaliseInto, type FeatureSpecFile } from './feature-spec-file.js';
import { headLogits } from './forward-pass.js';
import { HILLSTROM_FEATURES, hillstromFeatures, isTreated, parseHillstrom } from './hillstrom.js';
import type { HeadWeights } from './mlp.js';
import { mulberry32, permutation } from './random.js';
import { fitBinary, type FitOptions } from './train-loop.js';
import { averageTreatmentEffect, qiniCoefficient, upliftAt } from './uplift-metrics.js';

export interface UpliftData {
  rows: readonly Float32Array[];
  /** 1 treated, 0 control. */
  treated: ArrayLike<number>;
  /** 0/1 outcome. */
  outcome: ArrayLike<number>;
}

export interface TLearner {
  spec: FeatureSpecFile;
  treated: HeadWeights;
  control: HeadWeights;
}

export interface TLearnerOptions extends Omit<FitOptions, 'weighting'> {
  /** Share of each arm's training rows held out for early stopping (default 0.2). */
  validation?: number;
}

function normalised(rows: readonly Float32Array[], spec: FeatureSpecFile): Float32Array {
  const d = spec.names.length;
  const mean = Float32Array.from(spec.mean);
  const invStd = Float32Array.from(spec.std, (s) => 1 / s);
  const x = new Float32Array(rows.length * d);
  rows.forEach((r, i) => normaliseInto(r, mean, invStd, x, i * d));
  return x;
}

/** Fits the two outcome models; normalisation is shared, from all training rows. */
export function fitTLearner(data: UpliftData, names: readonly string[], opts: TLearnerOptions = {}): TLearner {
  const spec = fitNormalisation(data.rows, names, 'uplift');
  const d = names.length;
  const x = normalised(data.rows, spec);
  const rng = mulberry32((opts.seed ?? 1) * 7919);
  const arm = (t: number): HeadWeights => {
    const idx = Array.from({ length: data.rows.length }, (_, i) => i).filter((i) => ((data.treated[i] as number) > 0.5 ? 1 : 0) === t);
    const order = permutation(idx.length, rng);
    const nVal = Math.floor(idx.length * (opts.validation ?? 0.2));
    const pick = (from: number, to: number) => {
      const sel = Array.from(order.subarray(from, to), (k) => idx[k] as number);
      const xs = new Float32Array(sel.length * d);
      sel.forEach((i, r) => xs.set(x.subarray(i * d, (i + 1) * d), r * d));
      return { x: xs, y: Float32Array.from(sel, (i) => data.outcome[i] as number) };
    };
    return fitBinary(pick(nVal, idx.length), pick(0, nVal), d, { ...opts, weighting: 'plain', seed: (opts.seed ?? 1) * 2 + t }).weights;
  };
  return { spec, treated: arm(1), control: arm(0) };
}

/** Predicted uplift p_t(x) − p_c(x) per row. */
export function predictUplift(model: TLearner, rows: readonly Float32Array[]): Float64Array {
  const x = normalised(rows, model.spec);
  const zt = headLogits(model.treated, x, rows.length);
  const zc = headLogits(model.control, x, rows.length);
  return Float64Array.from(zt, (z, i) => sigmoid(z) - sigmoid(zc[i] as number));
}

export interface HillstromUpliftOptions {
  csvPath: string;
  /** 'visit' (default) or 'conversion'. */
  outcome?: 'visit' | 'conversion';
  trainFraction?: number;
  seed?: number;
  /** Hidden layers of each arm's model (default [] = logistic regression; see the note in the report). */
  hidden?: readonly number[];
  /** Shuffled-score baselines to compare with (default 20). */
  shuffles?: number;
}

export interface HillstromUpliftReport {
  rows: number;
  train: number;
  holdout: number;
  outcome: 'visit' | 'conversion';
  /** Treated-minus-control outcome rate on the holdout: the gain of e-mailing everyone (or a random subset). */
  holdoutAte: number;
  /** Qini coefficient of the model's uplift scores on the holdout (random targeting = 0). */
  qini: number;
  /** Qini coefficients of the same scores randomly permuted: what chance alone gives. */
  shuffledQini: { mean: number; max: number; values: number[] };
  /** Treated-minus-control rate among the top 30% by predicted uplift. */
  upliftAt30: number;
  /** Same among the bottom 70%, for contrast. */
  upliftBottom70: number;
}

/** Loads Hillstrom, trains a T-learner on a random 70%, evaluates uplift on the other 30%. */
export async function hillstromUplift(opts: HillstromUpliftOptions): Promise<HillstromUpliftReport> {
  const all = parseHillstrom(await readFile(opts.csvPath, 'utf8'));
  const outcome = opts.outcome ?? 'visit';
  const rng = mulberry32(opts.seed ?? 2008);
  const order = permutation(all.length, rng);
  const nTrain = Math.floor(all.length * (opts.trainFraction ?? 0.7));
  const take = (from: number, to: number): UpliftData => {
    const sel = Array.from(order.subarray(from, to), (i) => all[i] as (typeof all)[number]);
    return { rows: sel.map(hillstromFeatures), treated: sel.map((r) => (isTreated(r) ? 1 : 0)), outcome: sel.map((r) => r[outcome]) };
  };
  const train = take(0, nTrain);
  const hold = take(nTrain, all.length);
  const model = fitTLearner(train, HILLSTROM_FEATURES, { hidden: opts.hidden ?? [], seed: opts.seed ?? 2008 });
  const score = predictUplift(model, hold.rows);
  const sample = { score, treated: hold.treated, outcome: hold.outcome };
  const values: number[] = [];
  for (let s = 0; s < (opts.shuffles ?? 20); s++) {
    const perm = permutation(score.length, rng);
    values.push(qiniCoefficient({ ...sample, score: Float64Array.from(perm, (i) => score[i] as number) }));
  }
  // Bottom 70% = everyone ranked after the top 30%: negate the scores and take the top 70%.
  const bottom = upliftAt({ ...sample, score: Float64Array.from(score, (v) => -v) }, 0.7);
  return {
    rows: all.length,
    train: nTrain,
    holdout: all.length - nTrain,
    outcome,
    holdoutAte: averageTreatmentEffect(sample),
    qini: qiniCoefficient(sample),
    shuffledQini: { mean: values.reduce((a, b) => a + b, 0) / Math.max(1, values.length), max: Math.max(...values), values },
    upliftAt30: upliftAt(sample, 0.3).uplift,
    upliftBottom70: bottom.uplift,
  };
}
