/**
 * Evaluation reports built from the metric functions: per head overall, per channel, per
 * country (or any other grouping), calibrated and raw; logged-score tracking per model version
 * (how well the scores that were actually served match the labels that have since arrived);
 * and off-policy estimates of experiment arms from logged propensities.
 */
import { classificationReport, type ClassificationReport } from './metrics.js';
import { HEADS, type Head } from './heads.js';
import type { LabeledMessage } from './labels.js';
import { offPolicyReport, type LoggedSample, type OffPolicyReport } from './off-policy.js';
import type { BootstrapOptions } from './bootstrap.js';

/** One scored example with final labels for the heads it has them for. */
export interface EvalRow {
  p: Record<Head, number>;
  /** Uncalibrated probabilities, when calibration should be judged too. */
  raw?: Record<Head, number>;
  y: Partial<Record<Head, number>>;
  /** Grouping values, e.g. { channel: 'sms', country: 'IN' }; undefined = not grouped. */
  groups: Record<string, string | undefined>;
}

export interface HeadEvaluation {
  overall: ClassificationReport;
  raw?: ClassificationReport;
  /** dimension → value → report (e.g. byGroup.channel.sms). */
  byGroup: Record<string, Record<string, ClassificationReport>>;
}

export type HeadsEvaluation = Record<Head, HeadEvaluation | null>;

/** Reports per head; a head with no labelled rows is null. */
export function evaluateRows(rows: readonly EvalRow[]): HeadsEvaluation {
  const out = {} as HeadsEvaluation;
  for (const h of HEADS) {
    const labelled = rows.filter((r) => r.y[h] !== undefined);
    if (labelled.length === 0) {
      out[h] = null;
      continue;
    }
    const y = labelled.map((r) => r.y[h] as number);
    const p = labelled.map((r) => r.p[h]);
    const byGroup: Record<string, Record<string, ClassificationReport>> = {};
    const dims = new Set(labelled.flatMap((r) => Object.keys(r.groups)));
    for (const dim of dims) {
      const parts = new Map<string, { p: number[]; y: number[] }>();
      for (const r of labelled) {
        const v = r.groups[dim];
        if (v === undefined) continue;
        let part = parts.get(v);
        if (part === undefined) parts.set(v, (part = { p: [], y: [] }));
        part.p.push(r.p[h]);
        part.y.push(r.y[h] as number);
      }
      byGroup[dim] = Object.fromEntries([...parts].sort(([a], [b]) => a.localeCompare(b)).map(([v, part]) => [v, classificationReport(part.p, part.y)]));
    }
    const withRaw = labelled.every((r) => r.raw !== undefined);
    out[h] = {
      overall: classificationReport(p, y),
      ...(withRaw ? { raw: classificationReport(labelled.map((r) => (r.raw as Record<Head, number>)[h]), y) } : {}),
      byGroup,
    };
  }
  return out;
}

/** Final labels of a message as of `asOf`: only heads whose window has closed. */
export function finalLabels(m: LabeledMessage, asOf: number): Partial<Record<Head, number>> {
  const y: Partial<Record<Head, number>> = {};
  for (const h of HEADS) if (m.matureAt[h] <= asOf) y[h] = m.outcomes[h] !== undefined ? 1 : 0;
  return y;
}

/**
 * Calibration and ranking of the scores that were served, per model version (the logged
 * `scores` of each decision against its now-final labels): DESIGN's "online calibration
 * tracking as delayed labels arrive".
 */
export function evaluateLoggedScores(messages: readonly LabeledMessage[], asOf: number, groupsOf: (m: LabeledMessage) => Record<string, string | undefined> = (m) => ({ channel: m.channel })): Record<string, HeadsEvaluation> {
  const byVersion = new Map<string, EvalRow[]>();
  for (const m of messages) {
    if (m.loggedScores === undefined) continue;
    const y = finalLabels(m, asOf);
    if (Object.keys(y).length === 0) continue;
    let rows = byVersion.get(m.modelVersion);
    if (rows === undefined) byVersion.set(m.modelVersion, (rows = []));
    rows.push({ p: m.loggedScores, y, groups: groupsOf(m) });
  }
  return Object.fromEntries([...byVersion].map(([v, rows]) => [v, evaluateRows(rows)]));
}

/** One logged decision of an experiment: the arm it got, with what probability, and its reward. */
export interface ArmDecision {
  arm: string;
  /** Logged π_b(arm | user). */
  propensity: number;
  reward: number;
}

/**
 * Off-policy value of a target policy that assigns arms with the given probabilities
 * (e.g. { model: 1 } = "everyone gets the model arm"), from decisions logged under the
 * experiment's randomisation. Arms not listed have target probability 0.
 */
export function evaluateArmPolicy(decisions: readonly ArmDecision[], target: Readonly<Record<string, number>>, opts: BootstrapOptions = {}): OffPolicyReport {
  const samples: LoggedSample[] = decisions.map((d) => ({ reward: d.reward, propensity: d.propensity, target: target[d.arm] ?? 0 }));
  return offPolicyReport(samples, opts);
}
