import { engineFlags, startRun } from './harness.js';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Partitioners, type Kafka, type Message } from 'kafkajs';
import { open, type Database, type RootDatabase } from 'lmdb';
import type { NudgeConfig } from '../config/schema.js';
import { errorMessage } from '../errors/index.js';
import { userCounterTopology } from '../operators/user-counter.js';
import { createReplica } from '../processor/create-replica.js';
import { fetchOffsets } from '../processor/kafka/offsets.js';
import type { Logger } from '../processor/logger.js';
import type { Replica } from '../processor/replica.js';
import { TopicNames } from '../processor/topic-names.js';
import { KAFKA_VERSION, startBroker, type KafkaBroker } from '../scripts/kafka-broker.js';
import { PartitionState } from '../state/partition-state.js';
import { formatSummary, profiled, summariseProfile, writeProfile, type ProfileSummary } from './cpu-profile.js';
import { mulberry32, userId } from './events.js';
import { benchKafka, createTopics, deleteBenchTopics, kafkaRunConfig, partitionEnds, type ProduceResult } from './kafka.js';
import { collectGarbage, rate, RssSampler, sleep, stateFootprint, throwIfAborted, waitUntilCommitted } from './measure.js';
import { writeRestoreReport, type MachineInfo } from './report.js';

export interface RestoreBenchOptions {
  /** Distinct users (= events = changelog entries) in the one partition. */
  users: number;
  /** An existing broker (host:port[,host:port]); otherwise one is started and stopped. */
  brokers?: string;
  /** Directory receiving results/restore.json and RESULTS.md; nothing is written without it. */
  out?: string;
  log?: (s: string) => void;
  signal?: AbortSignal;
  seed?: number;
  /** Profile the restoring replica (start() to ready) with V8's sampler and write the .cpuprofile here. */
  cpuProfDir?: string;
  /**
   * Let the broker's log cleaner compact the changelog during the run. Off by default: once the
   * changelog rolls a segment (64 MiB on the bench broker, ~900k users) the cleaner drops all but the
   * last checkpoint record of the cleaned segments, and the restore then fails (RESULTS.md).
   */
  compaction?: boolean;
}

/** The restore consumer's fetch settings (processor/kafka/restore.ts): the bare reference uses the same. */
const RESTORE_FETCH = { maxBytesPerPartition: 8 * 1024 * 1024, maxWaitTimeInMs: 100 } as const;

/**
 * Events per produce request. ~70 B each, so ~0.7 MB: below the broker's default 1 MB
 * message.max.bytes, and few enough round trips that producing 1M takes seconds, not minutes.
 */
const PRODUCE_PER_REQUEST = 10_000;

/** Runs of the bare kafkajs reference; odd, so that the median is one of them. */
const BARE_RUNS = 3;

/** How often the restore's counters are sampled. Finer is pointless: a restore batch is applied synchronously. */
const POLL_MS = 5;

export interface BareChangelogResult {
  /** From connect() until the batch holding the partition's last offset was handed over. */
  elapsedMs: number;
  msgsPerSec: number;
  joinMs: number;
  steadyMsgsPerSec: number;
  messages: number;
  /** Sum of key + value bytes delivered: the changelog's payload, without Kafka's framing. */
  payloadBytes: number;
  batches: number;
  cpuMs: number;
  brokerCpuMs: number | null;
}

export interface RawLmdbWriteResult {
  elapsedMs: number;
  /** CPU of this process while writing (LMDB writes synchronously on this thread). */
  cpuMs?: number;
  opsPerSec: number;
  ops: number;
  transactions: number;
  opsPerTransaction: number;
  fileBytes: number;
}

export interface RestoreTimeline {
  /** From replica.start() until the restore had planned its work (producer initialised, offsets read). */
  plannedMs: number;
  /** Until nudge_restore_records_total first moved: the first changelog batch was applied. */
  firstRecordsMs: number;
  /** Until it last moved: the last batch was applied. */
  lastRecordsMs: number;
  /** Until replica.ready with the partition's task running. */
  readyMs: number;
  /** Value of the counter when first seen moving: that first batch is outside the steady window. */
  firstRecordsCount: number;
}

export interface RestoreReport {
  scenario: 'restore';
  date: string;
  command: string;
  durationMs: number;
  machine: MachineInfo;
  params: {
    users: number;
    seed: number;
    guarantee: NudgeConfig['processor']['guarantee'];
    maxBatchRecords: number;
    /** The restoring replica's read cache (nudge's default); the building replica ran without one. */
    cacheEntries: number;
    /** Whether the broker's cleaner was free to compact the changelog during the run (--compaction). */
    compaction: boolean;
    brokers: string | null;
    prefix: string;
  };
  broker: { version: string; external: boolean; startMs: number | null };
  build: {
    produce: ProduceResult;
    /** The first replica, from start() until every event was committed. */
    elapsedMs: number;
    eventsPerSec: number;
    stateFileBytes: number;
    usersStored: number;
  };
  changelog: {
    /** Offsets: low, high (end); records = what a reader gets (compaction and transaction markers leave gaps). */
    low: number;
    high: number;
    records: number;
    payloadBytes: number;
    /** Sum of the partition's segment files on the broker's disk; null for an external broker. */
    segmentBytes: number | null;
  };
  restore: {
    timeline: RestoreTimeline;
    /** nudge_restore_records_total at the end. */
    records: number;
    /** records ÷ (lastRecordsMs − plannedMs): the restore's own window, including its consumer's group join. */
    recordsPerSec: number;
    /** Records after the first batch ÷ time between the first and last batch: reading and applying alone (null with one batch). */
    steadyRecordsPerSec: number | null;
    /** records ÷ readyMs: what an operator waiting for readiness sees. */
    toReadyRecordsPerSec: number;
    peakRssBytes: number;
    rssStartBytes: number;
    peakRssSource: 'VmHWM' | 'sampled';
    cpuMs: number;
    brokerCpuMs: number | null;
    stateFileBytes: number;
    stateUsedBytes: number;
    usersStored: number;
    counted: number;
  };
  bareKafkajs: BareChangelogResult;
  bareKafkajsRuns: BareChangelogResult[];
  rawLmdb: { before: RawLmdbWriteResult; after: RawLmdbWriteResult; meanOpsPerSec: number };
  ratios: {
    /** restore records/s ÷ bare kafkajs msgs/s (both windows include a fresh group's join). */
    restoreVsBareKafkajs: number;
    restoreSteadyVsBareKafkajsSteady: number | null;
    /** restore records/s ÷ raw LMDB ops/s (mean of the two runs). */
    restoreVsRawLmdb: number;
    /**
     * Time to ready ÷ (bare read time + raw write time): 1 would mean the restore costs exactly
     * a read of the changelog followed by a write of its entries; below 1, the two overlap.
     */
    readyVsReadPlusWrite: number;
    /**
     * Restore records per CPU second of this process ÷ the bare consumer's messages per CPU second:
     * CPU time is ours alone, so this moves less than the wall-clock ratios on a shared machine.
     */
    restorePerCpuVsBarePerCpu?: number;
  };
  /** Present when the restore ran under the CPU profiler (its rates are then a little lower). */
  profile: (ProfileSummary & { file: string }) | null;
}

export function restoreCommand(opts: Pick<RestoreBenchOptions, 'users' | 'brokers' | 'cpuProfDir' | 'compaction'>): string {
  const parts = ['node dist/bench/main.js restore', `--users ${opts.users}`, ...engineFlags(opts)];
  if (opts.compaction === true) parts.push('--compaction');
  // The directory is the user's choice; a placeholder keeps machine paths out of the results.
  if (opts.cpuProfDir !== undefined) parts.push('--cpu-prof <dir>');
  return parts.join(' ');
}

/**
 * The "restore" scenario: how fast a replica that lost its disk gets one partition of N
 * users back from the changelog, next to what kafkajs alone reads and LMDB alone writes.
 *
 * The changelog is made the way production makes it: a replica of the counter topology
 * consumes N events (one per user) on a one-partition topic set. That replica is stopped,
 * its state directory deleted, and a new replica starts in the SAME group, so its input
 * offsets are already at the end and all it does before it is ready is restore. (A new
 * group would re-consume the inputs and mix processing into the figure.)
 */
export async function runRestoreBench(opts: RestoreBenchOptions): Promise<RestoreReport> {
  validate(opts);
  const { log, signal, seed, logger, date, machine, t0, tmp } = startRun('restore', opts);
  let broker: KafkaBroker | undefined;
  let brokers = opts.brokers;
  let config: NudgeConfig | undefined;
  try {
    let brokerStartMs: number | null = null;
    if (brokers === undefined) {
      log(`starting a Kafka ${KAFKA_VERSION} broker`);
      const b0 = performance.now();
      broker = await startBroker({ log: (s) => log(`  ${s}`) });
      brokerStartMs = performance.now() - b0;
      brokers = broker.brokers;
    }
    throwIfAborted(signal);
    const kafka = benchKafka(brokers, logger);
    const brokerPid = broker?.pid;
    const withBroker = brokerPid !== undefined ? { brokerPid } : {};
    // One partition: the figure is per partition, which is what a replica restores in parallel.
    config = kafkaRunConfig(brokers, 1, 'exactly_once', join(tmp.dir, 'state'));
    const topics = new TopicNames(config.topics);
    const input = topics.input('events');
    if (opts.compaction !== true) await createQuietChangelog(kafka, topics.changelog);
    await createTopics(kafka, config, logger);

    log(`producing ${opts.users} events, one per user, to ${input}`);
    const produce = await produceOnePerUser(kafka, input, opts.users, seed, signal);
    log(`  ${Math.round(produce.msgsPerSec)} msgs/s in ${(produce.elapsedMs / 1000).toFixed(1)} s`);
    const inputEnds = await partitionEnds(kafka, input);
    if (inputEnds[0] !== opts.users) throw new Error(`${input} holds ${inputEnds[0] ?? 0} records, expected ${opts.users}`);

    log('building the changelog: replica 1 (counter topology, exactly_once) processes every event');
    const built = await runBuild(config, input, inputEnds, logger, signal);
    const build: RestoreReport['build'] = { produce, elapsedMs: built.elapsedMs, eventsPerSec: built.eventsPerSec, stateFileBytes: built.stateFileBytes, usersStored: built.usersStored };
    if (built.usersStored !== opts.users || built.counted !== opts.users) {
      throw new Error(`build: ${built.usersStored} users holding ${built.counted} counts, expected ${opts.users} each`);
    }
    log(`  ${Math.round(build.eventsPerSec)} events/s in ${(build.elapsedMs / 1000).toFixed(1)} s; replica stopped`);
    collectGarbage();

    const changelogTopic = topics.changelog;
    const [bounds] = await fetchOffsets(kafka, changelogTopic);
    if (bounds === undefined) throw new Error(`${changelogTopic} has no partition 0`);

    // The entries the raw reference writes are the changelog's own, collected by the first bare read.
    const entries: ChangelogEntries = { keys: [], values: [], checkpoints: 0 };
    const bareKafkajsRuns: BareChangelogResult[] = [];
    log(`bare kafkajs reference on ${changelogTopic} (1/${BARE_RUNS}), collecting its entries`);
    bareKafkajsRuns.push(await runBareChangelog(kafka, config, changelogTopic, [bounds.high], { ...withBroker, collect: entries, ...(signal ? { signal } : {}) }));
    log(`  ${Math.round((bareKafkajsRuns[0] as BareChangelogResult).msgsPerSec)} msgs/s`);
    collectGarbage();
    // The restore applies one kafkajs batch per transaction: the raw reference writes batches of the same mean size.
    const first = bareKafkajsRuns[0] as BareChangelogResult;
    const perTxn = Math.max(1, Math.round(first.messages / Math.max(1, first.batches)));

    log(`raw LMDB reference (1/2): ${entries.keys.length} puts in transactions of ${perTxn}`);
    const rawBefore = await runRawLmdbWrites(entries, perTxn, join(tmp.dir, 'raw-1'));
    log(`  ${Math.round(rawBefore.opsPerSec)} ops/s`);
    collectGarbage();
    throwIfAborted(signal);

    log('restore: state dir deleted, replica 2 starts in the same group');
    rmSync(config.state.dir, { recursive: true, force: true });
    const restoreOpts = { ...withBroker, ...(signal ? { signal } : {}) };
    let profile: RestoreReport['profile'] = null;
    let restore: RestoreReport['restore'];
    if (opts.cpuProfDir !== undefined) {
      const run = await profiled(() => runRestore(config as NudgeConfig, logger, restoreOpts));
      restore = run.result;
      const file = join(opts.cpuProfDir, `restore-${date.replace(/[:.]/g, '-')}.cpuprofile`);
      await writeProfile(run.profile, file);
      const summary = summariseProfile(run.profile, 15);
      log(`wrote ${file}\n${formatSummary(summary)}`);
      profile = { ...summary, file: basename(file) };
    } else {
      restore = await runRestore(config, logger, restoreOpts);
    }
    if (restore.usersStored !== opts.users || restore.counted !== opts.users) {
      throw new Error(`restore: ${restore.usersStored} users holding ${restore.counted} counts, expected ${opts.users} each; the figures would be meaningless`);
    }
    log(`  ${restore.records} records, ready after ${(restore.timeline.readyMs / 1000).toFixed(1)} s (${Math.round(restore.recordsPerSec)} records/s)`);
    collectGarbage();

    for (let i = 2; i <= BARE_RUNS; i++) {
      log(`bare kafkajs reference (${i}/${BARE_RUNS})`);
      bareKafkajsRuns.push(await runBareChangelog(kafka, config, changelogTopic, [bounds.high], { ...withBroker, ...(signal ? { signal } : {}) }));
      log(`  ${Math.round((bareKafkajsRuns[i - 1] as BareChangelogResult).msgsPerSec)} msgs/s`);
      collectGarbage();
    }
    log('raw LMDB reference (2/2)');
    const rawAfter = await runRawLmdbWrites(entries, perTxn, join(tmp.dir, 'raw-2'));
    log(`  ${Math.round(rawAfter.opsPerSec)} ops/s`);
    const rawMean = (rawBefore.opsPerSec + rawAfter.opsPerSec) / 2;
    const bare = [...bareKafkajsRuns].sort((a, b) => a.msgsPerSec - b.msgsPerSec)[Math.floor(BARE_RUNS / 2)] as BareChangelogResult;
    for (const b of bareKafkajsRuns) {
      if (b.messages !== first.messages) throw new Error(`bare kafkajs runs read ${b.messages} and ${first.messages} records of the same changelog`);
    }

    const segmentBytes = broker === undefined ? null : segmentBytesOf(broker.dataDir, changelogTopic, 0);
    const rawTimeMs = (rawBefore.elapsedMs + rawAfter.elapsedMs) / 2;
    const report: RestoreReport = {
      scenario: 'restore',
      date,
      command: restoreCommand(opts),
      durationMs: performance.now() - t0,
      machine,
      params: { users: opts.users, seed, guarantee: config.processor.guarantee, maxBatchRecords: config.processor.maxBatchRecords, cacheEntries: config.state.cacheEntries, compaction: opts.compaction === true, brokers: opts.brokers ?? null, prefix: config.topics.prefix },
      broker: { version: broker !== undefined ? KAFKA_VERSION : 'external', external: broker === undefined, startMs: brokerStartMs },
      build,
      changelog: { low: bounds.low, high: bounds.high, records: first.messages, payloadBytes: first.payloadBytes, segmentBytes },
      restore,
      bareKafkajs: bare,
      bareKafkajsRuns,
      rawLmdb: { before: rawBefore, after: rawAfter, meanOpsPerSec: rawMean },
      ratios: {
        restoreVsBareKafkajs: restore.recordsPerSec / bare.msgsPerSec,
        restoreSteadyVsBareKafkajsSteady: restore.steadyRecordsPerSec === null ? null : restore.steadyRecordsPerSec / bare.steadyMsgsPerSec,
        restoreVsRawLmdb: restore.recordsPerSec / rawMean,
        readyVsReadPlusWrite: restore.timeline.readyMs / (bare.elapsedMs + rawTimeMs),
        restorePerCpuVsBarePerCpu: restore.records / restore.cpuMs / (bare.messages / bare.cpuMs),
      },
      profile,
    };
    if (opts.out !== undefined) {
      const written = await writeRestoreReport(report, opts.out);
      log(`wrote ${written.json} and ${written.markdown}`);
    }
    return report;
  } finally {
    if (broker !== undefined) {
      log('stopping the broker');
      await broker.stop().catch((err: unknown) => log(`broker stop failed: ${errorMessage(err)}`));
    } else if (brokers !== undefined && config !== undefined) {
      // Not our broker: leave it as we found it.
      await deleteBenchTopics(benchKafka(brokers, logger), [config], log);
    }
    tmp.cleanup();
  }
}

/** A day: longer than any run, so the cleaner leaves every record of the run alone. */
const MIN_COMPACTION_LAG_MS = 86_400_000;

/**
 * Creates the changelog before nudge does, compacted as nudge requires but with
 * min.compaction.lag.ms of a day, so that the cleaner does not compact it while the bench
 * runs. nudge accepts an existing changelog whose cleanup.policy includes compact.
 */
async function createQuietChangelog(kafka: Kafka, topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [
        {
          topic,
          numPartitions: 1,
          replicationFactor: 1,
          configEntries: [
            { name: 'cleanup.policy', value: 'compact' },
            { name: 'min.compaction.lag.ms', value: String(MIN_COMPACTION_LAG_MS) },
          ],
        },
      ],
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
}

/**
 * N events, one per user, users in a seeded shuffled order (so LMDB sees keys in no
 * particular order, as it would in production). Generated per request, not all at once,
 * so that the process does not carry a million strings into the measured phases.
 */
async function produceOnePerUser(kafka: Kafka, topic: string, users: number, seed: number, signal: AbortSignal | undefined): Promise<ProduceResult> {
  const order = shuffled(users, seed);
  // Idempotent: a retried request must not duplicate an event, or a user would count 2.
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    let requests = 0;
    const ts0 = 1_763_712_000_000;
    const t0 = performance.now();
    for (let from = 0; from < users; from += PRODUCE_PER_REQUEST) {
      throwIfAborted(signal);
      const messages: Message[] = [];
      for (let i = from; i < Math.min(users, from + PRODUCE_PER_REQUEST); i++) {
        const id = userId(order[i] as number);
        messages.push({ key: id, value: JSON.stringify({ userId: id, ts: ts0 + i, type: 'app_open' }) });
      }
      await producer.send({ topic, acks: -1, messages });
      requests++;
    }
    const elapsedMs = performance.now() - t0;
    return { elapsedMs, msgsPerSec: rate(users, elapsedMs), requests };
  } finally {
    await producer.disconnect();
  }
}

function shuffled(n: number, seed: number): Uint32Array {
  const rand = mulberry32(seed);
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = a[i] as number;
    a[i] = a[j] as number;
    a[j] = t;
  }
  return a;
}

async function runBuild(
  config: NudgeConfig,
  topic: string,
  ends: number[],
  logger: Logger,
  signal: AbortSignal | undefined,
): Promise<Omit<RestoreReport['build'], 'produce'> & { counted: number }> {
  // The read cache only serves reads, so the changelog is the same without it; with it, every new
  // user past the cache's capacity pays an LRU eviction that gets slow when the cache is full
  // (see RESULTS.md), which would only make setting up a large partition take longer.
  const buildConfig: NudgeConfig = { ...config, state: { ...config.state, cacheEntries: 0 } };
  const replica: Replica = createReplica({ config: buildConfig, topology: () => userCounterTopology(), logger }).replica;
  let fatal: Error | undefined;
  replica.onFatal((err) => (fatal = err));
  try {
    const t0 = performance.now();
    await replica.start();
    const timeline = await waitUntilCommitted(replica, topic, ends, t0, { ...(signal ? { signal } : {}), fatal: () => fatal });
    const footprint = await stateFootprint(replica);
    const n = ends.reduce((a, b) => a + b, 0);
    return {
      elapsedMs: timeline.doneMs,
      eventsPerSec: rate(n, timeline.doneMs),
      stateFileBytes: footprint.fileBytes,
      usersStored: footprint.users,
      counted: footprint.counted,
    };
  } finally {
    // A clean stop commits nothing new (everything is committed) and leaves the group at once.
    await replica.stop();
  }
}

/** Replica 2 on an empty state dir, same group: timed from start() to ready, sampled every few ms. */
async function runRestore(config: NudgeConfig, logger: Logger, opts: { brokerPid?: number; signal?: AbortSignal }): Promise<RestoreReport['restore']> {
  const replica: Replica = createReplica({ config, topology: () => userCounterTopology(), logger }).replica;
  let fatal: Error | undefined;
  replica.onFatal((err) => (fatal = err));
  let sampler: RssSampler | undefined = new RssSampler(opts.brokerPid !== undefined ? { brokerPid: opts.brokerPid } : {});
  try {
    const t0 = performance.now();
    // start() returns once the consumer runs; the group join, and with it the restore, follow asynchronously.
    await replica.start();
    let plannedMs = -1;
    let firstRecordsMs = -1;
    let firstRecordsCount = 0;
    let lastRecordsMs = -1;
    let last = 0;
    let lastChange = performance.now();
    const stallMs = 120_000;
    for (;;) {
      throwIfAborted(opts.signal);
      if (fatal !== undefined) throw fatal;
      const now = performance.now();
      const { records, planned } = await restoreProgress(replica);
      if (plannedMs < 0 && planned) plannedMs = now - t0;
      if (records !== last) {
        if (firstRecordsMs < 0) {
          firstRecordsMs = now - t0;
          firstRecordsCount = records;
        }
        lastRecordsMs = now - t0;
        last = records;
        lastChange = now;
      }
      if (replica.ready && replica.tasks.size === 1) break;
      if (now - lastChange > stallMs) {
        // A failing restore is logged and retried by the replica, never fatal: say where to look.
        throw new Error(`restore made no progress for ${stallMs / 1000} s at ${last} records (phase ${replica.phase}, ${replica.tasks.size} tasks); a restore that fails is logged above and retried`);
      }
      await sleep(POLL_MS);
    }
    const readyMs = performance.now() - t0;
    const resources = sampler.end();
    sampler = undefined;
    const { records } = await restoreProgress(replica);
    if (records === 0 || plannedMs < 0) throw new Error('the replica became ready without restoring anything: was the state dir really empty?');
    const footprint = await stateFootprint(replica);
    const timeline: RestoreTimeline = { plannedMs, firstRecordsMs, lastRecordsMs, readyMs, firstRecordsCount };
    return {
      timeline,
      records,
      recordsPerSec: rate(records, lastRecordsMs - plannedMs),
      // One batch (a small partition) leaves no window after the first: no steady figure then.
      steadyRecordsPerSec: lastRecordsMs > firstRecordsMs ? rate(records - firstRecordsCount, lastRecordsMs - firstRecordsMs) : null,
      toReadyRecordsPerSec: rate(records, readyMs),
      peakRssBytes: resources.peakBytes,
      rssStartBytes: resources.startBytes,
      peakRssSource: resources.source,
      cpuMs: resources.cpuMs,
      brokerCpuMs: resources.brokerCpuMs,
      stateFileBytes: footprint.fileBytes,
      stateUsedBytes: footprint.usedBytes,
      usersStored: footprint.users,
      counted: footprint.counted,
    };
  } finally {
    sampler?.end();
    await replica.stop().catch((err: unknown) => logger.warn({ err: errorMessage(err) }, 'replica stop failed'));
  }
}

/** The replica's own restore metrics: records restored so far, and whether the restore has set its target. */
async function restoreProgress(replica: Replica): Promise<{ records: number; planned: boolean }> {
  const counter = await replica.metrics.restoreRecords.get();
  const gauge = await replica.metrics.restoreRemaining.get();
  return { records: counter.values.reduce((n, v) => n + v.value, 0), planned: gauge.values.length > 0 };
}

interface ChangelogEntries {
  keys: Buffer[];
  values: Buffer[];
  checkpoints: number;
}

/**
 * The read reference: a plain kafkajs consumer in a fresh group with the restore consumer's
 * fetch settings and isolation, reading the changelog partition from the beginning and doing
 * nothing with the records. Done when the batch holding the last offset arrives (the same
 * test the restore uses: the last offsets are transaction markers no message carries).
 */
export async function runBareChangelog(
  kafka: Kafka,
  config: NudgeConfig,
  topic: string,
  ends: readonly number[],
  opts: { signal?: AbortSignal; brokerPid?: number; collect?: ChangelogEntries },
): Promise<BareChangelogResult> {
  const consumer = kafka.consumer({
    groupId: `${config.topics.prefix}bare-${Math.random().toString(16).slice(2, 8)}`,
    maxBytesPerPartition: RESTORE_FETCH.maxBytesPerPartition,
    maxWaitTimeInMs: RESTORE_FETCH.maxWaitTimeInMs,
    readUncommitted: false,
  });
  let messages = 0;
  let payloadBytes = 0;
  let batches = 0;
  let joinedAt = -1;
  let atJoin = 0;
  let doneAt = -1;
  let crashed: Error | undefined;
  const collect = opts.collect;
  // Partitions whose batch holding the last offset has not arrived yet (empty ones never will).
  const pending = new Set(ends.flatMap((end, p) => (end > 0 ? [p] : [])));
  if (pending.size === 0) doneAt = performance.now();
  consumer.on(consumer.events.GROUP_JOIN, () => {
    if (joinedAt < 0) {
      joinedAt = performance.now();
      atJoin = messages;
    }
  });
  consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
    if (Number(e.payload.lastOffset) + 1 >= (ends[e.payload.partition] ?? 0)) pending.delete(e.payload.partition);
    if (doneAt < 0 && pending.size === 0) doneAt = performance.now();
  });
  consumer.on(consumer.events.CRASH, (e) => {
    if (e.payload.restart !== true) crashed = e.payload.error;
  });
  const sampler = new RssSampler(opts.brokerPid !== undefined ? { brokerPid: opts.brokerPid } : {});
  try {
    const t0 = performance.now();
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          payloadBytes += (m.key?.length ?? 0) + (m.value?.length ?? 0);
          if (collect !== undefined && m.key !== null && m.value !== null) {
            if (PartitionState.isCheckpointKey(m.key)) collect.checkpoints++;
            else {
              collect.keys.push(m.key);
              collect.values.push(m.value);
            }
          }
        }
        messages += batch.messages.length;
        batches++;
      },
    });
    let last = -1;
    let lastChange = performance.now();
    while (doneAt < 0) {
      throwIfAborted(opts.signal);
      if (crashed !== undefined) throw new Error(`bare kafkajs consumer crashed: ${errorMessage(crashed)}`);
      const now = performance.now();
      if (messages !== last) {
        last = messages;
        lastChange = now;
      } else if (now - lastChange > 120_000) {
        throw new Error(`bare kafkajs consumer made no progress for 120 s at ${messages} records`);
      }
      await sleep(POLL_MS);
    }
    const resources = sampler.end();
    const elapsedMs = doneAt - t0;
    const joinMs = (joinedAt < 0 ? doneAt : joinedAt) - t0;
    return {
      elapsedMs,
      msgsPerSec: rate(messages, elapsedMs),
      joinMs,
      steadyMsgsPerSec: rate(messages - atJoin, elapsedMs - joinMs),
      messages,
      payloadBytes,
      batches,
      cpuMs: resources.cpuMs,
      brokerCpuMs: resources.brokerCpuMs,
    };
  } finally {
    sampler.end();
    await consumer.disconnect().catch(() => undefined);
  }
}

/**
 * The write reference: the changelog's key/values put into a fresh LMDB environment
 * opened as LmdbStore opens it, `perTxn` puts (plus a checkpoint put, as the restore
 * writes one per batch) per `transactionSync`. No Kafka, no replay, no cache.
 */
async function runRawLmdbWrites(entries: ChangelogEntries, perTxn: number, dir: string): Promise<RawLmdbWriteResult> {
  const root: RootDatabase<Buffer, Buffer> = open<Buffer, Buffer>({
    path: join(dir, 'data.mdb'),
    keyEncoding: 'binary',
    encoding: 'binary',
    noSync: true,
    mapSize: 4096 * 1024 * 1024,
    compression: false,
  });
  let closed = false;
  try {
    const db: Database<Buffer, Buffer> = root.openDB<Buffer, Buffer>({ name: 'kv', keyEncoding: 'binary', encoding: 'binary' });
    const checkpointKey = Buffer.from(PartitionState.checkpointKey);
    const checkpointValue = Buffer.from([0x81, 0xa1, 0x63, 0x01]); // {c:1}: any small value stands for it
    const n = entries.keys.length;
    let transactions = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let from = 0; from < n; from += perTxn) {
      const to = Math.min(n, from + perTxn);
      db.transactionSync(() => {
        for (let i = from; i < to; i++) void db.put(entries.keys[i] as Buffer, entries.values[i] as Buffer);
        void db.put(checkpointKey, checkpointValue);
      });
      transactions++;
    }
    const elapsedMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    closed = true;
    await root.close();
    return { elapsedMs, cpuMs: (cpu.user + cpu.system) / 1000, opsPerSec: rate(n, elapsedMs), ops: n, transactions, opsPerTransaction: perTxn, fileBytes: statSync(join(dir, 'data.mdb')).size };
  } finally {
    if (!closed) await root.close().catch(() => undefined);
  }
}

/** Bytes of a partition's segment files in a local broker's log dir (scripts/kafka-broker.ts layout). */
function segmentBytesOf(dataDir: string, topic: string, partition: number): number | null {
  const dir = join(dataDir, 'kraft-logs', `${topic}-${partition}`);
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.log'))
      .reduce((n, f) => n + statSync(join(dir, f)).size, 0);
  } catch {
    return null;
  }
}

function validate(opts: RestoreBenchOptions): void {
  if (!Number.isInteger(opts.users) || opts.users < 1000) throw new Error(`--users must be an integer ≥ 1000, got ${opts.users}`);
}
