import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import type { NudgeConfig } from '../../config/schema.js';
import { userCounterTopology, COUNTS_STORE, type UserCount } from '../../operators/user-counter.js';
import { createReplica } from '../../processor/create-replica.js';
import { partitionFor } from '../../processor/partitioner.js';
import { testLogger } from './logger.js';
import { tempDir, uniqueName } from './tmp.js';
import { waitFor } from './wait.js';

/** One output of the reference topology (operators/user-counter.ts). */
export interface CountOutput {
  userId: string;
  count: number;
  partition: number;
  offset: number;
}

export interface ReadRecord {
  key: string | null;
  value: Buffer | null;
  partition: number;
  offset: number;
}

/** A client on the brokers of a config (the shared test broker, or a test's own). */
export function kafkaFor(config: NudgeConfig): Kafka {
  return new Kafka({ clientId: 'nudge-test-verify', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
}

/**
 * Every committed record of a topic, read with read_committed up to the end offsets as
 * they are now. Deterministic (no "wait for N or time out"): for outputs it must be called
 * once nothing writes to the topic any more.
 */
export async function readAll(kafka: Kafka, topic: string, timeoutMs = 60_000): Promise<ReadRecord[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<number, number>();
  try {
    for (const o of await admin.fetchTopicOffsets(topic)) ends.set(o.partition, Number(o.high));
  } finally {
    await admin.disconnect();
  }
  const out: ReadRecord[] = [];
  const reached = new Map<number, number>([...ends.keys()].map((p) => [p, 0]));
  const complete = () => [...ends].every(([p, end]) => (reached.get(p) ?? 0) >= end);
  if (complete()) return out;
  const consumer = kafka.consumer({ groupId: uniqueName('verify-reader'), readUncommitted: false, maxWaitTimeInMs: 100 });
  let done: () => void = () => undefined;
  const finished = new Promise<void>((r) => (done = r));
  // Batches of only transaction markers reach END_BATCH_PROCESS without eachBatch.
  consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
    const p = e.payload.partition;
    reached.set(p, Math.max(reached.get(p) ?? 0, Number(e.payload.lastOffset) + 1));
    if (complete()) done();
  });
  await consumer.connect();
  let timer: NodeJS.Timeout | undefined;
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          if (Number(m.offset) >= (ends.get(batch.partition) ?? 0)) continue;
          out.push({ key: m.key?.toString('utf8') ?? null, value: m.value, partition: batch.partition, offset: Number(m.offset) });
        }
      },
    });
    const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)));
    const result = await Promise.race([finished.then(() => 'done' as const), timedOut]);
    if (result === 'timeout') {
      throw new Error(`reading ${topic}: ends ${JSON.stringify([...ends])} not reached within ${timeoutMs} ms, at ${JSON.stringify([...reached])}`);
    }
    return out;
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
}

/** Per-user counts of the input events actually in the topic (what the processor had to count). */
export async function countInputs(config: NudgeConfig): Promise<{ byUser: Map<string, number>; total: number }> {
  const records = await readAll(kafkaFor(config), `${config.topics.prefix}events`);
  const byUser = new Map<string, number>();
  for (const r of records) byUser.set(r.key as string, (byUser.get(r.key as string) ?? 0) + 1);
  return { byUser, total: records.length };
}

/** Resolves once the group has committed every input offset of the events topic. */
export async function waitForDrain(config: NudgeConfig, timeoutMs = 120_000): Promise<void> {
  const kafka = kafkaFor(config);
  const topic = `${config.topics.prefix}events`;
  await waitFor(
    async () => {
      const a = kafka.admin();
      await a.connect();
      try {
        const [committed] = await a.fetchOffsets({ groupId: config.kafka.groupId, topics: [topic] });
        const ends = await a.fetchTopicOffsets(topic);
        return committed !== undefined && ends.every((e) => committed.partitions.find((p) => p.partition === e.partition)?.offset === e.high);
      } finally {
        await a.disconnect();
      }
    },
    'the group to commit every input offset',
    timeoutMs,
    500,
  );
}

/**
 * The exactly-once verification of the kill -9 soak (kafka-crash.test.ts), on any broker:
 * read_committed outputs hold, for every user, the counts 1..n each exactly once; every
 * input offset of every partition produced exactly one output; and the state restored
 * from the changelog into an empty directory holds exactly n for every user.
 * Call it once the replicas have drained and stopped.
 */
export async function verifyExactlyOnce(config: NudgeConfig, sent: ReadonlyMap<string, number>, total: number, partitions = config.kafka.partitions): Promise<void> {
  const kafka = kafkaFor(config);
  const outputs = (await readAll(kafka, `${config.topics.prefix}user-counts`)).map((r) => JSON.parse((r.value as Buffer).toString('utf8')) as CountOutput);
  assert.equal(outputs.length, total, 'one output per input event, no more, no fewer (read_committed)');
  const byUser = new Map<string, number[]>();
  for (const o of outputs) byUser.set(o.userId, [...(byUser.get(o.userId) ?? []), o.count]);
  assert.deepEqual([...byUser.keys()].filter((u) => !sent.has(u)), [], 'no outputs for users that sent nothing');
  for (const [user, n] of sent) {
    const counts = (byUser.get(user) ?? []).sort((a, b) => a - b);
    assert.deepEqual(counts, Array.from({ length: n }, (_, i) => i + 1), `${user}: counts 1..${n}, each exactly once`);
  }
  // No input offset skipped: every offset of every partition produced exactly one output.
  const admin = kafka.admin();
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
    config: { ...config, state: { ...config.state, dir }, kafka: { ...config.kafka, groupId: `${config.kafka.groupId}-verify`, replicaId: 'verifier' } },
    topology: () => userCounterTopology(),
    logger: testLogger,
  });
  try {
    // A different group: it restores every partition's changelog; its inputs are all below the
    // restored checkpoint, so it processes (and writes) nothing.
    await replica.start();
    await waitFor(() => replica.ready && replica.tasks.size === partitions, 'verifier to restore all partitions', 90_000);
    for (const [user, n] of sent) {
      const task = replica.tasks.get(partitionFor(user, partitions));
      const restored = await task?.state.store<UserCount>(COUNTS_STORE.name).get([user]);
      assert.equal(restored?.n, n, `${user}: count restored from the changelog`);
    }
  } finally {
    await replica.stop();
    cleanup();
  }
}
