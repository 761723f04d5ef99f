import { mixSeed, mulberry32, logNormal, pick, weighted, type Rng } from './random.js';

export type Country = 'IN' | 'US' | 'BR' | 'ID' | 'GB';
export type Habit = 'commute' | 'lunch' | 'evening' | 'late_night';

/** What the simulator knows about a user and nudge never sees: the ground truth of behaviour. */
export interface Traits {
  habit: Habit;
  /** Relative activity by local hour of day (24 numbers, mean 1). */
  hourly: number[];
  /** Interest per business category 0–9, in [0, 1]. */
  interest: number[];
  /** Mean app sessions per day. */
  activity: number;
  /** How fast repeated messages wear the user out (per message in the last 7 days). */
  fatigue: number;
  /** Base probability of opting out when messaged. */
  unsubscribe: number;
}

export interface SimUser {
  index: number;
  userId: string;
  country: Country;
  timezone: string;
  language: string;
  platform: 'android' | 'ios';
  phone: string | null;
  pushToken: string | null;
  consent: { sms: Record<'promotional' | 'service' | 'transactional' | 'reminder', boolean>; push: Record<'promotional' | 'service' | 'transactional' | 'reminder', boolean> };
  ncpr: { fullyBlocked: boolean; allowedCategories: number[] } | null;
  quietHours: { start: string; end: string } | null;
  value: number;
  name: string;
  traits: Traits;
}

export interface WorldConfig {
  seed: number;
  /** Share of users per country; mostly India, as nudge's first users. */
  countries: Record<Country, number>;
  smsConsent: number;
  pushConsent: number;
  phoneRate: number;
  pushRate: number;
  ncprFullyBlocked: number;
}

export const DEFAULT_WORLD: WorldConfig = {
  seed: 42,
  countries: { IN: 0.72, US: 0.1, BR: 0.08, ID: 0.06, GB: 0.04 },
  smsConsent: 0.6,
  pushConsent: 0.7,
  phoneRate: 0.9,
  pushRate: 0.65,
  ncprFullyBlocked: 0.12,
};

const ZONES: Record<Country, Array<[string, number]>> = {
  IN: [['Asia/Kolkata', 1]],
  US: [['America/New_York', 0.45], ['America/Chicago', 0.3], ['America/Denver', 0.07], ['America/Los_Angeles', 0.18]],
  BR: [['America/Sao_Paulo', 0.85], ['America/Manaus', 0.15]],
  ID: [['Asia/Jakarta', 0.6], ['Asia/Makassar', 0.3], ['Asia/Jayapura', 0.1]],
  GB: [['Europe/London', 1]],
};

// Twelve Indian languages by rough speaker share, so templates in several scripts get exercised.
const LANGUAGES: Record<Country, Record<string, number>> = {
  IN: { hi: 0.38, en: 0.15, bn: 0.08, te: 0.07, mr: 0.07, ta: 0.06, gu: 0.05, kn: 0.04, ml: 0.03, pa: 0.03, or: 0.02, as: 0.02 },
  US: { en: 0.85, es: 0.15 },
  BR: { pt: 1 },
  ID: { id: 1 },
  GB: { en: 1 },
};

const COUNTRY_CODE: Record<Country, string> = { IN: '+91', US: '+1', BR: '+55', ID: '+62', GB: '+44' };
const NAMES = ['Asha', 'Ravi', 'Priya', 'Arjun', 'Meera', 'Kabir', 'Sara', 'John', 'Ana', 'Budi', 'Emma', 'Lucas', 'Dewi', 'Rahul', 'Neha'];

/** Peaks of each habit, local hours, with their weights. */
const HABIT_PEAKS: Record<Habit, Array<[number, number]>> = {
  commute: [[8.5, 1], [18.5, 1]],
  lunch: [[13, 1.4], [20, 0.5]],
  evening: [[20.5, 1.6], [13, 0.3]],
  late_night: [[23, 1.5], [0.5, 0.8]],
};

function hourly(habit: Habit, rng: Rng): number[] {
  const out = new Array<number>(24).fill(0.05);
  for (const [peak, weight] of HABIT_PEAKS[habit]) {
    const shifted = peak + (rng() - 0.5) * 1.5;
    for (let h = 0; h < 24; h++) {
      const d = Math.min(Math.abs(h + 0.5 - shifted), 24 - Math.abs(h + 0.5 - shifted));
      out[h] = (out[h] as number) + weight * Math.exp(-(d * d) / 2);
    }
  }
  const mean = out.reduce((a, b) => a + b, 0) / 24;
  return out.map((v) => v / mean);
}

/** User `index` of the world: the same user every time, generated alone (random access, constant memory). */
export function simUser(world: WorldConfig, index: number): SimUser {
  const rng = mulberry32(mixSeed(world.seed, index, 0x5eed));
  const country = weighted(rng, world.countries);
  const zones = ZONES[country];
  let r = rng();
  let timezone = (zones[0] as [string, number])[0];
  for (const [z, w] of zones) {
    r -= w;
    if (r < 0) {
      timezone = z;
      break;
    }
  }
  const language = weighted(rng, LANGUAGES[country] as Record<string, number>);
  const platform = rng() < (country === 'IN' || country === 'ID' ? 0.9 : 0.5) ? 'android' : 'ios';
  const habit = weighted(rng, { commute: 0.3, lunch: 0.2, evening: 0.38, late_night: 0.12 } as Record<Habit, number>);
  const interest = Array.from({ length: 10 }, () => Math.min(1, rng() ** 2 * 1.3));
  const smsOk = rng() < world.smsConsent;
  const pushOk = rng() < world.pushConsent;
  const phone = rng() < world.phoneRate ? `${COUNTRY_CODE[country]}9${String(100_000_000 + index).slice(-9)}` : null;
  const pushToken = rng() < world.pushRate ? `sim-${platform}-${index.toString(36)}-${Math.floor(rng() * 1e9).toString(36)}` : null;
  const blocked = country === 'IN' && rng() < world.ncprFullyBlocked;
  const allowed = country === 'IN' ? [1, 2, 3, 4, 5, 6, 7].filter(() => rng() < 0.5) : [];
  return {
    index,
    userId: `u${index}`,
    country,
    timezone,
    language,
    platform,
    phone,
    pushToken,
    consent: {
      sms: { promotional: smsOk, service: smsOk || rng() < 0.5, transactional: true, reminder: smsOk },
      push: { promotional: pushOk, service: pushOk, transactional: true, reminder: pushOk },
    },
    ncpr: country === 'IN' ? { fullyBlocked: blocked, allowedCategories: allowed } : null,
    quietHours: rng() < 0.4 ? { start: pick(rng, ['22:00', '23:00', '21:30']), end: pick(rng, ['07:00', '08:00', '09:00']) } : null,
    value: Math.round(logNormal(rng, 1200, 0.8)),
    name: pick(rng, NAMES),
    traits: {
      habit,
      hourly: hourly(habit, rng),
      interest,
      activity: logNormal(rng, 2.5, 0.9),
      fatigue: 0.1 + rng() * 0.4,
      unsubscribe: logNormal(rng, 0.004, 0.7),
    },
  };
}

/**
 * Users `first` … `first + count - 1` of the world, one at a time. Nothing is kept from one to
 * the next, so a population of any size (the target load's 18M users reachable by SMS) streams through
 * a constant memory budget; any one user can still be made alone with simUser.
 */
export function* population(world: WorldConfig, count: number, first = 0): Generator<SimUser> {
  for (let i = first; i < first + count; i++) yield simUser(world, i);
}

/** The `nudge.profiles` record of a simulated user. */
export function profileRecord(u: SimUser): Record<string, unknown> {
  return {
    userId: u.userId,
    country: u.country,
    timezone: u.timezone,
    language: u.language,
    phone: u.phone,
    consent: u.consent,
    ...(u.ncpr !== null ? { ncpr: u.ncpr } : {}),
    pushTokens: u.pushToken === null ? [] : [{ platform: u.platform === 'android' ? 'fcm' : 'apns', token: u.pushToken }],
    quietHours: u.quietHours,
    value: u.value,
    name: u.name,
  };
}
