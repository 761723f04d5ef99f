import assert from 'node:assert/strict';
import { test } from 'node:test';
import { localTime } from '../operators/decisions/local-time.js';
import { DEFAULT_WORLD, simUser, type SimUser } from '../bench/sim/population.js';
import { mulberry32 } from '../bench/sim/random.js';
import { baselines, evaluate, OWN_BEST_HOUR, ownBestSlot, type CandidateOffer } from '../bench/sim/quality.js';
import { recentCount, type Message } from '../bench/sim/response.js';

const HOUR = 3_600_000;
// Monday 2026-11-23 00:00 UTC.
const DAY = Date.UTC(2026, 10, 23);

test('ownBestSlot: the open slot in the hour of most past activity, the earliest on a tie; none without activity there', () => {
  const open = [0, 1, 2, 3, 4, 5].map((h) => DAY + h * HOUR);
  const hourOf = (t: number) => new Date(t).getUTCHours();
  const activity = new Array<number>(24).fill(0);
  activity[3] = 4;
  activity[5] = 4;
  activity[1] = 2;
  activity[20] = 9; // the most active hour, but not open
  assert.equal(ownBestSlot(open, activity, hourOf), DAY + 3 * HOUR);
  assert.equal(ownBestSlot(open, new Array<number>(24).fill(0), hourOf), undefined);
  assert.equal(ownBestSlot(open, undefined, hourOf), undefined);
  activity[3] = 0;
  activity[5] = 0;
  activity[1] = 0;
  assert.equal(ownBestSlot(open, activity, hourOf), undefined, 'activity only outside the window');
});

test("baselines: each simpler policy messages every offer with an open slot once; the user's best hour beats a random slot when the history follows the habits", () => {
  const users = new Map<string, SimUser>();
  for (let i = 0; i < 3000; i++) {
    const u = simUser(DEFAULT_WORLD, i);
    users.set(u.userId, u);
  }
  const userOf = (id: string) => users.get(id) as SimUser;
  const hourOf = (userId: string, at: number) => Math.floor(localTime(at, userOf(userId).timezone).minuteOfDay / 60);
  // A 12-hour window from 09:00 India time; nothing is allowed for every tenth user.
  const offers: CandidateOffer[] = [...users.values()].map((u, i) => ({
    userId: u.userId,
    channel: 'push',
    category: 5,
    windowStart: DAY + 3.5 * HOUR,
    windowEnd: DAY + 15.5 * HOUR,
    allowed: () => i % 10 !== 0,
  }));
  // Past activity drawn in proportion to the true hourly rhythm, as the simulator's events are.
  const history = new Map<string, number[]>();
  const rng = mulberry32(7);
  for (const u of users.values()) {
    const counts = new Array<number>(24).fill(0);
    for (let k = 0; k < 12; k++) {
      let r = rng() * 24;
      let h = 0;
      while (h < 23 && (r -= u.traits.hourly[h] as number) >= 0) h++;
      counts[h] = (counts[h] as number) + 1;
    }
    history.set(u.userId, counts);
  }
  const policies = baselines(offers, {
    userOf,
    rand: mulberry32(1),
    populationBestHour: () => undefined,
    ownActivity: { byHour: (id) => history.get(id), hourOf },
  });
  assert.deepEqual(Object.keys(policies), ['window start', 'random time', 'population best hour', OWN_BEST_HOUR, 'oracle']);
  for (const name of ['window start', 'random time', 'population best hour', OWN_BEST_HOUR]) {
    const messages = policies[name] ?? [];
    assert.equal(messages.length, 2700, name);
    assert.equal(new Set(messages.map((m) => m.userId)).size, 2700, `${name}: one message a user`);
  }
  assert.ok((policies['oracle'] ?? []).length < 2700, 'the oracle chooses whom to message');
  const judge = (name: string) => evaluate(name, policies[name] ?? [], userOf, () => 0);
  const own = judge(OWN_BEST_HOUR);
  const random = judge('random time');
  assert.ok(own.clicksPer1000 > random.clicksPer1000 * 1.05, `user's best hour ${own.clicksPer1000.toFixed(1)} vs random ${random.clicksPer1000.toFixed(1)} clicks/1k`);
  assert.ok(own.clicksPer1000 < judge('oracle').clicksPer1000);
  // Without the option the row is absent, so other callers keep their four policies.
  assert.deepEqual(Object.keys(baselines(offers, { userOf, rand: mulberry32(1), populationBestHour: () => undefined })), ['window start', 'random time', 'population best hour', 'oracle']);
});

test('ground truth: a message tires the user for every later one in the week, including one sent at the same instant', () => {
  const at = DAY + 14 * HOUR;
  assert.equal(recentCount([], at), 0);
  assert.equal(recentCount([at], at), 1, 'two messages at once are two messages');
  assert.equal(recentCount([at - HOUR, at, at + HOUR], at), 2, 'a later message does not count');
  assert.equal(recentCount([at - 7 * 24 * HOUR], at), 0, 'a week ago has worn off');
  // Two promotions at the user's best instant get fewer clicks and more opt-outs per message than one.
  const u = simUser(DEFAULT_WORLD, 1);
  const m = (t: number): Message => ({ userId: u.userId, channel: 'push', category: 5, at: t });
  const one = evaluate('one', [m(at)], () => u, () => 0);
  const twice = evaluate('twice', [m(at), m(at)], () => u, () => 0);
  assert.ok(twice.clicksPer1000 < one.clicksPer1000, `${twice.clicksPer1000} < ${one.clicksPer1000}`);
  assert.ok(twice.optOutsPer1000 > one.optOutsPer1000, `${twice.optOutsPer1000} > ${one.optOutsPer1000}`);
});
