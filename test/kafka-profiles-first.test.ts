import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { localTime } from '../operators/decisions/local-time.js';
import { DECISION_STORES } from '../operators/decisions/stores.js';
import { decisionTopology } from '../operators/decisions/topology.js';
import { HeuristicScorer } from '../operators/decisions/heuristic-scorer.js';
import type { UserState } from '../operators/decisions/types.js';
import { createReplica } from '../processor/create-replica.js';
import { VirtualClock } from '../processor/clock.js';
import { createLogger } from '../processor/logger.js';
import type { Replica } from '../processor/replica.js';
import { ProfilesFirst } from '../processor/kafka/profiles-first.js';
import { indiaUser } from './support/decisions.js';
import { kafkaTestConfig, testKafka } from './support/kafka.js';
import { tempDir } from './support/tmp.js';
import { waitFor } from './support/wait.js';

const TS = Date.UTC(2026, 10, 20, 1, 30); // Friday 07:00 in India, Thursday 22:30 in São Paulo
/**
 * The replicas' clock, on the events' own day: on the system clock, events of a fixed date decay
 * in the histograms with every day that passes, until they count for nothing. (The catch-up's
 * idle limit is timed on the real clock, by the engine, whatever the replica's clock.)
 */
const eventsDay = () => new VirtualClock(TS + 10 * 60_000);
const BR = ['br1', 'br2', 'br3'];
const EVENTS_EACH = 167;

const json = (key: string, value: unknown) => ({ key, value: JSON.stringify(value) });
const brProfile = (u: string) => json(u, indiaUser(u, { country: 'BR', timezone: 'America/Sao_Paulo', phone: '+5511900000042' }));
const brEvents = () => BR.flatMap((u) => Array.from({ length: EVENTS_EACH }, (_, i) => json(u, { userId: u, ts: TS + i * 1000, type: 'app_open' })));

/** The hour-of-week buckets of a user's activity histogram that hold anything. */
function activeBuckets(user: UserState | undefined): number[] {
  return (user?.features.how ?? []).flatMap((x, b) => (x > 0 ? [b] : []));
}

/** One partition per input, made before the replica starts, so that there is a backlog to read. */
async function createInputs(prefix: string): Promise<void> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: `${prefix}profiles`, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
        { topic: `${prefix}events`, numPartitions: 1 },
      ],
    });
  } finally {
    await admin.disconnect();
  }
}

function logLines(): { lines: Array<Record<string, unknown>>; logger: ReturnType<typeof createLogger> } {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, logger: createLogger('debug', { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) }) };
}

async function eventsRead(replica: Replica, prefix: string, count: number): Promise<void> {
  await waitFor(() => (replica.tasks.get(0)?.position(`${prefix}events`) ?? 0) >= count, `${count} events read`, 60_000);
}

const userOf = (replica: Replica, u: string) => replica.tasks.get(0)?.state.store<UserState>(DECISION_STORES.users.name).get([u]);

/*
 * Kafka has no order across topics: a consumer reads a partition's topics in whatever order its
 * fetches return them. On a backlog, a first start here, the events of users whose profiles come
 * late in the profiles topic were read before those profiles, and fell in the default time zone's
 * hours. The engine reads a gained partition's profiles backlog first (processor/kafka/profiles-first.ts).
 * Small fetches (16 KB a partition) spread the 1,200 profiles ahead of the São Paulo users' over
 * many fetches; with the catch-up off, the events are read after the first of them, and the
 * histograms' assertions fail: tried.
 */
test('kafka: a backlog is read profiles first, so each event falls in its user’s local hour', { timeout: 180_000 }, async () => {
  const { dir, cleanup } = tempDir();
  const config = kafkaTestConfig(join(dir, 'state'), { kafka: { partitions: 1, maxBytesPerPartition: 16_384 } });
  const p = config.topics.prefix;
  const { lines, logger } = logLines();
  const { replica } = createReplica({ config, topology: () => decisionTopology(config, new HeuristicScorer()), logger, clock: eventsDay() });
  const producer = testKafka().producer({ idempotent: true, maxInFlightRequests: 1 });
  try {
    await createInputs(p);
    await producer.connect();
    const others = Array.from({ length: 1200 }, (_, i) => json(`in${i}`, indiaUser(`in${i}`)));
    // In sends of 40, so many record batches: a fetch returns whole batches, however large.
    const profiles = [...others, ...BR.map(brProfile)];
    for (let i = 0; i < profiles.length; i += 40) await producer.send({ topic: `${p}profiles`, acks: -1, messages: profiles.slice(i, i + 40) });
    await producer.send({ topic: `${p}events`, acks: -1, messages: brEvents() });
    await replica.start();
    await eventsRead(replica, p, BR.length * EVENTS_EACH);
    await waitFor(() => (replica.tasks.get(0)?.position(`${p}profiles`) ?? 0) >= profiles.length, 'every profile read', 60_000);
    const local = localTime(TS, 'America/Sao_Paulo').hourOfWeek;
    assert.notEqual(local, localTime(TS, 'Asia/Kolkata').hourOfWeek, 'the test tells the zones apart');
    for (const u of BR) {
      const user = await userOf(replica, u);
      assert.equal(user?.profile?.timezone, 'America/Sao_Paulo');
      assert.deepEqual(activeBuckets(user), [local], `${u}: every event in São Paulo's Thursday 22:00 hour, not India's Friday 07:00`);
    }
    const population = await replica.tasks.get(0)?.state.store<number[]>(DECISION_STORES.population.name).get(['how']);
    assert.deepEqual(population?.flatMap((x, b) => (x > 0 ? [b] : [])), [local], "the population's histogram too");
    const held = lines.find((l) => l['msg'] === "reading the partition's profiles before its other inputs");
    assert.deepEqual([held?.['from'], held?.['until']], [0, others.length + BR.length], 'the backlog is the whole profiles topic');
    assert.ok(lines.some((l) => l['msg'] === "profiles caught up; reading the partition's other inputs"), 'and it ends when they are read');
    assert.match(await replica.metrics.registry.metrics(), /^nudge_profiles_catch_up\{partition="0"\} 0$/m, 'the gauge was set for the partition, and is 0 again');
    // The other inputs are paused, not fetched and handed back over and over: a batch fetched
    // before the pause took effect is all that may be held (and read again later).
    const heldBatches = lines.filter((l) => l['msg'] === 'batch held until the profiles catch up').length;
    assert.ok(heldBatches <= 1, `events fetched ${heldBatches} times during the catch-up`);
  } finally {
    await producer.disconnect();
    await replica.stop();
    cleanup();
  }
});

/*
 * Profiles written in transactions. A committed transaction ends with a marker that no batch
 * handed to eachBatch contains on its own, and an open one holds a read_committed consumer back
 * at its first record: the catch-up's end is the last stable offset, and it is reached through
 * the marker, without waiting for the open transaction (a minute here, up to 15 by default on a
 * broker) or for kafka.profilesFirstIdleMs.
 */
test('kafka: profiles written in transactions — the catch-up reads past the commit marker and does not wait for an open transaction', { timeout: 180_000 }, async () => {
  const { dir, cleanup } = tempDir();
  // Fetches of at most 1 KB a partition: the transaction's three profiles come alone, the marker in a fetch of its own.
  const config = kafkaTestConfig(join(dir, 'state'), { kafka: { partitions: 1, profilesFirstIdleMs: 60_000, maxBytesPerPartition: 1024 } });
  const p = config.topics.prefix;
  const { lines, logger } = logLines();
  const { replica } = createReplica({ config, topology: () => decisionTopology(config, new HeuristicScorer()), logger, clock: eventsDay() });
  const plain = testKafka().producer({ idempotent: true, maxInFlightRequests: 1 });
  const committed = testKafka().producer({ transactionalId: `${p}committed`, idempotent: true, maxInFlightRequests: 1 });
  const open = testKafka().producer({ transactionalId: `${p}open`, idempotent: true, maxInFlightRequests: 1, transactionTimeout: 60_000 });
  try {
    await createInputs(p);
    for (const producer of [plain, committed, open]) await producer.connect();
    const first = await committed.transaction();
    await first.send({ topic: `${p}profiles`, acks: -1, messages: BR.map(brProfile) });
    await first.commit(); // offsets 0–2, and the commit marker at 3
    const pending = await open.transaction();
    await pending.send({ topic: `${p}profiles`, acks: -1, messages: [json('late', indiaUser('late'))] }); // offset 4, not committed
    await plain.send({ topic: `${p}events`, acks: -1, messages: brEvents() });
    const started = Date.now();
    await replica.start();
    await eventsRead(replica, p, BR.length * EVENTS_EACH);
    assert.ok(Date.now() - started < 30_000, 'neither the open transaction nor profilesFirstIdleMs was waited for');
    const held = lines.find((l) => l['msg'] === "reading the partition's profiles before its other inputs");
    assert.deepEqual([held?.['from'], held?.['until']], [0, BR.length + 1], 'up to the last stable offset: the three profiles and the marker');
    assert.ok(lines.some((l) => l['msg'] === "profiles caught up; reading the partition's other inputs"), 'caught up through the marker');
    assert.ok(!lines.some((l) => String(l['msg']).includes('stopped advancing')), 'not given up for want of progress');
    for (const u of BR) assert.deepEqual(activeBuckets(await userOf(replica, u)), [localTime(TS, 'America/Sao_Paulo').hourOfWeek], u);
    assert.equal(await userOf(replica, 'late'), undefined, 'the open transaction is not read');
    await pending.abort();
  } finally {
    for (const producer of [open, committed, plain]) await producer.disconnect();
    await replica.stop();
    cleanup();
  }
});

test('ProfilesFirst: holds only a backlog, ends when the profiles reach its end, and gives up on one that stops moving unless its replica paused it', () => {
  const catchUp = new ProfilesFirst();
  assert.equal(catchUp.hold(0, 10, 10, 0), false, 'nothing to catch up on');
  assert.equal(catchUp.hold(1, 0, 100, 0), true);
  assert.equal(catchUp.hold(2, 50, 60, 0), true);
  assert.deepEqual(catchUp.partitions(), [1, 2]);
  assert.equal(catchUp.advance(1, 40, 1_000), undefined, 'part of the way');
  assert.equal(catchUp.advance(1, 30, 2_000), undefined, 'an older position changes nothing');
  assert.deepEqual(catchUp.advance(2, 61, 1_500), { partition: 2, until: 60, reached: 61 }, 'past the end: done');
  assert.equal(catchUp.has(2), false);
  assert.deepEqual(catchUp.idle(5_999, 5_000, () => false), [], 'partition 1 moved at 1,000: not idle yet');
  assert.deepEqual(catchUp.idle(9_000, 5_000, () => true), [], 'paused by its replica: time paused does not count…');
  assert.deepEqual(catchUp.idle(13_999, 5_000, () => false), [], '…so the 5 s start again at 9,000');
  assert.deepEqual(catchUp.idle(14_000, 5_000, () => false), [{ partition: 1, until: 100, reached: 40 }]);
  assert.equal(catchUp.size, 0);
  assert.equal(catchUp.release(1), undefined);
});
