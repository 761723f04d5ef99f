import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeProviders } from '../bench/fakes/index.js';
import type { DecisionRecord } from '../operators/decisions/decision-record.js';
import type { SendRecord } from '../operators/sinks/dispatcher.js';
import { brokers, kafkaTestConfig, readTopic, testKafka } from './support/kafka.js';
import { ReplicaProcess } from './support/replica-process.js';
import { tempDir } from './support/tmp.js';
import { waitFor } from './support/wait.js';
import { campaign, indiaUser } from './support/decisions.js';

const USERS = 300;
const HOUR = 3_600_000;

test('kafka: kill -9 during a send wave, then restart — no promotional SMS sent twice (counted at the provider), every decision accounted for on nudge.sends', { timeout: 300_000 }, async () => {
  const { dir, cleanup } = tempDir();
  const fakes = await startFakeProviders();
  // Slow enough that a wave is in flight when the replica dies.
  fakes.gupshup.setFaults({ latencyMs: 40, jitterMs: 40 });
  const base = kafkaTestConfig(dir);
  const gupshup = fakes.configs.gupshup as { userid: string; password: string; baseUrl?: string };
  const configFile = join(dir, 'nudge.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      topics: { prefix: base.topics.prefix },
      kafka: { groupId: base.kafka.groupId, partitions: 4, sessionTimeoutMs: 6000, heartbeatIntervalMs: 500, rebalanceTimeoutMs: 10_000 },
      policy: { controlGroupPercent: 0, caps: [], minGapMs: 0 },
      // Any hour of the day: the test must not depend on when it runs.
      countries: { IN: { legalHours: [] } },
      delivery: {
        providers: [{ name: 'gupshup-in', type: 'gupshup', baseUrl: fakes.gupshup.url, settings: { userid: gupshup.userid, password: { env: 'TEST_GUPSHUP_PASSWORD' } } }],
        routes: [{ country: 'IN', channel: 'sms', providers: [{ name: 'gupshup-in', pricePerSegment: 0.1, ratePerSec: 150 }] }],
      },
    }),
  );
  const env = { TEST_GUPSHUP_PASSWORD: gupshup.password, NUDGE_LOG_LEVEL: 'info', KAFKAJS_NO_PARTITIONER_WARNING: '1' };
  const args = ['--config', configFile, '--brokers', brokers().join(','), '--state-dir', join(dir, 'state'), '--http-port', '0'];
  const p = base.topics.prefix;
  let replica = new ReplicaProcess(args, env);
  const producer = testKafka().producer({ idempotent: true, maxInFlightRequests: 1 });
  try {
    await waitFor(() => /partitions assigned/.test(replica.output), 'replica to start', 90_000);
    await producer.connect();
    const now = Date.now();
    const promo = campaign('wave', { channels: ['sms'], value: 50_000, window: { start: now - HOUR, end: now + HOUR } });
    await producer.send({ topic: `${p}campaigns`, messages: [{ key: 'wave', value: JSON.stringify(promo) }] });
    const phones = new Map<string, string>();
    const profiles = Array.from({ length: USERS }, (_, i) => {
      const userId = `w${i}`;
      const phone = `+9197${String(10_000_000 + i)}`;
      phones.set(userId, phone);
      return { key: userId, value: JSON.stringify(indiaUser(userId, { phone, quietHours: null })) };
    });
    await producer.send({ topic: `${p}profiles`, messages: profiles });
    // A little history, so the model's expected value clears the threshold.
    await producer.send({ topic: `${p}events`, messages: profiles.map((u) => ({ key: u.key, value: JSON.stringify({ userId: u.key, ts: now - 2 * HOUR, type: 'purchase', value: 999 }) })) });
    await new Promise((r) => setTimeout(r, 1500));
    await producer.send({ topic: `${p}candidates`, messages: profiles.map((u) => ({ key: u.key, value: JSON.stringify({ campaignId: 'wave', userId: u.key, vars: { product: 'shoes', name: 'Asha' } }) })) });
    const accepted = () => [...fakes.gupshup.counts().values()].reduce((a, b) => a + b, 0);
    await waitFor(() => accepted() >= 40, 'the send wave to start', 60_000, 5);
    replica.kill('SIGKILL');
    await replica.exited;
    const atCrash = accepted();
    assert.ok(atCrash < USERS, `the crash interrupted the wave (${atCrash} of ${USERS} accepted)`);
    replica = new ReplicaProcess(args, env);

    // Every send decision ends with exactly one final record on nudge.sends: sent, failed or dropped.
    const decisionsOut = async () => (await readTopic(`${p}decisions`, USERS, 10_000)).map((r) => JSON.parse((r.value as Buffer).toString()) as DecisionRecord);
    let sendDecisions: DecisionRecord[] = [];
    await waitFor(async () => {
      sendDecisions = (await decisionsOut()).filter((d) => d.action === 'send');
      return sendDecisions.length === USERS;
    }, 'a send decision for every user', 120_000, 1000);
    let finals: SendRecord[] = [];
    await waitFor(async () => {
      const sends = (await readTopic(`${p}sends`, 10 * USERS, 5_000)).map((r) => JSON.parse((r.value as Buffer).toString()) as SendRecord);
      finals = sends.filter((s) => s.status !== 'retrying');
      return new Set(finals.map((s) => s.decisionId)).size === USERS;
    }, 'an outcome for every send decision', 120_000, 1000);
    const perDecision = new Map<string, number>();
    for (const s of finals) perDecision.set(s.decisionId, (perDecision.get(s.decisionId) ?? 0) + 1);
    for (const d of sendDecisions) assert.equal(perDecision.get(d.decisionId), 1, `decision ${d.decisionId}: one final outcome`);
    // At the provider: no recipient got the promotion twice.
    for (const [userId, phone] of phones) {
      const n = fakes.gupshup.countFor(phone) + fakes.gupshup.countFor(phone.slice(1));
      assert.ok(n <= 1, `${userId} received ${n} messages`);
    }
    const sent = finals.filter((s) => s.status === 'sent').length;
    const dropped = finals.filter((s) => s.status === 'dropped');
    assert.ok(dropped.every((s) => s.error?.code === 'NUDGE_ERR_UNRESOLVED_SEND'), 'drops are the unresolved sends of the crash');
    assert.ok(sent <= accepted(), 'no send is reported that the provider did not accept');
    assert.equal(sent + dropped.length, USERS);
    assert.equal(await replica.stop(), 0);
  } catch (err) {
    console.error(replica.output.slice(-5000));
    throw err;
  } finally {
    replica.kill('SIGKILL');
    await producer.disconnect().catch(() => undefined);
    await fakes.close();
    cleanup();
  }
});
