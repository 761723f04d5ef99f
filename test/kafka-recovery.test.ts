import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { NudgeConfig } from '../config/schema.js';
import { userCounterTopology, COUNTS_STORE, type UserCount } from '../operators/user-counter.js';
import { createReplica } from '../processor/create-replica.js';
import { partitionFor } from '../processor/partitioner.js';
import type { Replica } from '../processor/replica.js';
import type { BytesStore } from '../state/bytes-store.js';
import { partitionDir } from '../state/open-store.js';
import { LmdbStore } from '../state/lmdb-store.js';
import { PartitionState, type Checkpoint } from '../state/partition-state.js';
import { decodeValue } from '../state/value-codec.js';
import { countInputs, kafkaFor, readAll, verifyExactlyOnce, waitForDrain } from './support/exactly-once.js';
import { kafkaTestConfig } from './support/kafka.js';
import { testLogger } from './support/logger.js';
import { tempDir } from './support/tmp.js';
import { waitFor } from './support/wait.js';

const PARTITIONS = 4;
const USERS = 300;
const FAST_GROUP = { kafka: { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500, rebalanceTimeoutMs: 10_000 } };

/** Every key/value of every partition store, as hex, in key order; the checkpoint separately, decoded. */
interface StoreDump {
  entries: Array<[string, string]>;
  checkpoint: Checkpoint | undefined;
}
type Dump = Map<number, StoreDump>;

function replicaOn(config: NudgeConfig, stateDir: string, id: string): Replica {
  const { replica } = createReplica({
    config: { ...config, state: { ...config.state, dir: stateDir }, kafka: { ...config.kafka, replicaId: id } },
    topology: () => userCounterTopology(),
    logger: testLogger,
  });
  return replica;
}

async function startAll(replica: Replica): Promise<void> {
  await replica.start();
  await waitFor(() => replica.ready && replica.tasks.size === PARTITIONS, `${replica.id} to own and restore all ${PARTITIONS} partitions`, 90_000);
}

/** `perUser(i)` events for user-i, i < users; returns how many each user got. */
async function produceEvents(config: NudgeConfig, users: number, perUser: (i: number) => number, tsBase: number): Promise<Map<string, number>> {
  const producer = kafkaFor(config).producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const counts = new Map<string, number>();
  const events = Array.from({ length: users }, (_, i) => `user-${i}`).flatMap((u, i) =>
    Array.from({ length: perUser(i) }, (_, k) => {
      counts.set(u, (counts.get(u) ?? 0) + 1);
      return { k, message: { key: u, value: JSON.stringify({ userId: u, ts: tsBase + k, type: k % 3 === 0 ? 'click' : 'view' }) } };
    }),
  );
  // Interleaved (every user's k-th event, then every user's k+1-th): each batch touches many keys.
  events.sort((a, b) => a.k - b.k);
  await producer.send({ topic: `${config.topics.prefix}events`, messages: events.map((e) => e.message), acks: -1 });
  await producer.disconnect();
  return counts;
}

function add(into: Map<string, number>, more: Map<string, number>): Map<string, number> {
  for (const [u, n] of more) into.set(u, (into.get(u) ?? 0) + n);
  return into;
}

async function dumpStore(store: BytesStore): Promise<StoreDump> {
  const entries: Array<[string, string]> = [];
  let checkpoint: Checkpoint | undefined;
  for await (const [k, v] of store.range()) {
    if (PartitionState.isCheckpointKey(k)) checkpoint = decodeValue<Checkpoint>(v);
    else entries.push([Buffer.from(k).toString('hex'), Buffer.from(v).toString('hex')]);
  }
  return { entries, checkpoint };
}

/** A running replica's stores, read underneath the partition state (straight from LMDB). */
async function dumpLive(replica: Replica): Promise<Dump> {
  const dump: Dump = new Map();
  for (const [p, task] of replica.tasks) dump.set(p, await dumpStore(task.state.engine));
  return dump;
}

/** The stores a stopped replica left on disk. */
async function dumpDir(config: NudgeConfig, stateDir: string): Promise<Dump> {
  const dump: Dump = new Map();
  for (let p = 0; p < PARTITIONS; p++) {
    const store = LmdbStore.open(partitionDir({ dir: stateDir, backend: config.state.backend }, p), { partition: p });
    try {
      dump.set(p, await dumpStore(store));
    } finally {
      await store.close();
    }
  }
  return dump;
}

async function changelogEnds(config: NudgeConfig): Promise<Map<number, number>> {
  const admin = kafkaFor(config).admin();
  await admin.connect();
  try {
    return new Map((await admin.fetchTopicOffsets(`${config.topics.prefix}state-changelog`)).map((o) => [o.partition, Number(o.high)]));
  } finally {
    await admin.disconnect();
  }
}

/** Restored records per partition, from the replica's nudge_restore_records_total. */
async function restoredRecords(replica: Replica): Promise<Map<number, number>> {
  const metric = await replica.metrics.restoreRecords.get();
  const out = new Map<number, number>(Array.from({ length: PARTITIONS }, (_, p) => [p, 0]));
  for (const v of metric.values) out.set(Number(v.labels.partition), v.value);
  return out;
}

/**
 * Byte-for-byte the same stores. The one field allowed to differ is the checkpoint's
 * changelogNext, which is local bookkeeping and not part of the changelog (changelogMessages
 * strips it): after processing, a store records the offset right after its last checkpoint
 * record, which is the offset of that transaction's commit marker; a restore records the
 * log end it read to, which is after the marker. So the processed store says end - 1 and
 * the restored one end, and both resume a later restore at a point with no data record missed.
 */
function assertSameState(processed: Dump, restored: Dump, ends: Map<number, number>, what: string): void {
  for (let p = 0; p < PARTITIONS; p++) {
    const a = processed.get(p);
    const b = restored.get(p);
    assert.ok(a !== undefined && b !== undefined, `${what}: partition ${p} dumped on both sides`);
    assert.ok(a.entries.length > 0, `${what}: partition ${p} has state`);
    assert.equal(b.entries.length, a.entries.length, `${what}: partition ${p} key count`);
    assert.deepEqual(b.entries, a.entries, `${what}: partition ${p} keys and values, byte for byte`);
    assert.ok(a.checkpoint !== undefined && b.checkpoint !== undefined, `${what}: partition ${p} has checkpoints`);
    const { changelogNext: nextA, ...restA } = a.checkpoint;
    const { changelogNext: nextB, ...restB } = b.checkpoint;
    assert.deepEqual(restB, restA, `${what}: partition ${p} checkpoint (source offsets, commit count)`);
    const end = ends.get(p) as number;
    assert.equal(nextA, end - 1, `${what}: partition ${p} processed store resumes at its last commit marker`);
    assert.equal(nextB, end, `${what}: partition ${p} restored store resumes at the log end`);
  }
}

async function assertCounts(replica: Replica, expected: Map<string, number>): Promise<void> {
  for (const [user, n] of expected) {
    const task = replica.tasks.get(partitionFor(user, PARTITIONS));
    const count = await task?.state.store<UserCount>(COUNTS_STORE.name).get([user]);
    assert.equal(count?.n, n, `${user}: count in ${replica.id}'s state`);
  }
}

test('deleting a replica\'s local state directory and restarting it restores identical state from the changelog', { timeout: 240_000 }, async () => {
  const { dir, cleanup } = tempDir();
  const config = kafkaTestConfig(join(dir, 'unused'), FAST_GROUP);
  const stateDir = join(dir, 'state');
  const replicas: Replica[] = [];
  try {
    // 1. A replica counts a few thousand events of a few hundred users over 4 partitions.
    const first = replicaOn(config, stateDir, 'first');
    replicas.push(first);
    await startAll(first);
    const expected = await produceEvents(config, USERS, (i) => 5 + (i % 11), 1_763_712_000_000);
    const total1 = [...expected.values()].reduce((a, b) => a + b, 0);
    assert.ok(total1 > 2_500, `${total1} events`);
    await waitForDrain(config);
    await assertCounts(first, expected);
    await first.stop();
    const before = await dumpDir(config, stateDir);
    const userKeys = [...before.values()].reduce((n, d) => n + d.entries.filter(([k]) => k.startsWith('10')).length, 0);
    assert.equal(userKeys, USERS, 'one counts entry per user on disk');
    const ends = await changelogEnds(config);
    const changelog = await readAll(kafkaFor(config), `${config.topics.prefix}state-changelog`);

    // 2. The local state is lost; the replica comes back on an empty directory.
    rmSync(stateDir, { recursive: true, force: true });
    assert.equal(existsSync(stateDir), false);
    const second = replicaOn(config, stateDir, 'second');
    replicas.push(second);
    await startAll(second);
    const restored = await restoredRecords(second);
    for (let p = 0; p < PARTITIONS; p++) {
      const inLog = changelog.filter((r) => r.partition === p).length;
      assert.ok(inLog > 0);
      assert.equal(restored.get(p), inLog, `partition ${p}: the whole changelog (${inLog} records) was read into the empty store`);
    }
    assertSameState(before, await dumpLive(second), ends, 'restored into an empty directory');

    // 3. Processing continues on the restored state: no count restarts, none doubles.
    const more = await produceEvents(config, USERS + 20, (i) => 1 + (i % 3), 1_763_800_000_000);
    add(expected, more);
    await waitForDrain(config);
    await assertCounts(second, expected);
    await second.stop();

    const inputs = await countInputs(config);
    assert.deepEqual(inputs.byUser, expected, 'the events topic holds exactly what was produced');
    await verifyExactlyOnce(config, expected, inputs.total, PARTITIONS);
  } finally {
    await Promise.allSettled(replicas.map((r) => r.stop()));
    cleanup();
  }
});

test('a local store behind the changelog is caught up by restoring only the tail, to identical state', { timeout: 240_000 }, async () => {
  const { dir, cleanup } = tempDir();
  const config = kafkaTestConfig(join(dir, 'unused'), FAST_GROUP);
  const stateDir = join(dir, 'state');
  const aside = join(dir, 'aside');
  const replicas: Replica[] = [];
  try {
    // 1. First half; the state directory is copied aside (the replica is stopped, so the copy is a consistent store).
    const first = replicaOn(config, stateDir, 'first');
    replicas.push(first);
    await startAll(first);
    const expected = await produceEvents(config, USERS, (i) => 3 + (i % 5), 1_763_712_000_000);
    await waitForDrain(config);
    await first.stop();
    cpSync(stateDir, aside, { recursive: true });
    const half = await dumpDir(config, aside);

    // 2. The replica comes back on its up-to-date store (nothing to restore) and processes the second half.
    const second = replicaOn(config, stateDir, 'second');
    replicas.push(second);
    await startAll(second);
    for (const [p, n] of await restoredRecords(second)) assert.equal(n, 0, `partition ${p}: an up-to-date store reads no changelog record`);
    add(expected, await produceEvents(config, USERS, (i) => 3 + ((i * 7) % 5), 1_763_800_000_000));
    await waitForDrain(config);
    await assertCounts(second, expected);
    await second.stop();
    const full = await dumpDir(config, stateDir);
    const ends = await changelogEnds(config);
    const changelog = await readAll(kafkaFor(config), `${config.topics.prefix}state-changelog`);

    // 3. The old copy is put back: the store is behind the changelog.
    rmSync(stateDir, { recursive: true, force: true });
    cpSync(aside, stateDir, { recursive: true });
    const third = replicaOn(config, stateDir, 'third');
    replicas.push(third);
    await startAll(third);
    const restored = await restoredRecords(third);
    for (let p = 0; p < PARTITIONS; p++) {
      const from = half.get(p)?.checkpoint?.changelogNext;
      assert.ok(from !== undefined && from > 0, `partition ${p}: the old copy has a changelog position`);
      const all = changelog.filter((r) => r.partition === p);
      const tail = all.filter((r) => r.offset >= from);
      assert.ok(tail.length > 0 && tail.length < all.length, `partition ${p}: a proper tail (${tail.length} of ${all.length})`);
      assert.equal(restored.get(p), tail.length, `partition ${p}: only the ${tail.length} records after the local checkpoint were read, not all ${all.length}`);
    }
    assertSameState(full, await dumpLive(third), ends, 'caught up from the tail');

    // 4. And it goes on counting exactly.
    add(expected, await produceEvents(config, USERS, () => 2, 1_763_900_000_000));
    await waitForDrain(config);
    await assertCounts(third, expected);
    await third.stop();
    const inputs = await countInputs(config);
    assert.deepEqual(inputs.byUser, expected, 'the events topic holds exactly what was produced');
    await verifyExactlyOnce(config, expected, inputs.total, PARTITIONS);
  } finally {
    await Promise.allSettled(replicas.map((r) => r.stop()));
    cleanup();
  }
});
