import { instantOf, localTime } from '../../operators/decisions/local-time.js';
import type { SimUser } from './population.js';
import { mixSeed, mulberry32, type Rng } from './random.js';

export interface SimEvent {
  userId: string;
  ts: number;
  type: 'app_open' | 'view' | 'add_to_cart' | 'purchase';
  value?: number;
}

const DAY = 86_400_000;
const MINUTE = 60_000;

function poisson(rng: Rng, mean: number): number {
  // Knuth's method: fine for the small means of daily sessions.
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

/**
 * A user's sessions between `from` and `to`: a Poisson number per local day, at hours drawn
 * from their habitual rhythm, each an app open with views and sometimes a cart or a purchase
 * (likelier for users interested in more categories).
 */
export function userEvents(u: SimUser, from: number, to: number, seed: number): SimEvent[] {
  const out: SimEvent[] = [];
  const first = localTime(from, u.timezone).day;
  const last = localTime(to, u.timezone).day;
  const buyer = u.traits.interest.reduce((a, b) => a + b, 0) / 10;
  for (let day = first; day <= last; day++) {
    const rng = mulberry32(mixSeed(seed, u.index, day));
    const sessions = poisson(rng, u.traits.activity);
    for (let s = 0; s < sessions; s++) {
      const minute = sampleHour(rng, u.traits.hourly) * 60 + Math.floor(rng() * 60);
      const ts = instantOf(day, minute, u.timezone);
      if (ts < from || ts >= to) continue;
      out.push({ userId: u.userId, ts, type: 'app_open' });
      const views = 1 + Math.floor(rng() * 3);
      for (let v = 0; v < views; v++) out.push({ userId: u.userId, ts: ts + (v + 1) * MINUTE, type: 'view' });
      if (rng() < 0.12 * (0.5 + buyer)) out.push({ userId: u.userId, ts: ts + 5 * MINUTE, type: 'add_to_cart' });
      if (rng() < 0.025 * (0.5 + buyer)) out.push({ userId: u.userId, ts: ts + 8 * MINUTE, type: 'purchase', value: Math.round(200 + rng() * 2800) });
    }
  }
  return out.sort((a, b) => a.ts - b.ts);
}

export const DAYS = DAY;
