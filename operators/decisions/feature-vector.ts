/**
 * The one function that turns (user state, campaign, channel, candidate send time) into the
 * model's feature vector (DESIGN.md invariant 8). Serving calls it for every candidate slot,
 * the decision log carries its output, and training reads that log, so there is no second
 * implementation to drift from this one. Pure: `now` is passed in, the user state is never
 * mutated, and only data known at decision time is read (no labels, nothing after `now`).
 *
 * Changing any feature's meaning, scale or order requires a new FEATURE_SPEC.version: logged
 * vectors and trained models are keyed by it.
 */
import type { Campaign } from '../../processor/messages/index.js';
// The time constants and scales the feature operator writes with: imported, not copied, so
// the writer and this reader cannot disagree (features.ts documents this module as its reader).
import { CATEGORIES, CATEGORY_TIME_CONSTANT_MS, CHANNEL_TIME_CONSTANT_MS, HOW_SCALE, HOW_STEP_MS, HOW_TIME_CONSTANT_MS, weekdayShare, WINDOWS_MS } from './features.js';
import { isValidTimeZone, localTime } from './local-time.js';
import { blendShare, HOURS_PER_WEEK } from './send-time.js';
import type { Channel, Kind, UserState } from './types.js';
import { copyRow, newRow } from './row-slab.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;

/** Time constant of the per-channel "sends this week" fatigue count computed from `sent`. */
export const WEEK_SENDS_TIME_CONSTANT_MS = 7 * DAY;
/** Beyond this, "hours since" carries no more information and a missing event reads as this. */
export const RECENCY_CAP_HOURS = 90 * 24;
/** Same for "hours since the last message", bounded by how long `sent` is kept anyway. */
export const SEND_RECENCY_CAP_HOURS = 30 * 24;
/** Prior CTR per channel for the smoothed CTR feature: typical published rates. */
export const CHANNEL_PRIOR_CTR: Readonly<Record<Channel, number>> = { push: 0.03, sms: 0.015 };
/** Pseudo-sends behind that prior: a user's own CTR dominates after ~10 decayed sends. */
export const CTR_PRIOR_SENDS = 10;
/** blendShare's k: decayed events before the user's own hour-of-week pattern weighs as much as the population's. */
export const BLEND_K = 20;
/**
 * The same for the hour-of-day lift (f5): its 24 pooled, smoothed buckets fill 7× faster than
 * the 168 hour-of-week ones, so a handful of events already says when the user is about.
 */
export const HOUR_BLEND_K = 5;
/**
 * Width (hours) of the Gaussian kernel that smooths the hour-of-day lift. People keep habits to
 * within an hour or so; a user seen at 20:10 and 21:40 is likely about at 21:00 too, which raw
 * hourly buckets of a few days' history cannot say.
 */
export const HOUR_KERNEL_HOURS = 1;
/** Pseudo-events spread evenly over the categories behind category_share: 1 each. */
export const CATEGORY_PRIOR_EVENTS = CATEGORIES;

/** Activity event types read as counts (log1p of the decayed count at 24 h, 7 d and 30 d). */
const COUNTED_TYPES = ['app_open', 'view', 'click', 'add_to_cart', 'purchase'] as const;
/** Indices into c[type] for the 24 h, 7 d, 30 d windows (the 1 h one is too noisy to schedule on). */
const COUNTED_WINDOWS = [1, 2, 3] as const;

export const FEATURE_SPEC = {
  version: 'f5',
  names: [
    // Activity: log1p(decayed count as of `now`), per event type and window.
    'app_open_24h', // app opens, 24 h time constant: is the user active right now
    'app_open_7d', // app opens, 7 d: this week's engagement
    'app_open_30d', // app opens, 30 d: baseline engagement
    'view_24h', // product / content views, 24 h
    'view_7d', // views, 7 d
    'view_30d', // views, 30 d
    'click_24h', // in-app clicks, 24 h
    'click_7d', // in-app clicks, 7 d
    'click_30d', // in-app clicks, 30 d
    'add_to_cart_24h', // add-to-cart, 24 h: open purchase intent
    'add_to_cart_7d', // add-to-cart, 7 d
    'add_to_cart_30d', // add-to-cart, 30 d
    'purchase_24h', // purchases, 24 h: just bought (may suppress or help cross-sell)
    'purchase_7d', // purchases, 7 d
    'purchase_30d', // purchases, 30 d: buyer vs browser
    // Recency.
    'log_hours_since_app_open', // log1p(hours since the last app open, capped at 90 d; never = cap)
    'log_hours_since_purchase', // log1p(hours since the last purchase, capped at 90 d; never = cap)
    'log_hours_since_send', // log1p(hours since our last message on any channel, capped at 30 d)
    // Channel.
    'channel_sms', // 1 when scoring the SMS channel
    'channel_push', // 1 when scoring the push channel
    'channel_ctr', // smoothed CTR of this channel for this user: (clicks + 10·prior)/(sends + 10)
    'channel_sends_7d', // log1p(sends on this channel decayed with 7 d, from the send history): fatigue
    'channel_sends_30d', // log1p(sends on this channel decayed with 30 d, from ch[channel].s): fatigue
    // Send time (user-local at the candidate slot).
    'user_slot_lift', // user's share of activity in the slot's hour-of-week, normalised per weekday (weekdayShare), ×168 (1 = uniform; 1 without history)
    'pop_slot_lift', // population's share in that hour-of-week ×168 (populationPrior: normalised per weekday too)
    'blend_slot_lift', // blendShare(user, mass, population, k = 20) ×168: the send-time affinity
    'user_how_mass', // log1p(decayed events in the user's hour-of-week histogram): how much to trust it
    'hour_sin', // sin(2π·local time of day / 24 h)
    'hour_cos', // cos(2π·local time of day / 24 h)
    'weekend', // 1 on local Saturday or Sunday
    // Campaign.
    'kind_transactional', // campaign kind one-hot
    'kind_service',
    'kind_promotional',
    'kind_reminder',
    'campaign_value', // log1p(campaign value per conversion; 0 when unset)
    'user_value', // log1p(profile value; 0 when unknown; the policy, not the model, applies defaultUserValue)
    'window_position', // (sendAt − window start) / window length, in [0, 1]
    'log_hours_until_send', // log1p(hours from now to the slot): delay cost
    // Reachability.
    'has_push_token', // 1 when the profile has at least one push token
    'has_phone', // 1 when the profile has a phone number (presence only; the number is never read)
    // Fatigue across channels (f4).
    'messages_7d_before_slot', // log1p(messages sent or already scheduled, any channel, in the 7 days before the slot)
    // Hour of day, smoothed (f5): the hour-of-week buckets pooled over the week, Gaussian kernel of HOUR_KERNEL_HOURS.
    'user_hour_lift', // user's smoothed share of activity at the slot's local time of day ×24 (1 = uniform; 1 without history)
    'blend_hour_lift', // the same blended with the population's, k = HOUR_BLEND_K decayed events
    // Interest (f5): what the user views, carts and buys, by category.
    'category_share', // (events in the campaign's category + 1)/(categorised events + 10) ×10 (1 = uniform; 1 when the campaign has no category)
    'category_events', // log1p(decayed categorised events as of now): how much to trust category_share
  ],
} as const;

export type FeatureName = (typeof FEATURE_SPEC.names)[number];
export const FEATURE_COUNT = FEATURE_SPEC.names.length;

const INDEX = new Map<string, number>(FEATURE_SPEC.names.map((n, i) => [n, i]));

/** Position of a feature in the vector; throws for a name not in FEATURE_SPEC (a typo must not read feature 0). */
export function featureIndex(name: FeatureName): number {
  const i = INDEX.get(name);
  if (i === undefined) throw new RangeError(`unknown feature "${String(name)}" in ${FEATURE_SPEC.version}`);
  return i;
}

export interface FeatureInput {
  user: UserState;
  campaign: Campaign;
  channel: Channel;
  /** Candidate send instant, epoch ms. */
  sendAt: number;
  /** Decision time (the injected clock), epoch ms. */
  now: number;
  /** The user's IANA zone (profile, else country default, else policy default). */
  timeZone: string;
  /** Population hour-of-week shares: 168 numbers summing to 1 (populationPrior's output). */
  population: readonly number[];
}

/** Decay factor from `from` to `to`; never above 1, so state stamped after `now` is not inflated. */
function decay(from: number, to: number, timeConstant: number): number {
  const dt = to - from;
  return dt > 0 ? Math.exp(-dt / timeConstant) : 1;
}

function finiteNonNegative(x: number | undefined): number {
  return x !== undefined && Number.isFinite(x) && x > 0 ? x : 0;
}

/** log1p(hours between `then` and `now`), capped; a missing or future `then` handled explicitly. */
function logHoursSince(then: number | undefined, now: number, capHours: number): number {
  if (then === undefined || !Number.isFinite(then)) return Math.log1p(capHours);
  const hours = Math.max(0, now - then) / HOUR;
  return Math.log1p(Math.min(hours, capHours));
}

const KINDS: readonly Kind[] = ['transactional', 'service', 'promotional', 'reminder'];

/**
 * What a row reads of the user alone, as of `now`: the same for every channel and slot of a
 * candidate, so a decision computes it once for its 5–25 rows rather than once per row (the
 * decayed counts, the send history and the 168-bucket histogram total).
 */
export interface UserFeatureParts {
  readonly user: UserState;
  readonly now: number;
  /** log1p of the decayed counts, COUNTED_TYPES × COUNTED_WINDOWS in FEATURE_SPEC order. */
  readonly activity: readonly number[];
  readonly sinceAppOpen: number;
  readonly sincePurchase: number;
  readonly sinceSend: number;
  /** Sends per channel decayed with WEEK_SENDS_TIME_CONSTANT_MS, from `sent`. */
  readonly weekSends: Readonly<Record<Channel, number>>;
  /** Sum of the histogram's buckets, and the decayed events it holds as of `now`. */
  readonly howTotal: number;
  readonly userMass: number;
  /** The histogram's buckets pooled over the week: 24 hours of day (raw units; zeros without history). */
  readonly hourOfDay: Float64Array;
  /** Categorised events as of `now`, per category (f.cat decayed), and their sum. */
  readonly categories: readonly number[] | undefined;
  readonly categoryTotal: number;
  /**
   * What a row reads of its slot alone, by slot instant: the same for both channels and for
   * every campaign, so the SMS and push rows of a slot (and the harm rows of the user's other
   * messages) compute it once. Filled by featureVector. It counts the user's sent and pending
   * messages before the slot: once either list changes, the parts must be made again.
   */
  readonly slots: Map<number, SlotParts>;
}

/** The features of a slot that depend on neither channel nor campaign (raw, before the float32 row). */
interface SlotParts {
  /** What they were computed with: a different zone or population prior makes them stale. */
  readonly timeZone: string;
  readonly population: readonly number[];
  readonly userSlotLift: number;
  readonly popSlotLift: number;
  readonly blendSlotLift: number;
  readonly sin: number;
  readonly cos: number;
  readonly weekend: number;
  readonly recentMessages: number;
  readonly userHourLift: number;
  readonly blendHourLift: number;
}

export function userFeatureParts(user: UserState, now: number): UserFeatureParts {
  const f = user.features;
  // Activity counts, brought forward from f.at to `now`: the stored values are as of the last
  // event, and a user idle for a week must not look as active as on the day they were stored.
  const activity: number[] = [];
  for (const type of COUNTED_TYPES) {
    const counts = f.c[type];
    for (const w of COUNTED_WINDOWS) {
      const raw = finiteNonNegative(counts?.[w]);
      activity.push(Math.log1p(raw * decay(f.at, now, WINDOWS_MS[w])));
    }
  }
  // Only sends at or before `now` are history; later entries would be scheduled, not sent.
  let lastSend: number | undefined;
  const weekSends: Record<Channel, number> = { sms: 0, push: 0 };
  for (const s of user.sent) {
    if (!(s.t <= now)) continue;
    if (lastSend === undefined || s.t > lastSend) lastSend = s.t;
    weekSends[s.ch] += decay(s.t, now, WEEK_SENDS_TIME_CONSTANT_MS);
  }
  let howTotal = 0;
  const how = f.how;
  if (how !== undefined) for (let b = 0; b < HOURS_PER_WEEK; b++) howTotal += finiteNonNegative(how[b]);
  // features.ts keeps `how` as of the HOW_STEP_MS boundary at or before f.at (it decays in whole
  // steps), so the mass is brought forward from that boundary, not from f.at.
  const howAsOf = Math.floor(f.at / HOW_STEP_MS) * HOW_STEP_MS;
  const hourOfDay = new Float64Array(24);
  if (how !== undefined) for (let b = 0; b < HOURS_PER_WEEK; b++) hourOfDay[b % 24] = (hourOfDay[b % 24] as number) + finiteNonNegative(how[b]);
  let categories: number[] | undefined;
  let categoryTotal = 0;
  if (f.cat !== undefined) {
    const k = decay(f.at, now, CATEGORY_TIME_CONSTANT_MS);
    categories = new Array<number>(CATEGORIES);
    for (let c = 0; c < CATEGORIES; c++) categoryTotal += categories[c] = finiteNonNegative(f.cat[c]) * k;
  }
  return {
    user,
    now,
    activity,
    sinceAppOpen: logHoursSince(f.last['app_open'], now, RECENCY_CAP_HOURS),
    sincePurchase: logHoursSince(f.last['purchase'], now, RECENCY_CAP_HOURS),
    sinceSend: logHoursSince(lastSend, now, SEND_RECENCY_CAP_HOURS),
    weekSends,
    howTotal,
    userMass: (howTotal / HOW_SCALE) * decay(howAsOf, now, HOW_TIME_CONSTANT_MS),
    hourOfDay,
    categories,
    categoryTotal,
    slots: new Map(),
  };
}

/**
 * 24 × the kernel-smoothed share of `hours` (24 non-negative numbers) at `minuteOfDay`: the
 * buckets' centres (h + 0.5) weighed by a Gaussian of the circular distance. 1 for uniform
 * hours, and 1 when they hold nothing.
 */
export function smoothedHourLift(hours: ArrayLike<number>, minuteOfDay: number): number {
  const w = kernelAt(minuteOfDay);
  let weighted = 0;
  let total = 0;
  for (let h = 0; h < 24; h++) {
    const x = hours[h] as number;
    weighted += (w[h] as number) * x;
    total += x;
  }
  return total > 0 ? (24 * weighted) / total : 1;
}

// Kernel weights per minute of the day, normalised to sum to 1, made when first needed: every
// row needs them twice (the user's hours and the population's), and slots fall on few minutes.
const kernels: Array<Float64Array | undefined> = new Array(1440);

function kernelAt(minuteOfDay: number): Float64Array {
  const m = Math.min(1439, Math.max(0, Math.floor(Number.isFinite(minuteOfDay) ? minuteOfDay : 0)));
  let w = kernels[m];
  if (w === undefined) {
    w = new Float64Array(24);
    const centre = m / 60;
    let sum = 0;
    for (let h = 0; h < 24; h++) {
      let d = Math.abs(h + 0.5 - centre);
      if (d > 12) d = 24 - d;
      sum += w[h] = Math.exp(-(d * d) / (2 * HOUR_KERNEL_HOURS * HOUR_KERNEL_HOURS));
    }
    for (let h = 0; h < 24; h++) w[h] = (w[h] as number) / sum;
    kernels[m] = w;
  }
  return w;
}

// The population's 168 shares pooled to 24 hours of day, per array: the prior changes rarely.
const pooledPopulation = new WeakMap<readonly number[], Float64Array>();

function populationHours(population: readonly number[]): Float64Array {
  let out = pooledPopulation.get(population);
  if (out === undefined) {
    out = new Float64Array(24);
    for (let b = 0; b < HOURS_PER_WEEK; b++) out[b % 24] = (out[b % 24] as number) + finiteNonNegative(population[b]);
    pooledPopulation.set(population, out);
  }
  return out;
}

/** The features of the slot at `sendAt` that neither the channel nor the campaign changes. */
function slotParts(p: UserFeatureParts, sendAt: number, timeZone: string, population: readonly number[]): SlotParts {
  const { user, now, howTotal, userMass } = p;
  // Hour-of-week at the candidate slot, in the user's zone. An unknown zone falls back to UTC
  // rather than throwing: a bad profile field must not stop the partition (invariant 6).
  const zone = isValidTimeZone(timeZone) ? timeZone : 'UTC';
  const local = localTime(sendAt, zone);
  const bucket = local.hourOfWeek;
  const how = user.features.how;
  // Without history the user's own share is undefined; uniform is the neutral value, and
  // user_how_mass = 0 tells a model to ignore it. With history, the share is normalised per
  // weekday (f3; f1 read the raw bucket, which a history of a few days leaves empty on the
  // campaign's weekday and concentrated on the days it has).
  const userShare = howTotal > 0 && how !== undefined ? weekdayShare(how, howTotal, bucket) : 1 / HOURS_PER_WEEK;
  const popRaw = population[bucket];
  const popShare = popRaw !== undefined && Number.isFinite(popRaw) && popRaw >= 0 ? popRaw : 1 / HOURS_PER_WEEK;
  const angle = (2 * Math.PI * local.minuteOfDay) / 1440;
  // A user tires of messages, not of a channel: the per-channel counts miss the other
  // channel's messages and the ones already scheduled before this slot.
  let recent = 0;
  for (const s of user.sent) if (s.t <= now && s.t < sendAt && sendAt - s.t < WEEK) recent++;
  for (const q of user.pending) if (q.t < sendAt && sendAt - q.t < WEEK) recent++;
  const userHour = smoothedHourLift(p.hourOfDay, local.minuteOfDay);
  return {
    timeZone,
    population,
    userSlotLift: userShare * HOURS_PER_WEEK,
    popSlotLift: popShare * HOURS_PER_WEEK,
    blendSlotLift: blendShare(userShare, userMass, popShare, BLEND_K) * HOURS_PER_WEEK,
    sin: Math.sin(angle),
    cos: Math.cos(angle),
    // Saturday/Sunday; markets with a Friday/Saturday weekend get it wrong, which a country feature can fix later.
    weekend: local.weekday >= 6 ? 1 : 0,
    recentMessages: Math.log1p(recent),
    userHourLift: userHour,
    blendHourLift: blendShare(userHour, userMass, smoothedHourLift(populationHours(population), local.minuteOfDay), HOUR_BLEND_K),
  };
}

const RECENT_MESSAGES = featureIndex('messages_7d_before_slot');

/**
 * `row` with `n` more messages in messages_7d_before_slot, written as featureVector writes it
 * (log1p of a whole count, as a float32): a batch's call scores such rows for a user's later
 * candidates, which cannot be planned ahead exactly, and such a row serves only when its bytes match.
 */
export function withMoreRecent(row: Float32Array, n: number): Float32Array {
  const out = copyRow(row);
  out[RECENT_MESSAGES] = Math.log1p(Math.round(Math.expm1(row[RECENT_MESSAGES] as number)) + n);
  return out;
}

/**
 * The feature vector in FEATURE_SPEC.names order; every entry finite (anything else becomes 0).
 * `parts` is userFeatureParts(input.user, input.now), when the caller scores several rows of one
 * user; it must have been computed for this user and instant, with the state unchanged since.
 */
export function featureVector(input: FeatureInput, parts?: UserFeatureParts): Float32Array {
  const { user, campaign, channel, sendAt, now, population } = input;
  const p = parts !== undefined && parts.user === user && parts.now === now ? parts : userFeatureParts(user, now);
  const f = user.features;
  const out = newRow(FEATURE_COUNT);
  let i = 0;
  const put = (x: number): void => {
    out[i++] = Number.isFinite(x) ? x : 0;
  };

  const activity = p.activity;
  for (let k = 0; k < activity.length; k++) put(activity[k] as number);
  put(p.sinceAppOpen);
  put(p.sincePurchase);
  put(p.sinceSend);

  put(channel === 'sms' ? 1 : 0);
  put(channel === 'push' ? 1 : 0);
  const ch = f.ch[channel];
  const chDecay = decay(f.at, now, CHANNEL_TIME_CONSTANT_MS);
  const sends30 = finiteNonNegative(ch?.s) * chDecay;
  const clicks30 = finiteNonNegative(ch?.c) * chDecay;
  const prior = CHANNEL_PRIOR_CTR[channel];
  put(Math.min(1, (clicks30 + CTR_PRIOR_SENDS * prior) / (sends30 + CTR_PRIOR_SENDS)));
  put(Math.log1p(p.weekSends[channel]));
  put(Math.log1p(sends30));

  let slot = p.slots.get(sendAt);
  if (slot === undefined || slot.timeZone !== input.timeZone || slot.population !== population) p.slots.set(sendAt, (slot = slotParts(p, sendAt, input.timeZone, population)));
  put(slot.userSlotLift);
  put(slot.popSlotLift);
  put(slot.blendSlotLift);
  put(Math.log1p(p.userMass));
  put(slot.sin);
  put(slot.cos);
  put(slot.weekend);

  for (const k of KINDS) put(campaign.kind === k ? 1 : 0);
  put(Math.log1p(finiteNonNegative(campaign.value)));
  put(Math.log1p(finiteNonNegative(user.profile?.value)));
  const length = campaign.window.end - campaign.window.start;
  put(length > 0 ? Math.min(1, Math.max(0, (sendAt - campaign.window.start) / length)) : 0);
  put(Math.log1p(Math.max(0, sendAt - now) / HOUR));

  put((user.profile?.pushTokens.length ?? 0) > 0 ? 1 : 0);
  const phone = user.profile?.phone;
  put(typeof phone === 'string' && phone.length > 0 ? 1 : 0);

  put(slot.recentMessages);
  put(slot.userHourLift);
  put(slot.blendHourLift);
  const category = campaign.category;
  const inCategory = category !== undefined && p.categories !== undefined ? (p.categories[category] ?? 0) : 0;
  put(category === undefined ? 1 : ((inCategory + 1) / (p.categoryTotal + CATEGORY_PRIOR_EVENTS)) * CATEGORY_PRIOR_EVENTS);
  put(Math.log1p(p.categoryTotal));

  // A miscount here would silently shift every later feature: fail loudly instead.
  if (i !== FEATURE_COUNT) throw new Error(`featureVector wrote ${i} features, ${FEATURE_SPEC.version} has ${FEATURE_COUNT}`);
  return out;
}
