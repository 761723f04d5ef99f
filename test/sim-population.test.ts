import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DEFAULT_WORLD, population, simUser, type SimUser, type WorldConfig } from '../bench/sim/population.js';

// The population generator: deterministic by seed, drawn at the configured rates, and
// streaming (one user at a time), so that the target load's 18M users fit a bounded memory budget.

const N = 20_000;
const users: SimUser[] = [...population(DEFAULT_WORLD, N)];

/** |observed − expected| within `sigmas` standard errors of a proportion over n draws. */
function nearRate(observed: number, expected: number, n: number, what: string, sigmas = 4): void {
  const se = Math.sqrt((expected * (1 - expected)) / n);
  assert.ok(Math.abs(observed - expected) <= sigmas * se + 1e-9, `${what}: ${observed.toFixed(4)} against ${expected} (±${(sigmas * se).toFixed(4)} over ${n})`);
}

const share = (xs: readonly SimUser[], pick: (u: SimUser) => boolean) => xs.filter(pick).length / xs.length;

test('population: the same seed gives the same users, in any order and one at a time; another seed gives others', () => {
  const again = [...population(DEFAULT_WORLD, 500)];
  assert.deepEqual(again, users.slice(0, 500));
  // Random access: user 4,321 made alone, after others or before, is the same user.
  assert.deepEqual(simUser(DEFAULT_WORLD, 4321), users[4321]);
  assert.deepEqual([...population(DEFAULT_WORLD, 3, 4320)], users.slice(4320, 4323));
  const other = [...population({ ...DEFAULT_WORLD, seed: DEFAULT_WORLD.seed + 1 }, 500)];
  const same = other.filter((u, i) => JSON.stringify(u) === JSON.stringify(users[i])).length;
  assert.equal(same, 0, 'no user of another seed is the same');
  assert.deepEqual(other.map((u) => u.userId), users.slice(0, 500).map((u) => u.userId), 'ids follow the index, whatever the seed');
});

test('population: countries, consent, NCPR, phones and push tokens come at the configured rates', () => {
  for (const [country, expected] of Object.entries(DEFAULT_WORLD.countries)) nearRate(share(users, (u) => u.country === country), expected, N, `share of ${country}`);
  nearRate(share(users, (u) => u.consent.sms.promotional), DEFAULT_WORLD.smsConsent, N, 'promotional SMS consent');
  nearRate(share(users, (u) => u.consent.push.promotional), DEFAULT_WORLD.pushConsent, N, 'promotional push consent');
  nearRate(share(users, (u) => u.phone !== null), DEFAULT_WORLD.phoneRate, N, 'phone numbers');
  nearRate(share(users, (u) => u.pushToken !== null), DEFAULT_WORLD.pushRate, N, 'push tokens');
  const india = users.filter((u) => u.country === 'IN');
  nearRate(share(india, (u) => u.ncpr?.fullyBlocked === true), DEFAULT_WORLD.ncprFullyBlocked, india.length, 'NCPR fully blocked, in India');
  assert.ok(users.every((u) => (u.country === 'IN') === (u.ncpr !== null)), 'NCPR status for Indian numbers only');
  assert.ok(users.every((u) => u.consent.sms.transactional && u.consent.push.transactional), 'transactional messages need no opt-in');

  // Another configuration is followed as closely: the rates are settings, not constants.
  const world: WorldConfig = { ...DEFAULT_WORLD, seed: 9, countries: { IN: 0.2, US: 0.5, BR: 0.1, ID: 0.1, GB: 0.1 }, smsConsent: 0.15, pushRate: 0.95, ncprFullyBlocked: 0.5 };
  const others = [...population(world, 8000)];
  nearRate(share(others, (u) => u.country === 'US'), 0.5, others.length, 'share of US, reconfigured');
  nearRate(share(others, (u) => u.consent.sms.promotional), 0.15, others.length, 'SMS consent, reconfigured');
  nearRate(share(others, (u) => u.pushToken !== null), 0.95, others.length, 'push tokens, reconfigured');
  const otherIndia = others.filter((u) => u.country === 'IN');
  nearRate(share(otherIndia, (u) => u.ncpr?.fullyBlocked === true), 0.5, otherIndia.length, 'NCPR fully blocked, reconfigured');
});

test('population: phones are E.164 of the user\'s country, time zones are real and the country\'s, and there are more than ten languages', () => {
  const codes: Record<string, string> = { IN: '+91', US: '+1', BR: '+55', ID: '+62', GB: '+44' };
  for (const u of users) {
    if (u.phone !== null) assert.match(u.phone, /^\+[1-9]\d{7,14}$/, u.userId);
    if (u.phone !== null) assert.ok(u.phone.startsWith(codes[u.country] as string), `${u.userId}: ${u.country} number`);
  }
  const zones = new Map<string, Set<string>>();
  for (const u of users) zones.set(u.country, (zones.get(u.country) ?? new Set()).add(u.timezone));
  for (const [country, set] of zones) {
    for (const tz of set) assert.doesNotThrow(() => new Intl.DateTimeFormat('en', { timeZone: tz }), `${country}: ${tz}`);
  }
  assert.deepEqual([...(zones.get('IN') ?? [])], ['Asia/Kolkata']);
  assert.ok((zones.get('US')?.size ?? 0) >= 4, 'the US spans its time zones');
  const languages = new Set(users.map((u) => u.language));
  assert.ok(languages.size >= 10, `${languages.size} languages: ${[...languages].join(', ')}`);
  const indian = new Set(users.filter((u) => u.country === 'IN').map((u) => u.language));
  for (const l of ['hi', 'bn', 'ta', 'te']) assert.ok(indian.has(l), `Indian users speak ${l} too`);
  assert.deepEqual(new Set(users.map((u) => u.platform)), new Set(['android', 'ios']));
});

test('population: latent traits: four habits, hourly rhythms of mean 1 peaking at the habit\'s hours, interests in [0, 1], positive rates', () => {
  assert.deepEqual(new Set(users.map((u) => u.traits.habit)), new Set(['commute', 'lunch', 'evening', 'late_night']));
  for (const u of users.slice(0, 2000)) {
    const { hourly, interest, activity, fatigue, unsubscribe } = u.traits;
    assert.equal(hourly.length, 24);
    assert.ok(Math.abs(hourly.reduce((a, b) => a + b, 0) / 24 - 1) < 1e-9, `${u.userId}: hourly mean 1`);
    assert.equal(interest.length, 10);
    assert.ok(interest.every((x) => x >= 0 && x <= 1), `${u.userId}: interests in [0, 1]`);
    assert.ok(activity > 0 && fatigue > 0 && unsubscribe > 0 && u.value > 0, `${u.userId}: positive rates`);
  }
  // Each habit's users are most active, on average, around its peak (local hours).
  const peaks: Record<string, readonly number[]> = { commute: [8, 18], lunch: [12, 13], evening: [20, 21], late_night: [22, 23, 0] };
  for (const [habit, hours] of Object.entries(peaks)) {
    const mean = new Array<number>(24).fill(0);
    for (const u of users) if (u.traits.habit === habit) u.traits.hourly.forEach((v, h) => (mean[h] = (mean[h] as number) + v));
    const top = mean.indexOf(Math.max(...mean));
    assert.ok(hours.includes(top), `${habit}: most active at ${top}:00`);
  }
});

test('population: streams in constant memory: the heap stays where it was while 300,000 users go by', () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  const before = process.memoryUsage().heapUsed;
  let phones = 0;
  let n = 0;
  const grown: number[] = [];
  // Measured while the users stream, not after: a generator that made them all first would
  // hold them until the loop ends (and after the first one is taken, in its first `next`).
  for (const u of population(DEFAULT_WORLD, 300_000, 1_000_000)) {
    if (u.phone !== null) phones++;
    if (++n % 100_000 === 1) {
      gc();
      grown.push(process.memoryUsage().heapUsed - before);
    }
  }
  assert.equal(grown.length, 3);
  // Kept, 300,000 users would take hundreds of MB (a user is over a kilobyte of objects).
  for (const g of grown) assert.ok(g < 16 * 1024 * 1024, `heap grew ${(g / 1048576).toFixed(1)} MB: ${grown.map((x) => (x / 1048576).toFixed(1)).join(', ')}`);
  nearRate(phones / 300_000, DEFAULT_WORLD.phoneRate, 300_000, 'phones among them');
});
