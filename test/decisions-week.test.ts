import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countryRules } from '../config/country-rules.js';
import { isAllowed } from '../operators/decisions/hours.js';
import { localTime } from '../operators/decisions/local-time.js';
import type { DecisionRecord } from '../operators/decisions/decision-record.js';
import type { SendRecord } from '../operators/sinks/dispatcher.js';
import { DEFAULT_WORLD, profileRecord, simUser } from '../bench/sim/population.js';
import { userEvents } from '../bench/sim/activity.js';
import { HOUR, MONDAY, campaign, decisionDriver, policyConfig } from './support/decisions.js';

const DAY = 24 * HOUR;
const USERS = 150;

test('pipeline: a simulated week of campaigns on the topology driver — one decision per candidate, legal and quiet hours, caps and gaps hold every day', { timeout: 120_000 }, async () => {
  const d = await decisionDriver({ partitions: 3, start: MONDAY - 2 * DAY, policy: { controlGroupPercent: 5 } });
  const world = { ...DEFAULT_WORLD, seed: 11 };
  const users = Array.from({ length: USERS }, (_, i) => simUser(world, i));
  const rules = countryRules(policyConfig());
  try {
    for (const u of users) {
      await d.pipe('profiles', u.userId, profileRecord(u));
      for (const e of userEvents(u, MONDAY - 2 * DAY, MONDAY, 11)) await d.pipe('events', u.userId, e);
    }
    await d.advanceTime(2 * DAY);
    const decisions: DecisionRecord[] = [];
    const sends: SendRecord[] = [];
    let candidates = 0;
    for (let day = 0; day < 7; day++) {
      const start = MONDAY + day * DAY;
      // Two promotions and a reminder every day, competing for the same capped slots.
      const daily = [
        campaign(`morning-${day}`, { channels: ['push', 'sms'], value: 2500, window: { start, end: start + 12 * HOUR } }),
        campaign(`evening-${day}`, { channels: ['best'], value: 4000, priority: 70, window: { start: start + 8 * HOUR, end: start + 16 * HOUR } }),
        campaign(`remind-${day}`, { kind: 'reminder', channels: ['push'], value: 1500, window: { start, end: start + DAY } }),
      ];
      for (const c of daily) d.putCampaign(c);
      for (const u of users) {
        for (const c of daily) {
          if ((u.index + day + c.campaignId.length) % 3 === 0) continue;
          await d.pipe('candidates', u.userId, { campaignId: c.campaignId, userId: u.userId, vars: { product: 'shoes', name: u.name } });
          candidates++;
        }
        for (const e of userEvents(u, start, start + DAY, 11)) if (e.ts < start + HOUR) await d.pipe('events', u.userId, e);
      }
      await d.advanceTime(DAY);
      decisions.push(...d.readOutputs('decisions').map((o) => o.value as DecisionRecord));
      sends.push(...d.readOutputs('sends').map((o) => o.value as SendRecord));
    }
    const firsts = new Map<string, DecisionRecord>();
    for (const r of decisions) if (!firsts.has(r.decisionId)) firsts.set(r.decisionId, r);
    assert.equal(firsts.size, candidates, 'one decision per candidate');
    assert.ok(sends.length > USERS, `a week of messages went out (${sends.length})`);
    const byId = new Map(users.map((u) => [u.userId, u]));
    const promoPerDay = new Map<string, number[]>();
    for (const s of sends) {
      const u = byId.get(s.userId);
      assert.ok(u !== undefined);
      const kind = s.campaignId.startsWith('remind') ? 'reminder' : 'promotional';
      assert.ok(isAllowed(s.ts, s.channel, kind, u.timezone, rules(u.country), u.quietHours), `${s.sendId} inside legal and quiet hours`);
      const key = `${s.userId}/${localTime(s.ts, u.timezone).day}`;
      promoPerDay.set(key, [...(promoPerDay.get(key) ?? []), s.ts]);
    }
    for (const [key, times] of promoPerDay) {
      assert.ok(times.length <= 3, `${key}: ${times.length} messages in one local day (cap 3)`);
      times.sort((a, b) => a - b);
      for (let i = 1; i < times.length; i++) assert.ok((times[i] as number) - (times[i - 1] as number) >= 2 * HOUR, `${key}: 2 h apart`);
    }
    const preempted = decisions.filter((r) => r.reasons.includes('preempted')).length;
    const capped = [...firsts.values()].filter((r) => r.reasons.some((x) => x.startsWith('cap_') || x === 'min_gap')).length;
    assert.ok(preempted + capped > 0, 'competition for capped slots happened');
  } finally {
    await d.close();
  }
});
