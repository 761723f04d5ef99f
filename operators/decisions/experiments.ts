/**
 * Deterministic randomisation: the global control group and experiment arms. Every replica
 * and every version of nudge must put a user in the same bucket, so assignment is a hash of
 * stable strings only (no Math.random, no seed, no process state), and the probability of the
 * arm taken is returned so that off-policy evaluation (IPS, SNIPS, DR) can weight outcomes.
 */
import { hash } from 'node:crypto';

/** A deterministic number in [0, 1) from a string: the first 4 bytes of its SHA-1, over 2^32. */
export function unitHash(key: string): number {
  return hash('sha1', key, 'buffer').readUInt32BE(0) / 0x1_0000_0000;
}

/**
 * True for the `percent`% of users who receive no promotional messages at all, which measures
 * the total effect of messaging. The salt (PolicyConfig.controlGroupSalt) keeps this bucket
 * independent of every experiment's, and changing it reshuffles the group.
 */
export function inControlGroup(userId: string, percent: number, salt: string): boolean {
  return unitHash(`${salt}:${userId}`) < percent / 100;
}

export interface Experiment {
  id: string;
  arms: Array<{ name: string; weight: number }>;
}

export interface ArmAssignment {
  arm: string;
  /** Probability with which this arm was assigned: its normalised weight (1 without an experiment). */
  propensity: number;
}

/**
 * The user's arm, with probability proportional to the arm weights. Hashing
 * `${experiment.id}:${userId}` makes it stable per (user, experiment) and independent across
 * experiments. Arms of weight 0 are never chosen; when every weight is 0 (or invalid) the arms
 * are taken as equally weighted rather than failing the decision.
 */
export function assignArm(userId: string, experiment: Experiment | undefined): ArmAssignment {
  if (experiment === undefined || experiment.arms.length === 0) return { arm: 'default', propensity: 1 };
  const weights = experiment.arms.map((a) => (Number.isFinite(a.weight) && a.weight > 0 ? a.weight : 0));
  let total = weights.reduce((s, w) => s + w, 0);
  if (!(total > 0)) {
    weights.fill(1);
    total = weights.length;
  }
  const u = unitHash(`${experiment.id}:${userId}`) * total;
  let cumulative = 0;
  let lastPositive = 0;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i] as number;
    if (w <= 0) continue;
    lastPositive = i;
    cumulative += w;
    if (u < cumulative) return { arm: (experiment.arms[i] as { name: string }).name, propensity: w / total };
  }
  // Only reachable through floating-point rounding of the cumulative sum at u ≈ total.
  const w = weights[lastPositive] as number;
  return { arm: (experiment.arms[lastPositive] as { name: string }).name, propensity: w / total };
}
