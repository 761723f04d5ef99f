/**
 * The value side of a decision: what a send is worth, net of its cost and of the risk of
 * losing the user (DESIGN.md, decision pipeline step 4). Pure arithmetic.
 */
import type { Scores } from './scorer.js';

export interface ValueInputs {
  /** Value of one conversion for this campaign. */
  value: number;
  /** Cost of the message (segments × provider price, or the push price). */
  cost: number;
  /** λ, PolicyConfig.unsubscribeWeight: how much of a lost user's value an unsubscribe costs. */
  lambda: number;
  /** The user's value (profile, else PolicyConfig.defaultUserValue). */
  userValue: number;
}

/** p(convert)·value − cost − λ·p(unsubscribe)·userValue. */
export function expectedValue(s: Scores, v: ValueInputs): number {
  return s.convert * v.value - v.cost - v.lambda * s.unsubscribe * v.userValue;
}

/**
 * Send only when the expected value strictly exceeds the threshold (PolicyConfig.defaultThreshold
 * is "expected value a send must exceed"), so with the default 0 a send that merely breaks even is
 * not worth the user's attention. NaN never passes.
 */
export function passesThreshold(ev: number, threshold: number): boolean {
  return ev > threshold;
}
