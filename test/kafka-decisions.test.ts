import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { countryRules } from '../config/country-rules.js';
import { VirtualClock } from '../processor/clock.js';
import { createReplica } from '../processor/create-replica.js';
import { topologyFor } from '../operators/topologies.js';
import { isAllowed } from '../operators/decisions/hours.js';
import { localTime } from '../operators/decisions/local-time.js';
import type { DecisionRecord } from '../operators/decisions/decision-record.js';
import type { SendRecord } from '../operators/sinks/dispatcher.js';
import { DEFAULT_WORLD, profileRecord, simUser, type SimUser } from '../bench/sim/population.js';
import { userEvents } from '../bench/sim/activity.js';
import { kafkaTestConfig, readTopic, testKafka } from './support/kafka.js';
import { testLogger } from './support/logger.js';
import { tempDir } from './support/tmp.js';
import { waitFor } from './support/wait.js';
import { campaign } from './support/decisions.js';

const HOUR = 3_600_000;
const START = Date.UTC(2026, 10, 23, 3, 30); // Monday 09:00 IST
const USERS = 240;

test('kafka: decisions end to end — one per candidate, never outside legal or quiet hours, caps never exceeded, DLT and STOP honoured', { timeout: 300_000 }, async () => {
  const { dir, cleanup } = tempDir();
  const config = kafkaTestConfig(dir, { policy: { controlGroupPercent: 5 } });
  const clock = new VirtualClock(START);
  const { replica } = createReplica({ config, topology: topologyFor(config), logger: testLogger, clock });
  const p = config.topics.prefix;
  const world = { ...DEFAULT_WORLD, seed: 7 };
  const users: SimUser[] = Array.from({ length: USERS }, (_, i) => simUser(world, i));
  const producer = testKafka().producer({ idempotent: true, maxInFlightRequests: 1 });
  const send = async (topic: string, records: Array<{ key: string; value: unknown }>) => {
    for (let i = 0; i < records.length; i += 2000) {
      await producer.send({ topic: p + topic, acks: -1, messages: records.slice(i, i + 2000).map((r) => ({ key: r.key, value: JSON.stringify(r.value) })) });
    }
  };
  try {
    await producer.connect();
    await replica.start();
    await waitFor(() => replica.ready && replica.tasks.size === 4, 'replica ready', 60_000);
    const campaigns = [
      campaign('promo-sms', { channels: ['sms'], window: { start: START, end: START + 14 * HOUR } }),
      campaign('promo-best', { channels: ['best'], value: 4000, window: { start: START, end: START + 14 * HOUR } }),
      campaign('reminder-push', { kind: 'reminder', channels: ['push'], value: 2000, window: { start: START + 2 * HOUR, end: START + 10 * HOUR } }),
      campaign('promo-nodlt', { channels: ['sms'], templates: { en: { sms: { body: 'Sale on {{product}}' } }, hi: { sms: { body: 'Sale {{product}}' } } } } as never),
      campaign('otp', { kind: 'transactional', deadline: 'hard', channels: ['sms'], value: 0, window: { start: START, end: START + HOUR } }),
    ];
    // Every language the population speaks gets the English template by fallback.
    await send('campaigns', campaigns.map((c) => ({ key: c.campaignId, value: c })));
    await waitFor(() => replica.campaigns.size === campaigns.length, 'campaigns table', 30_000);
    await send('profiles', users.map((u) => ({ key: u.userId, value: profileRecord(u) })));
    const history = users.flatMap((u) => userEvents(u, START - 3 * 24 * HOUR, START, 7).map((e) => ({ key: u.userId, value: e })));
    await send('events', history);
    // Every fifth user texts STOP before the campaigns.
    const stopped = new Set(users.filter((u) => u.index % 5 === 0).map((u) => u.userId));
    await send('events', [...stopped].map((userId) => ({ key: userId, value: { userId, ts: START - HOUR, type: 'sms_inbound', text: 'STOP' } })));
    const candidates = users.flatMap((u) => campaigns.map((c) => ({ key: u.userId, value: { campaignId: c.campaignId, userId: u.userId, vars: { product: 'shoes', name: u.name } } })));
    // Profiles and events first: wait until the replica has read them all.
    await waitFor(() => [...replica.tasks.values()].reduce((n, t) => n + (t.position(`${p}events`) ?? 0), 0) >= history.length + stopped.size, 'history consumed', 60_000);
    await send('candidates', candidates);
    const early = await readTopic(`${p}decisions`, candidates.length, 90_000);
    assert.equal(early.length, candidates.length, 'one decision per candidate before any timer fires');

    // Run the day on the virtual clock.
    for (let t = START; t <= START + 24 * HOUR; t += 5 * 60_000) {
      clock.set(t);
      await replica.fireTimers();
    }
    const all = (await readTopic(`${p}decisions`, candidates.length + 10_000, 15_000)).map((r) => JSON.parse((r.value as Buffer).toString()) as DecisionRecord);
    const sends = (await readTopic(`${p}sends`, 100_000, 15_000)).map((r) => JSON.parse((r.value as Buffer).toString()) as SendRecord);

    const firsts = new Map<string, DecisionRecord>();
    for (const d of all) if (!firsts.has(d.decisionId)) firsts.set(d.decisionId, d);
    const perCandidate = new Map<string, number>();
    for (const d of firsts.values()) perCandidate.set(`${d.campaignId}/${d.userId}`, (perCandidate.get(`${d.campaignId}/${d.userId}`) ?? 0) + 1);
    assert.equal(perCandidate.size, candidates.length);
    for (const [k, n] of perCandidate) assert.equal(n, 1, `exactly one decision for ${k}`);
    const actions = new Set([...firsts.values()].map((d) => d.action));
    assert.ok(actions.has('schedule') && actions.has('skip') && actions.has('holdout'), `a real mix of actions: ${[...actions].join(',')}`);

    const byUser = new Map(users.map((u) => [u.userId, u]));
    const rulesFor = countryRules(config);
    for (const d of firsts.values()) {
      if (d.action !== 'schedule' && d.action !== 'send') continue;
      const u = byUser.get(d.userId) as SimUser;
      assert.ok(isAllowed(d.sendAt as number, d.channel as 'sms' | 'push', d.kind as 'promotional', u.timezone, rulesFor(u.country), u.quietHours), `decision ${d.decisionId} at an allowed time`);
    }
    assert.ok(sends.length > 20, `messages went out: ${sends.length}`);
    const kindOf = new Map(campaigns.map((c) => [c.campaignId, c.kind]));
    for (const s of sends) {
      const u = byUser.get(s.userId) as SimUser;
      assert.ok(isAllowed(s.ts, s.channel, kindOf.get(s.campaignId) as 'promotional', u.timezone, rulesFor(u.country), u.quietHours), `send ${s.sendId} at an allowed local time`);
    }
    // Caps of the shipped defaults: ≤ 3 promotional/reminder a local day, ≤ 2 by SMS, 2 h apart.
    const perDay = new Map<string, number[]>();
    for (const s of sends) {
      if (kindOf.get(s.campaignId) === 'transactional') continue;
      const u = byUser.get(s.userId) as SimUser;
      const key = `${s.userId}/${localTime(s.ts, u.timezone).day}`;
      perDay.set(key, [...(perDay.get(key) ?? []), s.ts]);
      assert.ok(!(s.channel === 'sms' && u.country === 'IN' && s.campaignId === 'promo-nodlt'), 'no India SMS without DLT');
    }
    for (const [key, times] of perDay) {
      assert.ok(times.length <= 3, `${key}: ${times.length} promotional messages in one local day`);
      times.sort((a, b) => a - b);
      for (let i = 1; i < times.length; i++) assert.ok((times[i] as number) - (times[i - 1] as number) >= 2 * HOUR, `${key}: messages 2 h apart`);
    }
    for (const d of firsts.values()) {
      const u = byUser.get(d.userId) as SimUser;
      if (d.campaignId === 'promo-nodlt' && u.country === 'IN' && d.action === 'skip' && d.reasons.length > 0) {
        const reachable = u.phone !== null && u.consent.sms.promotional && !stopped.has(u.userId) && !(u.ncpr?.fullyBlocked ?? false) && (u.ncpr?.allowedCategories.includes(5) ?? true);
        if (reachable) assert.deepEqual(d.reasons, ['dlt_missing'], `${d.userId}`);
      }
      if (d.campaignId === 'promo-nodlt' && u.country === 'IN') assert.equal(d.action === 'schedule' || d.action === 'send', false, 'never scheduled without DLT');
      if (d.campaignId === 'promo-sms' && stopped.has(d.userId) && d.action !== 'holdout') assert.ok(d.reasons.includes('no_consent') || d.reasons.includes('no_channel'), `${d.userId} texted STOP: ${d.reasons.join(',')}`);
    }
  } finally {
    await producer.disconnect().catch(() => undefined);
    await replica.stop();
    cleanup();
  }
});
