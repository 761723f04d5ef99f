import { instantOf, localTime } from '../../operators/decisions/local-time.js';
import { DEFAULT_WORLD, simUser, type SimUser, type WorldConfig } from './population.js';
import { mixSeed, mulberry32, normal, type Rng } from './random.js';

export interface SimEvent {
  userId: string;
  ts: number;
  type: 'app_open' | 'view' | 'add_to_cart' | 'purchase';
  value?: number;
  /** Business category (0–9) of what was viewed, carted or bought. */
  category?: number;
}

const DAY = 86_400_000;
const MINUTE = 60_000;

/**
 * The target load's rate: a retailer with 45M daily users and 9B user events a day, 200 a user
 * a day. A machine runs a share of the users at that rate, not every user at a share of it:
 * scaled to the machine, a run keeps the per-user rate and takes fewer users (activityScaleFor).
 */
export const TARGET_EVENTS_PER_USER_DAY = 9e9 / 45e6;

/**
 * The most events a user a day the demo and the ingest bench accept: five times the target
 * load. Both generate their events in memory first, so a rate far past it would run the
 * process out of memory rather than demonstrate anything.
 */
export const MAX_EVENTS_PER_USER_DAY = 5 * TARGET_EVENTS_PER_USER_DAY;

/** Above this mean, Knuth's method takes too many draws (one per session), and its cap of 200 starts to bind. */
const POISSON_KNUTH_MAX = 150;

function poisson(rng: Rng, mean: number): number {
  // A normal with the same mean and variance: within 1/sqrt(mean) of the Poisson at such means.
  if (mean > POISSON_KNUTH_MAX) return Math.max(0, Math.round(mean + Math.sqrt(mean) * normal(rng)));
  // Knuth's method: exact, and fine for the small means of daily sessions.
  const limit = Math.exp(-mean);
  let k = 0;
  let p = 1;
  do {
    k++;
    p *= rng();
  } while (p > limit && k < 200);
  return k - 1;
}

function sampleHour(rng: Rng, hourly: readonly number[]): number {
  let r = rng() * 24;
  for (let h = 0; h < 24; h++) {
    r -= hourly[h] as number;
    if (r < 0) return h;
  }
  return 23;
}

/** Weight every category gets besides the user's interest in it: people browse. */
const BROWSE = 0.05;

/** A category drawn in proportion to interest (plus a little of everything: people browse). */
function sampleCategory(rng: Rng, interest: readonly number[]): number {
  let total = 0;
  for (const x of interest) total += x + BROWSE;
  let r = rng() * total;
  for (let c = 0; c < interest.length; c++) {
    r -= (interest[c] as number) + BROWSE;
    if (r < 0) return c;
  }
  return interest.length - 1;
}

export interface ActivityOptions {
  /**
   * Multiplies every user's sessions a day (default 1: about 12 events a user a day in the
   * default world; activityScaleFor finds the scale of a target rate). The hours, categories
   * and what a session holds stay the same.
   */
  scale?: number;
}

/**
 * A user's sessions between `from` and `to`: a Poisson number per local day, at hours drawn
 * from their habitual rhythm, each an app open with views and sometimes a cart or a purchase
 * (likelier for users interested in more categories). Views, carts and purchases are of a
 * category drawn from the user's interests.
 */
export function userEvents(u: SimUser, from: number, to: number, seed: number, options: ActivityOptions = {}): SimEvent[] {
  const scale = options.scale ?? 1;
  if (!(scale >= 0) || !Number.isFinite(scale)) throw new RangeError(`activity scale must be a finite number ≥ 0, got ${scale}`);
  const out: SimEvent[] = [];
  const first = localTime(from, u.timezone).day;
  const last = localTime(to, u.timezone).day;
  const buyer = u.traits.interest.reduce((a, b) => a + b, 0) / 10;
  for (let day = first; day <= last; day++) {
    const rng = mulberry32(mixSeed(seed, u.index, day));
    // Categories from a stream of their own, so the sessions' times stay those of worlds without them.
    const categories = mulberry32(mixSeed(seed, u.index, day, 0xca7));
    const sessions = poisson(rng, u.traits.activity * scale);
    for (let s = 0; s < sessions; s++) {
      const minute = sampleHour(rng, u.traits.hourly) * 60 + Math.floor(rng() * 60);
      const ts = instantOf(day, minute, u.timezone);
      if (ts < from || ts >= to) continue;
      out.push({ userId: u.userId, ts, type: 'app_open' });
      const views = 1 + Math.floor(rng() * 3);
      let category = 0;
      for (let v = 0; v < views; v++) {
        category = sampleCategory(categories, u.traits.interest);
        out.push({ userId: u.userId, ts: ts + (v + 1) * MINUTE, type: 'view', category });
      }
      // What goes in the cart and gets bought is what was viewed last.
      if (rng() < 0.12 * (0.5 + buyer)) out.push({ userId: u.userId, ts: ts + 5 * MINUTE, type: 'add_to_cart', category });
      if (rng() < 0.025 * (0.5 + buyer)) out.push({ userId: u.userId, ts: ts + 8 * MINUTE, type: 'purchase', value: Math.round(200 + rng() * 2800), category });
    }
  }
  return out.sort((a, b) => a.ts - b.ts);
}

export const DAYS = DAY;

/** Users and days activityScaleFor measures the world's own rate on. */
const RATE_SAMPLE = { users: 2000, days: 7, from: Date.UTC(2026, 0, 5) };

/** Mean events a user a day of `world` at scale 1, measured on a fixed sample of its users and days. */
export function naturalEventsPerUserDay(world: WorldConfig = DEFAULT_WORLD): number {
  const { users, days, from } = RATE_SAMPLE;
  let events = 0;
  for (let i = 0; i < users; i++) events += userEvents(simUser(world, i), from, from + days * DAY, world.seed).length;
  return events / (users * days);
}

/**
 * The scale (ActivityOptions) at which `world`'s users average `eventsPerUserDay` events a day,
 * e.g. TARGET_EVENTS_PER_USER_DAY. Measured, not derived: what a session holds depends on each
 * user's interests.
 */
export function activityScaleFor(eventsPerUserDay: number, world: WorldConfig = DEFAULT_WORLD): number {
  if (!(eventsPerUserDay >= 0) || !Number.isFinite(eventsPerUserDay)) throw new RangeError(`events a user a day must be a finite number ≥ 0, got ${eventsPerUserDay}`);
  return eventsPerUserDay / naturalEventsPerUserDay(world);
}
