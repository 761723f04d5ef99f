/**
 * A user's activity features: exponentially decayed counters, kept in UserState.features.
 *
 * Pure functions: no clock reads, no I/O; every time is epoch ms passed in. The functions
 * mutate the ActivityFeatures they are given (it is the user's state, written back by the
 * caller) except the readers (windowCount, clickRate, hourOfWeekShare, lastEventAt).
 *
 * Representation (as types.ts documents it, because feature-vector.ts reads these fields
 * directly; do not change units or scales here without changing that reader too):
 * - `c[type][i]`: event count decayed with time constant WINDOWS_MS[i], as of `at`, a float.
 *   A window's value below MIN_COUNT is stored as exactly 0 (msgpack: 1 byte instead of 9).
 * - `last[type]`: epoch ms of the latest event of that type.
 * - `ch[channel]`: sends `s` and clicks `c`, decayed with CHANNEL_TIME_CONSTANT_MS, as of `at`.
 * - `how`: 168 integers, the decayed hour-of-week activity histogram ×HOW_SCALE, time
 *   constant HOW_TIME_CONSTANT_MS, decayed in whole HOW_STEP_MS steps (see decayHistogram).
 * - `cat[k]`: events of business category k (0–9), decayed with CATEGORY_TIME_CONSTANT_MS, as of `at`.
 */
import type { EventType } from '../../processor/messages/event.js';
import { isValidTimeZone, localTime } from './local-time.js';
import type { ActivityFeatures, Channel } from './types.js';

const DAY = 86_400_000;

/** Time constants of c[type] = [1 h, 24 h, 7 d, 30 d]. */
export const WINDOWS_MS = [3_600_000, 86_400_000, 7 * 86_400_000, 30 * 86_400_000] as const;
export type WindowIndex = 0 | 1 | 2 | 3;
const WINDOW_INDICES = [0, 1, 2, 3] as const;

/** Time constant of the per-channel sends and clicks. */
export const CHANNEL_TIME_CONSTANT_MS = 30 * DAY;
/** Time constant of the per-category event counts. */
export const CATEGORY_TIME_CONSTANT_MS = 30 * DAY;
/** Business categories, as campaigns number them (0–9). */
export const CATEGORIES = 10;
/** Time constant of the hour-of-week histogram: four weeks, so every weekday hour has ~4 samples of memory. */
export const HOW_TIME_CONSTANT_MS = 28 * DAY;
/** The histogram stores integers: each decayed count ×100 (hundredths of an event), which msgpack packs in 1–3 bytes where a float takes 9. */
export const HOW_SCALE = 100;
/**
 * The histogram is decayed in whole steps of this length (boundaries at multiples of it since
 * the epoch, UTC days), not at every update. Its values are integers, and rounding at every
 * update would freeze it: a bucket that loses less than half a unit between two updates never
 * loses anything (at one update a minute, every bucket under ~400 events). One rounding per
 * day tracks the exponential to within half a unit per step for buckets above τ/step = 28
 * units (0.28 events); below that a bucket loses 1 unit a day (see decayHistogram), so such a
 * residue is gone within four weeks. Shorter steps would widen that linear range (6-hour
 * steps: a lone event would vanish in 25 days instead of fading to e^-1 in 28).
 * The stored values are as of the day boundary at or before `at`, so read "as of `at`" they
 * are at most e^(1/28) − 1 ≈ 3.6 % high; shares (ratios) are exact, and hourOfWeekShare's
 * mass applies the missing fraction of a day.
 */
export const HOW_STEP_MS = DAY;
export const HOURS_PER_WEEK = 168;
/**
 * A decayed count below this is treated as none: stored as 0, and an event type whose four
 * counts are all below it is dropped from the state (with its `last`), so an inactive user's
 * state shrinks back. One event reaches it after 30 d · ln 100 ≈ 138 days in the 30-day window.
 */
export const MIN_COUNT = 0.01;
/**
 * A histogram holding fewer decayed events than this in total is dropped: it says nothing
 * about when the user is active, and its integer buckets can sit on a last rounded unit
 * for a step after the true value fell below it.
 */
export const HOW_MIN_MASS = 0.05;

/** Event types that describe the user being active at that hour: the only ones the send-time histogram learns from. */
export const ACTIVITY_TYPES: ReadonlySet<string> = new Set<EventType>(['app_open', 'view', 'click', 'add_to_cart', 'purchase', 'push_open', 'sms_click']);

function requireFinite(name: string, value: number): void {
  // NaN would silently poison every decayed value it touches, for good: fail at the call instead.
  if (!Number.isFinite(value)) throw new RangeError(`${name} must be a finite epoch ms, got ${value}`);
}

export function emptyFeatures(now: number): ActivityFeatures {
  requireFinite('now', now);
  // `how` is absent until the first activity event: 168 zeros would cost ~170 bytes for nothing.
  return { at: now, c: {}, last: {}, ch: {} };
}

/** exp(−Δ/τ) for Δ = to − from; 1 when `to` is not later (never inflates a value). */
function factor(from: number, to: number, timeConstant: number): number {
  return to > from ? Math.exp(-(to - from) / timeConstant) : 1;
}

/** A decayed count that is small enough to be "none" is stored as 0: an integer packs in 1 byte. */
function tidy(x: number): number {
  return x < MIN_COUNT ? 0 : x;
}

/**
 * Multiplies the histogram by the decay of the whole HOW_STEP_MS steps between `from` and
 * `to`, rounding each bucket once. A decaying nonzero bucket always loses at least one unit:
 * rounding to nearest alone would let a small bucket sit at the same value for ever, and the
 * histogram of an inactive user would never empty.
 */
function decayHistogram(how: number[], from: number, to: number): void {
  const steps = Math.floor(to / HOW_STEP_MS) - Math.floor(from / HOW_STEP_MS);
  if (steps <= 0) return;
  const k = Math.exp((-steps * HOW_STEP_MS) / HOW_TIME_CONSTANT_MS);
  for (let b = 0; b < how.length; b++) {
    const v = how[b] ?? 0;
    if (v <= 0) {
      how[b] = 0;
      continue;
    }
    const r = Math.round(v * k);
    how[b] = r < v ? r : v - 1;
  }
}

/** Drops what has decayed to nothing (see MIN_COUNT). */
function prune(f: ActivityFeatures): void {
  // for…in and index loops, not Object.entries and every(): this runs after every event of every
  // user, and those allocate an array (and a closure) each time.
  for (const type in f.c) {
    const counts = f.c[type];
    if (counts === undefined || !(counts[0] >= MIN_COUNT || counts[1] >= MIN_COUNT || counts[2] >= MIN_COUNT || counts[3] >= MIN_COUNT)) {
      delete f.c[type];
      delete f.last[type];
    }
  }
  // A `last` without counts (an event so old that it decayed to nothing on arrival) is dropped too:
  // "the types we know about" is exactly the keys of `c`, which bounds the state.
  for (const type in f.last) if (f.c[type] === undefined) delete f.last[type];
  for (const channel in f.ch) {
    const v = f.ch[channel as Channel];
    if (v === undefined || (!(v.s >= MIN_COUNT) && !(v.c >= MIN_COUNT))) delete f.ch[channel as Channel];
  }
  if (f.how !== undefined && !(histogramMass(f.how, f.at) >= HOW_MIN_MASS)) delete f.how;
  const cat = f.cat;
  if (cat !== undefined) {
    let any = false;
    for (let i = 0; i < cat.length && !any; i++) any = (cat[i] as number) >= MIN_COUNT;
    if (!any) delete f.cat;
  }
}

/** Total decayed events in the histogram as of `at` (its integers are as of the step boundary before). */
function histogramMass(how: readonly number[], at: number): number {
  let total = 0;
  for (const v of how) total += v;
  const boundary = Math.floor(at / HOW_STEP_MS) * HOW_STEP_MS;
  return (total / HOW_SCALE) * factor(boundary, at, HOW_TIME_CONSTANT_MS);
}

/**
 * Brings every decayed value forward to `now` in place and sets `at = now` (nothing happens
 * when `now` is not after `at`: state never moves back in time). Values that decayed to
 * nothing are dropped (see MIN_COUNT), so an idle user's state shrinks.
 */
export function decayTo(f: ActivityFeatures, now: number): void {
  requireFinite('now', now);
  if (!(now > f.at)) return;
  const from = f.at;
  for (const type in f.c) {
    const counts = f.c[type];
    if (counts === undefined) continue;
    for (const i of WINDOW_INDICES) counts[i] = tidy(counts[i] * factor(from, now, WINDOWS_MS[i]));
  }
  const kc = factor(from, now, CHANNEL_TIME_CONSTANT_MS);
  for (const channel in f.ch) {
    const v = f.ch[channel as Channel];
    if (v === undefined) continue;
    v.s = tidy(v.s * kc);
    v.c = tidy(v.c * kc);
  }
  if (f.how !== undefined) decayHistogram(f.how, from, now);
  if (f.cat !== undefined) {
    const k = factor(from, now, CATEGORY_TIME_CONSTANT_MS);
    for (let i = 0; i < f.cat.length; i++) f.cat[i] = tidy((f.cat[i] ?? 0) * k);
  }
  f.at = now;
  prune(f);
}

/**
 * Counts one event of `type` at `ts`. The features are first decayed to max(now, f.at). An
 * event older than `f.at` (out of order) adds exp(−(f.at − ts)/W) per window rather than 1:
 * what it would weigh now had it arrived in order. An event stamped after `f.at` (producer
 * clock ahead of ours) counts as happening at `f.at`: decayed values are never "as of the future".
 * Activity types also feed the hour-of-week histogram, in the user's local time (`timeZone`);
 * an invalid zone skips the histogram rather than filling the wrong bucket (the counts are
 * still kept, and the caller resolves zones before calling).
 */
export function recordEvent(f: ActivityFeatures, type: string, ts: number, timeZone: string, now: number, category?: number | null): void {
  requireFinite('ts', ts);
  requireFinite('now', now);
  decayTo(f, Math.max(now, f.at));
  const at = f.at;
  const t = Math.min(ts, at);
  const counts = f.c[type] ?? [0, 0, 0, 0];
  for (const i of WINDOW_INDICES) counts[i] = tidy(counts[i] + factor(t, at, WINDOWS_MS[i]));
  f.c[type] = counts;
  const last = f.last[type];
  f.last[type] = last === undefined ? ts : Math.max(last, ts);

  if (ACTIVITY_TYPES.has(type) && isValidTimeZone(timeZone)) {
    // The histogram's values are as of the step boundary at or before `at` (see HOW_STEP_MS),
    // so the event weighs exp((t − boundary)/τ): ≥ 1 for an event after the boundary.
    const boundary = Math.floor(at / HOW_STEP_MS) * HOW_STEP_MS;
    const add = Math.round(HOW_SCALE * Math.exp((t - boundary) / HOW_TIME_CONSTANT_MS));
    if (add > 0) {
      const how = f.how ?? new Array<number>(HOURS_PER_WEEK).fill(0);
      const bucket = localTime(ts, timeZone).hourOfWeek;
      how[bucket] = (how[bucket] ?? 0) + add;
      f.how = how;
    }
  }
  // What the user looks at and buys, by category: the interest a campaign's category meets.
  if (category !== undefined && category !== null && Number.isInteger(category) && category >= 0 && category < CATEGORIES) {
    const cat = f.cat ?? new Array<number>(CATEGORIES).fill(0);
    cat[category] = tidy((cat[category] ?? 0) + factor(t, at, CATEGORY_TIME_CONSTANT_MS));
    f.cat = cat;
  }
  prune(f);
}

function recordChannel(f: ActivityFeatures, channel: Channel, field: 's' | 'c', ts: number, now: number): void {
  requireFinite('ts', ts);
  requireFinite('now', now);
  decayTo(f, Math.max(now, f.at));
  const v = f.ch[channel] ?? { s: 0, c: 0 };
  // Same rule as recordEvent: a late record weighs what it would now, a future one counts at `at`.
  v[field] = tidy(v[field] + factor(Math.min(ts, f.at), f.at, CHANNEL_TIME_CONSTANT_MS));
  f.ch[channel] = v;
  prune(f);
}

/** One message sent to the user on `channel` at `ts` (decayed, 30-day time constant). */
export function recordSend(f: ActivityFeatures, channel: Channel, ts: number, now: number): void {
  recordChannel(f, channel, 's', ts, now);
}

/** One click (or open) of a message on `channel` at `ts` (decayed, 30-day time constant). */
export function recordClick(f: ActivityFeatures, channel: Channel, ts: number, now: number): void {
  recordChannel(f, channel, 'c', ts, now);
}

/** The decayed count of `type` in `window` as of max(now, f.at); f is not changed. */
export function windowCount(f: ActivityFeatures, type: string, window: WindowIndex, now: number): number {
  const counts = f.c[type];
  if (counts === undefined) return 0;
  return counts[window] * factor(f.at, now, WINDOWS_MS[window]);
}

/** Epoch ms of the latest event of `type`, or undefined when none is remembered (never, or decayed away). */
export function lastEventAt(f: ActivityFeatures, type: string): number | undefined {
  return f.last[type];
}

/**
 * Smoothed click-through rate on `channel`: (clicks + rate·weight)/(sends + weight), as of
 * f.at (the decay is common to both, so the ratio barely depends on the instant). `prior`
 * is the population rate and its weight in pseudo-sends. Without sends and without prior
 * weight it is `prior.rate`. Capped at 1: clicks can outnumber the sends we remember (a click
 * on a message sent before the state existed) and a rate above 1 means nothing.
 */
export function clickRate(f: ActivityFeatures, channel: Channel, prior: { rate: number; weight: number }): number {
  const v = f.ch[channel];
  const sends = v?.s ?? 0;
  const clicks = v?.c ?? 0;
  const denominator = sends + prior.weight;
  if (!(denominator > 0)) return prior.rate;
  return Math.min(1, (clicks + prior.rate * prior.weight) / denominator);
}

/**
 * The user's share of activity in one user-local hour-of-week bucket (0–167, Monday 00:00 = 0),
 * normalised per weekday (weekdayShare; 0 without history), and the total mass in decayed events
 * as of f.at, for the caller to weigh the user's own pattern against a population prior.
 */
export function hourOfWeekShare(f: ActivityFeatures, hourOfWeek: number): { share: number; mass: number } {
  const how = f.how;
  if (how === undefined) return { share: 0, mass: 0 };
  let total = 0;
  for (const v of how) total += v;
  if (!(total > 0)) return { share: 0, mass: 0 };
  const mass = histogramMass(how, f.at);
  // A bucket outside 0–167 has no activity rather than throwing: it is a caller's arithmetic slip, not data.
  if (!Number.isInteger(hourOfWeek) || hourOfWeek < 0 || hourOfWeek >= 168) return { share: 0, mass };
  return { share: weekdayShare(how, total, hourOfWeek), mass };
}

/**
 * The share of activity in one hour-of-week bucket, normalised per weekday: each weekday holds
 * 1/7 of the week, and within it the hours are weighed half by that day's own activity and half
 * by the same hours pooled over every day. A weekday with no activity of its own takes the pooled
 * hours alone. Why: a history of a few days leaves most weekdays empty, so a raw bucket share is 0
 * at every hour of a campaign on another weekday, and it piles a week's mass into the days it
 * has. Someone active at 20:00 on Friday is likelier active at 20:00 on Monday than at 15:00,
 * and how active they are on Mondays overall does not matter for choosing the hour. `total` is
 * the sum of the buckets and must be positive. The 168 shares sum to 1.
 */
export function weekdayShare(how: readonly number[], total: number, hourOfWeek: number): number {
  const hour = hourOfWeek % 24;
  const day = hourOfWeek - hour;
  let sameHour = 0;
  for (let d = 0; d < 168; d += 24) sameHour += activityAt(how, d + hour);
  let dayTotal = 0;
  for (let h = 0; h < 24; h++) dayTotal += activityAt(how, day + h);
  const pooled = sameHour / total;
  const own = dayTotal > 0 ? 0.5 * (activityAt(how, hourOfWeek) / dayTotal) + 0.5 * pooled : pooled;
  return own / 7;
}

/** A bucket's activity; a missing, negative or NaN bucket counts as none. (Per feature row: no closure.) */
function activityAt(how: readonly number[], i: number): number {
  const v = how[i];
  return v !== undefined && v > 0 ? v : 0;
}
