import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { brokers, kafkaTestConfig, testKafka } from './support/kafka.js';
import { verifyExactlyOnce, waitForDrain } from './support/exactly-once.js';
import { ReplicaProcess } from './support/replica-process.js';
import { steadyProducer } from './support/steady-producer.js';
import { tempDir } from './support/tmp.js';
import { waitFor } from './support/wait.js';
import type { NudgeConfig } from '../config/schema.js';

const PARTITIONS = 4;
const USERS = 150;

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
    const producer = steadyProducer(testKafka(), `${config.topics.prefix}events`, 1500, USERS);
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
      await waitForDrain(config, 180_000);
      for (const s of slots) assert.equal(await s.proc?.stop(), 0, s.proc?.output.slice(-3000));
      await verifyExactlyOnce(config, producer.sent, total, PARTITIONS);
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
