import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createReplica } from '../processor/create-replica.js';
import type { Replica } from '../processor/replica.js';
import { partitionFor } from '../processor/partitioner.js';
import { userCounterTopology, COUNTS_STORE, type UserCount } from '../operators/user-counter.js';
import { kafkaTestConfig, readTopic, testKafka } from './support/kafka.js';
import { testLogger } from './support/logger.js';
import { tempDir } from './support/tmp.js';
import { waitFor } from './support/wait.js';
import type { NudgeConfig } from '../config/schema.js';

const PARTITIONS = 4;

function replicaOn(config: NudgeConfig, stateDir: string, id: string): Replica {
  const { replica } = createReplica({
    config: { ...config, state: { ...config.state, dir: stateDir }, kafka: { ...config.kafka, replicaId: id } },
    topology: () => userCounterTopology(),
    logger: testLogger,
  });
  return replica;
}

async function produceEvents(topic: string, users: string[], perUser: (i: number) => number, tsBase = 1_763_712_000_000): Promise<number> {
  // Idempotent, so a retried request on a loaded machine cannot duplicate inputs.
  const producer = testKafka().producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const messages = users.flatMap((u, i) =>
    Array.from({ length: perUser(i) }, (_, k) => ({ key: u, value: JSON.stringify({ userId: u, ts: tsBase + k, type: k % 2 === 0 ? 'view' : 'click' }) })),
  );
  await producer.send({ topic, messages });
  await producer.disconnect();
  return messages.length;
}

async function countOf(replicas: Replica[], userId: string): Promise<number | undefined> {
  const p = partitionFor(userId, PARTITIONS);
  for (const r of replicas) {
    const task = r.tasks.get(p);
    if (task !== undefined) return (await task.state.store<UserCount>(COUNTS_STORE.name).get([userId]))?.n;
  }
  return undefined;
}

test('kafka: consume → per-user state → produce across partitions, exactly one output per event', { timeout: 180_000 }, async () => {
  const { dir, cleanup } = tempDir();
  const config = kafkaTestConfig(join(dir, 'unused'));
  const replica = replicaOn(config, join(dir, 'a'), 'a');
  try {
    await replica.start();
    await waitFor(() => replica.ready && replica.tasks.size === PARTITIONS, 'replica to own all partitions', 60_000);
    const users = Array.from({ length: 50 }, (_, i) => `user-${i}`);
    const total = await produceEvents(`${config.topics.prefix}events`, users, (i) => (i % 7) + 1);
    await waitFor(async () => {
      for (const [i, u] of users.entries()) if ((await countOf([replica], u)) !== (i % 7) + 1) return false;
      return true;
    }, 'every user counted', 60_000);
    for (const [i, u] of users.entries()) assert.equal(await countOf([replica], u), (i % 7) + 1, u);
    const outputs = await readTopic(`${config.topics.prefix}user-counts`, total, 30_000);
    assert.equal(outputs.length, total, 'one counts record per event, visible to read_committed');
    const partitionsUsed = new Set(outputs.map((o) => o.partition));
    assert.ok(partitionsUsed.size > 1, 'outputs spread over several partitions');
    // Each output is on the partition of its user, as the input was.
    for (const o of outputs) assert.equal(o.partition, partitionFor(o.key as string, PARTITIONS));
  } finally {
    await replica.stop();
    cleanup();
  }
});

test('kafka: two replicas split the partitions; when one leaves the other carries on from committed offsets and state', { timeout: 240_000 }, async () => {
  const { dir, cleanup } = tempDir();
  const config = kafkaTestConfig(join(dir, 'unused'));
  const a = replicaOn(config, join(dir, 'a'), 'a');
  const b = replicaOn(config, join(dir, 'b'), 'b');
  try {
    await a.start();
    await waitFor(() => a.tasks.size === PARTITIONS, 'a to own all partitions', 60_000);
    await b.start();
    await waitFor(() => a.tasks.size > 0 && b.tasks.size > 0 && a.tasks.size + b.tasks.size === PARTITIONS && a.ready && b.ready, 'a and b to split the partitions', 90_000);
    const owned = [...a.tasks.keys(), ...b.tasks.keys()].sort();
    assert.deepEqual(owned, [0, 1, 2, 3], 'every partition owned exactly once');

    const users = Array.from({ length: 40 }, (_, i) => `user-${i}`);
    const topic = `${config.topics.prefix}events`;
    await produceEvents(topic, users, () => 3);
    await waitFor(async () => {
      for (const u of users) if ((await countOf([a, b], u)) !== 3) return false;
      return true;
    }, 'all users at 3 with two replicas', 60_000);

    // b leaves; a must take b's partitions over, restoring their state from the changelog.
    const bPartitions = [...b.tasks.keys()];
    await b.stop();
    await waitFor(() => a.tasks.size === PARTITIONS && a.ready, 'a to take over every partition', 90_000);
    await produceEvents(topic, users, () => 2, 1_763_800_000_000);
    await waitFor(async () => {
      for (const u of users) if ((await countOf([a], u)) !== 5) return false;
      return true;
    }, 'all users at 5 on the survivor', 60_000);
    for (const u of users) assert.equal(await countOf([a], u), 5, `${u} counted exactly once per event`);
    assert.ok(bPartitions.length > 0);
  } finally {
    await Promise.allSettled([a.stop(), b.stop()]);
    cleanup();
  }
});
