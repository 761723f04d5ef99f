import assert from 'node:assert/strict';
import { test } from 'node:test';
import { activityScaleFor, naturalEventsPerUserDay, TARGET_EVENTS_PER_USER_DAY, userEvents, type SimEvent } from '../bench/sim/activity.js';
import { DEFAULT_WORLD, population, simUser, type SimUser } from '../bench/sim/population.js';
import { localTime } from '../operators/decisions/local-time.js';
import { activityEvents, BENCH_START } from '../bench/decision-workload.js';

// The activity generator: sessions that follow each user's habitual hours and interests, at a
// configurable rate, up to the target load's 200 a user a day (9B events a day over 45M users).

const DAY = 86_400_000;
/** Monday 2026-03-02 00:00 UTC: any fixed span would do. */
const FROM = Date.UTC(2026, 2, 2);
const SEED = 42;
const users: SimUser[] = [...population(DEFAULT_WORLD, 3000, 10_000)];

function perUserDay(events: number, n: number, days: number): number {
  return events / (n * days);
}

test('activity: deterministic, in time order, inside the span, of the user, with categories on views, carts and purchases', () => {
  const u = simUser(DEFAULT_WORLD, 12);
  const a = userEvents(u, FROM, FROM + 7 * DAY, SEED);
  assert.deepEqual(userEvents(u, FROM, FROM + 7 * DAY, SEED), a);
  assert.notDeepEqual(userEvents(u, FROM, FROM + 7 * DAY, SEED + 1), a, 'another seed, other sessions');
  assert.ok(a.length > 0);
  for (let i = 0; i < a.length; i++) {
    const e = a[i] as SimEvent;
    assert.equal(e.userId, u.userId);
    assert.ok(e.ts >= FROM && e.ts < FROM + 7 * DAY + 10 * 60_000, 'a session starts inside the span');
    if (i > 0) assert.ok(e.ts >= (a[i - 1] as SimEvent).ts, 'sorted by time');
    if (e.type !== 'app_open') assert.ok(Number.isInteger(e.category) && (e.category as number) >= 0 && (e.category as number) < 10, `${e.type} has a category`);
    if (e.type === 'purchase') assert.ok((e.value as number) > 0);
  }
  // A day is the same whether generated alone or inside a week: days have streams of their own.
  const day3 = userEvents(u, FROM + 3 * DAY, FROM + 4 * DAY, SEED);
  assert.deepEqual(day3, a.filter((e) => e.ts >= FROM + 3 * DAY && e.ts < FROM + 4 * DAY));
});

test("activity: sessions fall in the user's habitual hours and views in the user's interests", () => {
  let inTop = 0;
  let sessions = 0;
  let interested = 0;
  let expected = 0;
  let viewed = 0;
  for (const u of users.slice(0, 1000)) {
    // The user's six most active local hours hold a quarter of the day's hours and, by their
    // rhythm, far more than a quarter of their sessions.
    const top = u.traits.hourly.map((v, h) => [v, h] as const).sort((x, y) => y[0] - x[0]).slice(0, 6).map(([, h]) => h);
    const topCategory = u.traits.interest.indexOf(Math.max(...u.traits.interest));
    // A view's category is drawn by interest plus 0.05 for browsing (activity.ts).
    const pTop = ((u.traits.interest[topCategory] as number) + 0.05) / u.traits.interest.reduce((a, x) => a + x + 0.05, 0);
    for (const e of userEvents(u, FROM, FROM + 7 * DAY, SEED)) {
      if (e.type === 'app_open') {
        sessions++;
        if (top.includes(Math.floor(localTime(e.ts, u.timezone).minuteOfDay / 60))) inTop++;
      }
      if (e.type === 'view') {
        viewed++;
        expected += pTop;
        if (e.category === topCategory) interested++;
      }
    }
  }
  assert.ok(inTop / sessions > 0.5, `${((100 * inTop) / sessions).toFixed(1)}% of sessions in the user's six best hours (uniform: 25%)`);
  // Uniform would be 10%; the users' interests say how much more.
  const share = interested / viewed;
  assert.ok(Math.abs(share - expected / viewed) < 0.01 && share > 0.15, `${(100 * share).toFixed(1)}% of views in the user's favourite of 10 categories, ${((100 * expected) / viewed).toFixed(1)}% expected`);
});

test('activity: the rate is configurable: scale 1 is the default, 0 is silence, 3 is three times the events', () => {
  const some = users.slice(0, 500);
  const count = (scale?: number) => some.reduce((n, u) => n + userEvents(u, FROM, FROM + 3 * DAY, SEED, scale === undefined ? {} : { scale }).length, 0);
  const base = count();
  assert.deepEqual(userEvents(some[0] as SimUser, FROM, FROM + 3 * DAY, SEED, { scale: 1 }), userEvents(some[0] as SimUser, FROM, FROM + 3 * DAY, SEED));
  assert.equal(count(0), 0);
  const tripled = count(3);
  assert.ok(Math.abs(tripled / base - 3) < 0.15, `scale 3: ${tripled} events against ${base}`);
  assert.throws(() => userEvents(some[0] as SimUser, FROM, FROM + DAY, SEED, { scale: -1 }), /scale must be a finite number ≥ 0, got -1/);
  assert.throws(() => activityScaleFor(Number.NaN), /got NaN/);
});

test("activity: at the target load's rate, 200 events a user a day on average, still in the users' hours", () => {
  const natural = naturalEventsPerUserDay();
  assert.ok(natural > 5 && natural < 30, `the default world: ${natural.toFixed(1)} events a user a day`);
  const scale = activityScaleFor(TARGET_EVENTS_PER_USER_DAY);
  // Measured on users and days other than those the scale was measured on.
  const some = users.slice(1000, 1400);
  let events = 0;
  let inTop = 0;
  let sessions = 0;
  for (const u of some) {
    const top = u.traits.hourly.map((v, h) => [v, h] as const).sort((x, y) => y[0] - x[0]).slice(0, 6).map(([, h]) => h);
    for (const e of userEvents(u, FROM + 14 * DAY, FROM + 16 * DAY, SEED, { scale })) {
      events++;
      if (e.type !== 'app_open') continue;
      sessions++;
      if (top.includes(Math.floor(localTime(e.ts, u.timezone).minuteOfDay / 60))) inTop++;
    }
  }
  const rate = perUserDay(events, some.length, 2);
  // Users differ by an order of magnitude in activity, so the mean of 400 moves by ~10%.
  assert.ok(Math.abs(rate - TARGET_EVENTS_PER_USER_DAY) / TARGET_EVENTS_PER_USER_DAY < 0.2, `${rate.toFixed(1)} events a user a day`);
  assert.ok(inTop / sessions > 0.5, `${((100 * inTop) / sessions).toFixed(1)}% of sessions in the user's six best hours`);
});

test('activity: a very active user at a high scale gets about the mean, with no cap on sessions', () => {
  const u = users.reduce((a, b) => (b.traits.activity > a.traits.activity ? b : a));
  const scale = 400 / u.traits.activity; // 400 sessions a day: past the exact method's range
  let sessions = 0;
  const days = 5;
  for (const e of userEvents(u, FROM, FROM + days * DAY, SEED, { scale })) if (e.type === 'app_open') sessions++;
  // Sessions drawn at the same minute are kept; only those falling outside the span are not.
  assert.ok(Math.abs(sessions / days - 400) < 5 * Math.sqrt(400 / days) + 8, `${sessions / days} sessions a day against 400`);
});

test('activity as a bench workload: exactly N events, the latest before the bench\'s now, in time order, each a valid event of its key\'s user', () => {
  const a = activityEvents(5000, 800, SEED);
  const b = activityEvents(5000, 800, SEED);
  assert.deepEqual(a.values, b.values, 'same seed, same events');
  assert.notDeepEqual(activityEvents(5000, 800, SEED + 1).values, a.values, 'another seed, other events');
  assert.equal(a.keys.length, 5000);
  assert.equal(a.values.length, 5000);
  let same = 0;
  for (let i = 0; i < 5000; i++) {
    const e = JSON.parse(a.values[i] as string) as SimEvent;
    assert.equal(e.userId, a.keys[i]);
    assert.equal(e.userId, simUser(DEFAULT_WORLD, a.user[i] as number).userId, 'the key is the profile\'s user');
    assert.equal(e.ts, a.ts[i]);
    assert.equal(a.types[a.type[i] as number], e.type);
    assert.ok(e.ts < BENCH_START, 'before the bench\'s now');
    if (i > 0) assert.ok(e.ts >= (a.ts[i - 1] as number), 'time order');
    if (i > 0 && a.user[i] === a.user[i - 1]) same++;
  }
  // At 200 a user a day, 5,000 events of 800 users span under an hour, concentrated on the users active then.
  assert.ok((a.ts[4999] as number) - (a.ts[0] as number) < 2 * 3_600_000);
  assert.ok(a.distinctUsers < 800 && a.distinctUsers > 50, `distinct users ${a.distinctUsers}`);
  assert.ok(same > 200, `runs of one user's events: ${same}`);
  // A tenth of the rate spreads the same count over about ten times the span.
  const slow = activityEvents(5000, 800, SEED, TARGET_EVENTS_PER_USER_DAY / 10);
  const span = (x: typeof a) => (x.ts[4999] as number) - (x.ts[0] as number);
  assert.ok(span(slow) > 5 * span(a), `spans ${span(slow)} and ${span(a)}`);
  // The latest N: the last events come right up to now, and asking for fewer keeps the tail.
  assert.ok((a.ts[4999] as number) > BENCH_START - 10 * 60_000, 'the last event is within minutes of now');
  assert.deepEqual(activityEvents(4000, 800, SEED).values, a.values.slice(1000), 'the latest 4,000 are the tail of the latest 5,000');
  assert.throws(() => activityEvents(10, 10, SEED, 0), RangeError);
});
