/**
 * Off-policy evaluation: the value a new policy π_e would have had, estimated from decisions
 * logged under the policy that actually ran (π_b), with w = π_e(a|x)/π_b(a|x) (notes/ml.md):
 *   IPS   = mean(w·r)                       unbiased, high variance
 *   SNIPS = Σ w·r / Σ w                     slightly biased, much lower variance
 *   DR    = mean(q̂(x,π_e) + w·(r − q̂(x,a))) unbiased if either the propensities or q̂ are right
 * Needs the logged probability of the action taken (`propensity` in the decision record), so
 * some randomisation (ε-exploration, a random holdout) must stay in the logging policy.
 */
import { bootstrapInterval, type BootstrapOptions, type Interval } from './bootstrap.js';

export interface LoggedSample {
  /** Observed reward of the logged action. */
  reward: number;
  /** π_b(a|x): probability the logging policy gave the action it took. Must be > 0. */
  propensity: number;
  /** π_e(a|x): probability the evaluated policy gives that same action. */
  target: number;
  /** q̂(x, a): a reward model's prediction for the logged action (DR only). */
  qLogged?: number;
  /** q̂(x, π_e) = Σ_a π_e(a|x)·q̂(x, a): the reward model's value of the evaluated policy here (DR only). */
  qTarget?: number;
}

function weight(s: LoggedSample): number {
  if (!(s.propensity > 0)) throw new RangeError(`logged propensity ${s.propensity} must be > 0 (the action was taken)`);
  return s.target / s.propensity;
}

function all(n: number): Uint32Array {
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  return idx;
}

export function ips(samples: readonly LoggedSample[], idx: Uint32Array = all(samples.length)): number {
  if (idx.length === 0) return NaN;
  let sum = 0;
  for (const i of idx) {
    const s = samples[i] as LoggedSample;
    sum += weight(s) * s.reward;
  }
  return sum / idx.length;
}

export function snips(samples: readonly LoggedSample[], idx: Uint32Array = all(samples.length)): number {
  let num = 0;
  let den = 0;
  for (const i of idx) {
    const s = samples[i] as LoggedSample;
    const w = weight(s);
    num += w * s.reward;
    den += w;
  }
  return den > 0 ? num / den : NaN;
}

export function doublyRobust(samples: readonly LoggedSample[], idx: Uint32Array = all(samples.length)): number {
  if (idx.length === 0) return NaN;
  let sum = 0;
  for (const i of idx) {
    const s = samples[i] as LoggedSample;
    if (s.qLogged === undefined || s.qTarget === undefined) throw new RangeError('doublyRobust: every sample needs qLogged and qTarget');
    sum += s.qTarget + weight(s) * (s.reward - s.qLogged);
  }
  return sum / idx.length;
}

export interface Estimate extends Interval {
  value: number;
}

export interface OffPolicyReport {
  n: number;
  /** Kish's effective sample size (Σw)²/Σw²: how many logged decisions the estimate is really worth. */
  effectiveSampleSize: number;
  ips: Estimate;
  snips: Estimate;
  /** Present when every sample carries qLogged and qTarget. */
  dr?: Estimate;
}

/** IPS, SNIPS and (with reward-model predictions) DR, each with a bootstrap interval. */
export function offPolicyReport(samples: readonly LoggedSample[], opts: BootstrapOptions = {}): OffPolicyReport {
  const n = samples.length;
  let sw = 0;
  let sw2 = 0;
  for (const s of samples) {
    const w = weight(s);
    sw += w;
    sw2 += w * w;
  }
  const est = (f: (s: readonly LoggedSample[], idx?: Uint32Array) => number): Estimate => ({
    value: f(samples),
    ...bootstrapInterval(n, (idx) => f(samples, idx), opts),
  });
  const hasQ = n > 0 && samples.every((s) => s.qLogged !== undefined && s.qTarget !== undefined);
  return {
    n,
    effectiveSampleSize: sw2 > 0 ? (sw * sw) / sw2 : 0,
    ips: est(ips),
    snips: est(snips),
    ...(hasQ ? { dr: est(doublyRobust) } : {}),
  };
}
