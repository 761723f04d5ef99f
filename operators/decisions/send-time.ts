/**
 * Send-time optimisation, the pure parts: which instants inside a campaign's window are
 * candidates, which of the scored candidates wins, and the population prior that stands in
 * for users with little history (Airship / Braze / CleverTap blend per-user hour-of-week
 * activity with the population pattern in the same way). No clock, no I/O: the caller passes
 * `now`.
 */
import { weekdayShare } from './features.js';

const MINUTE = 60_000;
/** Buckets of the hour-of-week histograms: 7 days × 24 hours, Monday 00:00 first. */
export const HOURS_PER_WEEK = 168;

/**
 * Candidate send instants in [max(now, windowStart), windowEnd): the first is
 * max(now, windowStart) itself (sending "now" must always be an option, not rounded away to
 * the next boundary), the rest are the epoch-aligned multiples of `slotMinutes` after it, so
 * every replica and every user's decision lands on the same grid and load can be counted per
 * slot. When there are more than `maxSlots`, an evenly spaced subset that keeps the first is
 * returned, so scoring cost stays bounded for week-long windows.
 */
export function candidateSlots(windowStart: number, windowEnd: number, now: number, slotMinutes: number, maxSlots = 96): number[] {
  if (!(slotMinutes > 0) || !Number.isFinite(slotMinutes)) throw new RangeError(`slotMinutes must be a positive number, got ${slotMinutes}`);
  if (!(maxSlots >= 1)) throw new RangeError(`maxSlots must be at least 1, got ${maxSlots}`);
  const limit = Math.floor(maxSlots);
  const start = Math.max(now, windowStart);
  if (!Number.isFinite(start) || !Number.isFinite(windowEnd) || start >= windowEnd) return [];
  const slotMs = slotMinutes * MINUTE;
  const all: number[] = [start];
  // The first grid boundary strictly after `start`: when `start` is itself on the grid it is
  // already in the list and must not be repeated.
  for (let t = (Math.floor(start / slotMs) + 1) * slotMs; t < windowEnd; t += slotMs) all.push(t);
  if (all.length <= limit) return all;
  // floor(i·n/limit) is strictly increasing for n > limit, starts at 0 and spreads the picks
  // evenly over the whole window (not just its beginning).
  const picked: number[] = [];
  for (let i = 0; i < limit; i++) picked.push(all[Math.floor((i * all.length) / limit)] as number);
  return picked;
}

export interface SlotOption {
  /** Slot start, epoch ms. */
  at: number;
  /** Expected value of sending at this slot. */
  ev: number;
  /** False when a hard rule (legal or quiet hours, caps, gap) forbids this slot. */
  allowed: boolean;
  /** Sends the provider / campaign pacing can still take in this slot. */
  capacityLeft: number;
}

/**
 * Index of the allowed slot with capacity left and the highest expected value; ties go to the
 * earliest slot (sooner is better for the user and frees the capped slot sooner). Undefined
 * when no slot qualifies, which the caller turns into a skip with the rules' reasons.
 */
export function chooseSlot(options: readonly SlotOption[]): number | undefined {
  let best: number | undefined;
  for (let i = 0; i < options.length; i++) {
    const o = options[i] as SlotOption;
    // NaN never compares greater, so a NaN score could silently win only as the first
    // candidate: exclude it explicitly.
    if (!o.allowed || !(o.capacityLeft > 0) || Number.isNaN(o.ev)) continue;
    if (best === undefined) {
      best = i;
      continue;
    }
    const b = options[best] as SlotOption;
    if (o.ev > b.ev || (o.ev === b.ev && o.at < b.at)) best = i;
  }
  return best;
}

/**
 * 168 shares summing to 1 from a population hour-of-week histogram, with additive
 * (Laplace) smoothing so that no hour is ever impossible; uniform when the histogram is
 * empty. Missing, negative or non-finite buckets count as 0.
 */
export function populationPrior(histogram: readonly number[], pseudoCount = 1): number[] {
  const pc = Number.isFinite(pseudoCount) && pseudoCount > 0 ? pseudoCount : 0;
  const counts: number[] = [];
  let total = 0;
  for (let i = 0; i < HOURS_PER_WEEK; i++) {
    const h = histogram[i];
    const c = h !== undefined && Number.isFinite(h) && h > 0 ? h : 0;
    counts.push(c + pc);
    total += c + pc;
  }
  if (!(total > 0)) return new Array<number>(HOURS_PER_WEEK).fill(1 / HOURS_PER_WEEK);
  // Normalised per weekday as a user's share is, so that the two blend on the same scale.
  return counts.map((_, i) => weekdayShare(counts, total, i));
}

/**
 * Shrink a user's share towards the population's: (mass·user + k·pop)/(mass + k). `userMass`
 * is how much (decayed) activity the user's histogram holds; with k = 20 a user needs about
 * 20 events before their own pattern counts as much as everyone else's, so sparse users lean
 * on the population and heavy users on themselves.
 */
export function blendShare(userShare: number, userMass: number, populationShare: number, k = 20): number {
  const mass = Number.isFinite(userMass) && userMass > 0 ? userMass : 0;
  const prior = Number.isFinite(k) && k > 0 ? k : 0;
  if (mass + prior <= 0) return populationShare;
  const user = Number.isFinite(userShare) ? userShare : populationShare;
  return (mass * user + prior * populationShare) / (mass + prior);
}
