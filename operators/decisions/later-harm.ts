/**
 * The harm a message does to the user's messages already scheduled after it: each of those is
 * then sent with one more message in the week before it, which the scorer reads as fatigue
 * (messages_7d_before_slot). A slot's expected value is net of that harm (DecisionEngine), so a
 * second promotion placed off the user's peak hours, ahead of the one that holds the peak, pays
 * for the clicks it takes from it. Pure: the caller builds the rows and scores them.
 */
import type { Campaign } from '../../processor/messages/index.js';
import { withMoreRecent } from './feature-vector.js';
import type { Scores } from './scorer.js';
import type { PendingSend } from './types.js';

/** The window of messages_7d_before_slot: a message counts for those in the week after it. */
export const FATIGUE_WINDOW_MS = 7 * 86_400_000;

export interface LaterMessage {
  pending: PendingSend;
  campaign: Campaign;
}

export interface LaterHarm {
  pending: PendingSend;
  /** Expected value the message loses with one more message before it; never below 0. */
  harm: number;
}

/** The scheduled messages after `from` whose campaign is known: a deleted campaign's message will not go out. */
export function laterMessages(pending: readonly PendingSend[], from: number, campaignOf: ((campaignId: string) => Campaign | undefined) | undefined): LaterMessage[] {
  if (campaignOf === undefined) return [];
  const out: LaterMessage[] = [];
  for (const p of pending) {
    const campaign = p.t > from ? campaignOf(p.campaignId) : undefined;
    if (campaign !== undefined) out.push({ pending: p, campaign });
  }
  return out;
}

/** Two rows per message, to score with the slots' rows: as it is now, and with one more message before it. */
export function harmRows(later: readonly LaterMessage[], rowOf: (m: LaterMessage) => Float32Array): Float32Array[] {
  const rows: Float32Array[] = [];
  for (const m of later) {
    const row = rowOf(m);
    rows.push(row, withMoreRecent(row, 1));
  }
  return rows;
}

/** Each message's harm from the scores of its harmRows; `valueOf` prices a message's scores for its campaign. */
export function harmsFrom(later: readonly LaterMessage[], scores: readonly Scores[], valueOf: (s: Scores, campaign: Campaign) => number): LaterHarm[] {
  return later.map(({ pending, campaign }, i) => {
    const asIs = scores[2 * i];
    const tired = scores[2 * i + 1];
    const harm = asIs === undefined || tired === undefined ? 0 : valueOf(asIs, campaign) - valueOf(tired, campaign);
    return { pending, harm: Number.isFinite(harm) && harm > 0 ? harm : 0 };
  });
}

/** The harm a message at `at` does to the messages after it in the window, leaving out those it displaces. */
export function harmAt(harms: readonly LaterHarm[], at: number, displaced: readonly PendingSend[]): number {
  let total = 0;
  for (const { pending, harm } of harms) {
    if (pending.t > at && pending.t - at < FATIGUE_WINDOW_MS && !displaced.includes(pending)) total += harm;
  }
  return total;
}
