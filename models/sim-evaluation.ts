/**
 * Judging models and policies on a simulated decision log (sim-dataset.ts), where the truth is
 * known: a model's ranking and calibration on a held-out period against the true
 * probabilities themselves, and an off-policy estimate against the true value of the policy,
 * computed from the counterfactual run.
 */
import type { DecisionRecord } from '../operators/decisions/decision-record.js';
import type { Scorer } from '../operators/decisions/scorer.js';
import { evaluateArmPolicy } from './evaluate.js';
import { HEADS, type Head } from './heads.js';
import { auc, ece, observedOverExpected } from './metrics.js';
import type { OffPolicyReport } from './off-policy.js';
import type { SimDataset } from './sim-dataset.js';

export interface HeadVsTruth {
  n: number;
  positives: number;
  /** The model's AUC on the drawn labels, and the true probabilities' AUC on the same labels. */
  auc: number;
  aucTrue: number;
  aucRatio: number;
  /** AUC of the true probabilities averaged over the unobservable traits: a bound on what the features can reach. */
  aucVisible: number;
  /** 15-bin ECE of the model, and of the true probabilities (its floor at this sample size). */
  ece: number;
  eceTrue: number;
  /** Drawn positives ÷ Σ model probability. */
  observedOverExpected: number;
  /** Σ true probability ÷ Σ model probability: calibration in the large without the draw's noise. */
  trueOverExpected: number;
}

export interface TruthEvaluation {
  from: number;
  to: number;
  messages: number;
  heads: Record<Head, HeadVsTruth>;
}

/** First record of each decision (later ones are changes to it), in log order. */
export function firstDecisions(decisions: readonly DecisionRecord[]): DecisionRecord[] {
  const seen = new Set<string>();
  const out: DecisionRecord[] = [];
  for (const d of decisions) {
    if (seen.has(d.decisionId)) continue;
    seen.add(d.decisionId);
    out.push(d);
  }
  return out;
}

/**
 * Scores every message sent in [from, to) from its logged feature vector and compares with
 * the outcomes drawn for it (all final: the simulation runs past the label windows) and with
 * its true probabilities.
 */
export async function evaluateAgainstTruth(scorer: Scorer, ds: SimDataset, from: number, to: number): Promise<TruthEvaluation> {
  const rows: Float32Array[] = [];
  const sends = [];
  for (const d of firstDecisions(ds.decisions)) {
    const send = ds.truth.get(d.decisionId);
    if (send === undefined || d.features === undefined || send.message.at < from || send.message.at >= to) continue;
    rows.push(Float32Array.from(d.features));
    sends.push(send);
  }
  const scores = await scorer.score(rows);
  const heads = {} as Record<Head, HeadVsTruth>;
  for (const h of HEADS) {
    const p = scores.map((s) => s[h]);
    const pTrue = sends.map((s) => s.p[h]);
    const y = sends.map((s) => s.y[h]);
    const a = auc(p, y);
    const aTrue = auc(pTrue, y);
    const sum = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0);
    heads[h] = {
      n: y.length,
      positives: sum(y),
      auc: a,
      aucTrue: aTrue,
      aucRatio: a / aTrue,
      aucVisible: auc(sends.map((s) => s.pVisible[h]), y),
      ece: ece(p, y, 15),
      eceTrue: ece(pTrue, y, 15),
      observedOverExpected: observedOverExpected(p, y),
      trueOverExpected: sum(pTrue) / sum(p),
    };
  }
  return { from, to, messages: rows.length, heads };
}

export interface OffPolicyCheck {
  /** Arms of the evaluated policy, e.g. { model: 1 }. */
  arms: Record<string, number>;
  /** Its true value: expected clicks per candidate under the simulator's truth (counterfactual run). */
  trueValue: number;
  /** The logging policy's realised value on the same day: clicks drawn per candidate. */
  loggedValue: number;
  report: OffPolicyReport;
  /**
   * The same estimators with each logged send's true click probability as its reward instead of
   * the drawn click: no outcome noise, so what is left is the estimator's and the estimand's bias.
   */
  expectedReport: OffPolicyReport;
}

/**
 * IPS and SNIPS of the counterfactual arms' value (clicks per candidate decision) from the
 * last campaign day as logged under the exploring policy, next to the true value.
 */
export function offPolicyCheck(ds: SimDataset, opts: { resamples?: number; seed?: number } = {}): OffPolicyCheck {
  const cf = ds.counterfactual;
  if (cf === undefined) throw new Error('the dataset has no counterfactual run (simulateDataset counterfactualArms)');
  const lastDay = new Set(cf.decisions.map((d) => d.campaignId));
  const logged = firstDecisions(ds.decisions).filter((d) => lastDay.has(d.campaignId));
  const samples = logged.map((d) => ({ arm: d.arm, propensity: d.propensity, reward: ds.truth.get(d.decisionId)?.y.click ?? 0 }));
  const report = evaluateArmPolicy(samples, cf.arms, { resamples: opts.resamples ?? 2000, seed: opts.seed ?? 1 });
  const expected = logged.map((d) => ({ arm: d.arm, propensity: d.propensity, reward: ds.truth.get(d.decisionId)?.p.click ?? 0 }));
  const expectedReport = evaluateArmPolicy(expected, cf.arms, { resamples: opts.resamples ?? 2000, seed: opts.seed ?? 1 });
  const trueValue = cf.sends.reduce((s, m) => s + m.p.click, 0) / cf.candidates;
  const loggedValue = samples.reduce((s, x) => s + x.reward, 0) / Math.max(1, samples.length);
  return { arms: cf.arms, trueValue, loggedValue, report, expectedReport };
}
