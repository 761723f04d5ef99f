import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createReplica } from '../processor/create-replica.js';
import { partitionFor } from '../processor/partitioner.js';
import { userCounterTopology, COUNTS_STORE, type UserCount } from '../operators/user-counter.js';
import { brokers, kafkaTestConfig, readTopic, testKafka } from './support/kafka.js';
import { testLogger } from './support/logger.js';
import { ReplicaProcess } from './support/replica-process.js';
import { tempDir } from './support/tmp.js';
import { waitFor } from './support/wait.js';
import type { NudgeConfig } from '../config/schema.js';

const PARTITIONS = 4;
const USERS = 150;

interface CountOutput {
  userId: string;
  count: number;
  partition: number;
  offset: number;
}

function replicaEnv(config: NudgeConfig, guarantee: string): NodeJS.ProcessEnv {
  return {
    NUDGE_TOPIC_PREFIX: config.topics.prefix,
    NUDGE_KAFKA_GROUP_ID: config.kafka.groupId,
    NUDGE_GUARANTEE: guarantee,
    NUDGE_LOG_LEVEL: 'info',
    NUDGE_TOPOLOGY: 'counter',
    KAFKAJS_NO_PARTITIONER_WARNING: '1',
  };
}

/** Produces events at a steady pace until stopped; returns how many went to each user. */
function steadyProducer(topic: string, perSecond: number) {
  const producer = testKafka().producer({ idempotent: true, maxInFlightRequests: 1 });
  const sent = new Map<string, number>();
  let running = true;
  let seq = 0;
  const done = (async () => {
    await producer.connect();
    while (running) {
      const t0 = Date.now();
      const messages = Array.from({ length: Math.ceil(perSecond / 10) }, () => {
        const userId = `user-${seq++ % USERS}`;
        sent.set(userId, (sent.get(userId) ?? 0) + 1);
        return { key: userId, value: JSON.stringify({ userId, ts: 1_763_712_000_000 + seq, type: 'view' }) };
      });
      await producer.send({ topic, messages, acks: -1 });
      await new Promise((r) => setTimeout(r, Math.max(0, 100 - (Date.now() - t0))));
    }
    await producer.disconnect();
  })();
  return {
    sent,
    stop: async () => {
      running = false;
      await done;
      return [...sent.values()].reduce((a, b) => a + b, 0);
    },
  };
}

async function verifyExactlyOnce(config: NudgeConfig, sent: Map<string, number>, total: number): Promise<void> {
  const outputs = (await readTopic(`${config.topics.prefix}user-counts`, total + 1, 20_000)).map((r) => JSON.parse((r.value as Buffer).toString('utf8')) as CountOutput);
  assert.equal(outputs.length, total, 'one output per input event, no more, no fewer (read_committed)');
  const byUser = new Map<string, number[]>();
  for (const o of outputs) byUser.set(o.userId, [...(byUser.get(o.userId) ?? []), o.count]);
  for (const [user, n] of sent) {
    const counts = (byUser.get(user) ?? []).sort((a, b) => a - b);
    assert.deepEqual(counts, Array.from({ length: n }, (_, i) => i + 1), `${user}: counts 1..${n}, each exactly once`);
  }
  // No input offset skipped: every offset of every partition produced exactly one output.
  const admin = testKafka().admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(`${config.topics.prefix}events`);
  await admin.disconnect();
  for (const { partition, high } of ends) {
    const seen = outputs.filter((o) => o.partition === partition).map((o) => o.offset).sort((a, b) => a - b);
    assert.deepEqual(seen, Array.from({ length: Number(high) }, (_, i) => i), `partition ${partition}: offsets 0..${Number(high) - 1}`);
  }
  // And the state itself, restored from the changelog into an empty directory, holds the exact counts.
  const { dir, cleanup } = tempDir();
  const { replica } = createReplica({
    config: { ...config, state: { ...config.state, dir }, kafka: { ...config.kafka, groupId: `${config.kafka.groupId}-verify` } },
    topology: () => userCounterTopology(),
    logger: testLogger,
  });
  try {
    // A different group: it restores every partition's changelog; its own inputs are already fully consumed or not, it does not matter.
    await replica.start();
    await waitFor(() => replica.ready && replica.tasks.size === PARTITIONS, 'verifier to restore all partitions', 90_000);
    for (const [user, n] of sent) {
      const task = replica.tasks.get(partitionFor(user, PARTITIONS));
      const restored = await task?.state.store<UserCount>(COUNTS_STORE.name).get([user]);
      assert.ok(restored !== undefined && restored.n >= n, `${user}: restored count ${restored?.n} ≥ ${n}`);
    }
  } finally {
    await replica.stop();
    cleanup();
  }
}

for (const guarantee of ['exactly_once']) {
  test(`kafka (${guarantee}): kill -9 of replicas at random points, 10 times; counts exact, outputs exactly once, no offset skipped`, { timeout: 600_000 }, async () => {
    const { dir, cleanup } = tempDir();
    const config = kafkaTestConfig(join(dir, 'unused'), { kafka: { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500, rebalanceTimeoutMs: 10_000 } });
    const env = replicaEnv(config, guarantee);
    const slots = ['a', 'b'].map((id) => ({ id, dir: join(dir, id), proc: undefined as ReplicaProcess | undefined }));
    const start = (slot: (typeof slots)[number]) => {
      slot.proc = new ReplicaProcess(['--brokers', brokers().join(','), '--state-dir', slot.dir, '--http-port', '0'], { ...env, NUDGE_REPLICA_ID: slot.id });
    };
    // Topics first, so that the producer can start before any replica.
    const admin = testKafka().admin();
    await admin.connect();
    await admin.createTopics({ topics: ['events', 'profiles', 'candidates', 'receipts'].map((t) => ({ topic: `${config.topics.prefix}${t}`, numPartitions: PARTITIONS })), waitForLeaders: true });
    await admin.disconnect();
    const producer = steadyProducer(`${config.topics.prefix}events`, 1500);
    try {
      for (const s of slots) start(s);
      let seed = 7;
      const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
      for (let kill = 0; kill < Number(process.env['CRASH_KILLS'] ?? 10); kill++) {
        const slot = slots[kill % 2] as (typeof slots)[number];
        await waitFor(() => /partitions assigned/.test(slot.proc?.output ?? ''), `${slot.id} to get partitions (kill ${kill})`, 60_000);
        // A random point: anywhere from just after assignment to well into processing.
        await new Promise((r) => setTimeout(r, 200 + rand() * 2500));
        slot.proc?.kill('SIGKILL');
        await slot.proc?.exited;
        start(slot);
      }
      const total = await producer.stop();
      // Let the last replicas drain everything, then stop them gracefully.
      await waitFor(async () => {
        const a = testKafka().admin();
        await a.connect();
        try {
          const [committed] = await a.fetchOffsets({ groupId: config.kafka.groupId, topics: [`${config.topics.prefix}events`] });
          const ends = await a.fetchTopicOffsets(`${config.topics.prefix}events`);
          return committed !== undefined && ends.every((e) => committed.partitions.find((p) => p.partition === e.partition)?.offset === e.high);
        } finally {
          await a.disconnect();
        }
      }, 'replicas to commit every input offset', 180_000, 500);
      for (const s of slots) assert.equal(await s.proc?.stop(), 0, s.proc?.output.slice(-3000));
      await verifyExactlyOnce(config, producer.sent, total);
    } catch (err) {
      for (const s of slots) console.error(`---- replica ${s.id} ----\n${(s.proc?.output ?? '').slice(-8000)}`);
      throw err;
    } finally {
      await producer.stop().catch(() => undefined);
      for (const s of slots) s.proc?.kill('SIGKILL');
      cleanup();
    }
  });
}
