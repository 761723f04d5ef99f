/**
 * Which (message, label) pairs a head trains on at time `asOf`, while some labels are still
 * arriving (a conversion may come 72 h after the send). Strategies (TrainOptions.delayed):
 *
 *  - `wait`: only messages whose label window has closed (matureAt ≤ asOf). Labels are exact
 *    but the freshest data (the last few days) is left out.
 *  - `naive`: every message sent in [since, asOf], labelled with what has arrived so far.
 *    Biased low: recent conversions are still missing. A baseline, not a choice.
 *  - `fnw` (fake-negative weighting; notes/ml.md): every message sent in [since, asOf] is a
 *    negative at once; every label event that happened in [since, asOf] adds its message again
 *    as a positive (even when the message itself was sent before `since`). In a steady stream
 *    the positives that arrive in the window match those its messages will eventually produce,
 *    so with the (1 + p) / (1 − p)(1 + p) loss weights (train-loop.ts) the fitted probability
 *    is unbiased while still using the freshest data. It needs messages from up to one label
 *    horizon before `since` in the log to count their late positives (defaultSince does this).
 *
 * Not implemented: ES-DFM (positive weight 1 + f_dp, negative (1 + f_dp)·f_rn). It needs an
 * auxiliary model of P(delayed positive | x) trained on matured data; FNW needs none and, in
 * the test with labels in flight (test/models-delayed), already holds O/E within 1%.
 */
import type { Head } from './heads.js';
import type { LabeledMessage } from './labels.js';
import type { Weighting } from './train-loop.js';

export type DelayedLabelStrategy = 'fnw' | 'wait' | 'naive';

export interface Instances {
  /** Index into the messages array, one per instance (FNW positives repeat a negative's index). */
  index: number[];
  y: number[];
  weighting: Weighting;
}

export function instancesFor(head: Head, messages: readonly LabeledMessage[], rows: Iterable<number>, strategy: DelayedLabelStrategy, since: number, asOf: number): Instances {
  const index: number[] = [];
  const y: number[] = [];
  for (const i of rows) {
    const m = messages[i] as LabeledMessage;
    const event = m.outcomes[head];
    const inWindow = m.sentAt >= since && m.sentAt <= asOf;
    if (strategy === 'wait') {
      if (inWindow && m.matureAt[head] <= asOf) {
        index.push(i);
        y.push(event !== undefined ? 1 : 0);
      }
    } else if (strategy === 'naive') {
      if (inWindow) {
        index.push(i);
        y.push(event !== undefined ? 1 : 0);
      }
    } else {
      if (inWindow) {
        index.push(i);
        y.push(0);
      }
      if (event !== undefined && event >= since && event <= asOf) {
        index.push(i);
        y.push(1);
      }
    }
  }
  return { index, y, weighting: strategy === 'fnw' ? 'fnw' : 'plain' };
}

/** When the earliest of `messages` was sent; Infinity for none. */
export function firstSentAt(messages: readonly LabeledMessage[]): number {
  let first = Infinity;
  for (const m of messages) if (m.sentAt < first) first = m.sentAt;
  return first;
}

/**
 * Start of the training window when the caller gives none: `windowMs` before `asOf`, but for
 * FNW never earlier than one label horizon after the first logged send (older sends are needed
 * to supply the window's late positives); if the log is too short for that, the first send.
 */
export function defaultSince(messages: readonly LabeledMessage[], asOf: number, windowMs: number, strategy: DelayedLabelStrategy, horizonMs: number): number {
  const first = firstSentAt(messages);
  if (!Number.isFinite(first)) return asOf - windowMs;
  const earliest = strategy === 'fnw' ? first + horizonMs : first;
  const since = Math.max(asOf - windowMs, earliest);
  return since < asOf ? since : first;
}
