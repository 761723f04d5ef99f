import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_WORLD, population, type SimUser } from '../bench/sim/population.js';
import { clickProbability, convertGivenClick, optOutProbability, type Message } from '../bench/sim/response.js';
import { instantOf, localTime } from '../operators/decisions/local-time.js';

// The ground truth: p(click) = hour affinity × interest × fatigue × channel, conversions given a
// click rising with interest, opt-outs rising with fatigue and irrelevance.

const users: SimUser[] = [...population(DEFAULT_WORLD, 300)];
const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `${what}: ${a} against ${b}`);

/** A message to `u` at local `hour` of a fixed day, in `category`, on `channel`. */
function at(u: SimUser, hour: number, category = 0, channel: Message['channel'] = 'push'): Message {
  const day = localTime(Date.UTC(2026, 10, 23, 12), u.timezone).day;
  return { userId: u.userId, channel, at: instantOf(day, hour * 60 + 30, u.timezone), category };
}

test('ground truth: p(click) is the product of the hour, interest, fatigue and channel factors', () => {
  let checked = 0;
  for (const u of users) {
    const { hourly, interest, fatigue } = u.traits;
    const p = (m: Message, recent = 0) => clickProbability(u, m, recent);
    // Below the 0.9 cap everywhere here (the largest factors of 300 users stay far from it).
    assert.ok(p(at(u, hourly.indexOf(Math.max(...hourly)), interest.indexOf(Math.max(...interest)))) < 0.9);
    // Each factor alone moves p by its own ratio, whatever the others are.
    for (const [h1, h2] of [[3, 20], [9, 13]] as const) {
      close(p(at(u, h1, 2)) / p(at(u, h2, 2)), (hourly[h1] as number) / (hourly[h2] as number), `${u.userId}: hours ${h1} and ${h2}`);
      close(p(at(u, h1, 2, 'sms')) / p(at(u, h2, 2, 'sms')), (hourly[h1] as number) / (hourly[h2] as number), `${u.userId}: hours on SMS`);
    }
    close(p(at(u, 12, 1)) / p(at(u, 12, 7)), (0.3 + (interest[1] as number)) / (0.3 + (interest[7] as number)), `${u.userId}: categories`);
    close(p(at(u, 12, 1), 4) / p(at(u, 12, 1)), Math.exp(-fatigue * 4), `${u.userId}: four recent messages`);
    close(p(at(u, 12, 1), 4) / p(at(u, 12, 1), 2), Math.exp(-fatigue * 2), `${u.userId}: two more`);
    checked++;
  }
  // The channel factor is one constant: the same push/SMS ratio for every user, hour and category.
  const ratio = clickProbability(users[0] as SimUser, at(users[0] as SimUser, 12), 0) / clickProbability(users[0] as SimUser, at(users[0] as SimUser, 12, 0, 'sms'), 0);
  assert.ok(ratio > 1, 'push is answered more than SMS');
  for (const u of users.slice(1, 50)) close(clickProbability(u, at(u, 18, 3), 1) / clickProbability(u, at(u, 18, 3, 'sms'), 1), ratio, `${u.userId}: channel`);
  assert.equal(checked, users.length);
});

test('ground truth: opt-outs rise with fatigue and with irrelevance; purchases after a click rise with interest', () => {
  for (const u of users) {
    const { interest } = u.traits;
    const liked = interest.indexOf(Math.max(...interest));
    const unliked = interest.indexOf(Math.min(...interest));
    for (const channel of ['sms', 'push'] as const) {
      const o = (category: number, recent: number) => optOutProbability(u, at(u, 12, category, channel), recent);
      for (let recent = 0; recent < 6; recent++) {
        const now = o(liked, recent);
        const next = o(liked, recent + 1);
        assert.ok(next > now || next === 0.5, `${u.userId} ${channel}: ${recent + 1} recent messages wear more than ${recent}`);
      }
      if (interest[liked] !== interest[unliked]) assert.ok(o(unliked, 1) > o(liked, 1) || o(liked, 1) === 0.5, `${u.userId} ${channel}: irrelevant is likelier to drive away`);
    }
    if (interest[liked] !== interest[unliked]) assert.ok(convertGivenClick(u, at(u, 12, liked)) > convertGivenClick(u, at(u, 12, unliked)), `${u.userId}: buys more of what they like`);
  }
  // A user's own propensity scales their opt-outs: the same message, twice the propensity, twice the rate.
  const u = users[5] as SimUser;
  const twice: SimUser = { ...u, traits: { ...u.traits, unsubscribe: u.traits.unsubscribe * 2 } };
  close(optOutProbability(twice, at(u, 12, 1), 1) / optOutProbability(u, at(u, 12, 1), 1), 2, 'propensity');
});
