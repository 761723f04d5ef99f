import { randomBytes } from 'node:crypto';
import { Partitioners, type Kafka, type Message } from 'kafkajs';
import { validateConfig } from '../config/load.js';
import type { NudgeConfig } from '../config/schema.js';
import { errorMessage } from '../errors/index.js';
import { userCounterTopology } from '../operators/user-counter.js';
import { createReplica } from '../processor/create-replica.js';
import { createKafka } from '../processor/kafka/client.js';
import { fetchOffsets } from '../processor/kafka/offsets.js';
import { prepareTopics } from '../processor/kafka/topics.js';
import type { Logger } from '../processor/logger.js';
import type { Replica } from '../processor/replica.js';
import { TopicNames } from '../processor/topic-names.js';
import type { BenchEvents } from './events.js';
import { batchStats, rate, RssSampler, sleep, stateFootprint, throwIfAborted, waitUntilCommitted, type BatchStats } from './measure.js';

export type Guarantee = NudgeConfig['processor']['guarantee'];

export interface ProduceResult {
  elapsedMs: number;
  msgsPerSec: number;
  requests: number;
}

export interface NudgeKafkaResult {
  guarantee: Guarantee;
  prefix: string;
  produce: ProduceResult;
  /** From replica.start() (group join, producer init, restore included) until every event is committed. */
  elapsedMs: number;
  eventsPerSec: number;
  readyMs: number;
  steadyEventsPerSec: number;
  stopMs: number;
  rssStartBytes: number;
  peakRssBytes: number;
  peakRssSource: 'VmHWM' | 'sampled';
  /** CPU of this process, and of the local broker JVM (null if external), during the window. */
  cpuMs: number;
  brokerCpuMs: number | null;
  stateFileBytes: number;
  usersStored: number;
  counted: number;
  batch: BatchStats;
}

export interface BareKafkajsResult {
  /** From connect() until the N-th message was handed to eachBatch. */
  elapsedMs: number;
  msgsPerSec: number;
  /** Until the consumer had joined its group. */
  joinMs: number;
  steadyMsgsPerSec: number;
  batches: number;
  peakRssBytes: number;
  cpuMs: number;
  brokerCpuMs: number | null;
}

/** Client settings as nudge's own (timeouts, retries, routine errors demoted to debug). */
export function benchKafka(brokers: string, logger: Logger): Kafka {
  return createKafka(validateConfig({ kafka: { brokers: brokers.split(','), clientId: 'nudge-bench' } }), logger, {});
}

/**
 * A config for one measured replica: a fresh prefix, group and state dir; nudge's
 * defaults otherwise, so that the figures are those of the product as shipped.
 * `maxBytesPerPartition` overrides the fetch size (a workaround knob: in the committed
 * runtime of 2026-11-21 the 1 MiB default let one batch's outputs exceed the broker's
 * message.max.bytes, and the replica stalled on MESSAGE_TOO_LARGE).
 */
export function kafkaRunConfig(brokers: string, partitions: number, guarantee: Guarantee, stateDir: string, maxBytesPerPartition?: number): NudgeConfig {
  const prefix = `bench-${randomBytes(4).toString('hex')}.`;
  return validateConfig({
    topics: { prefix },
    kafka: {
      brokers: brokers.split(','),
      groupId: `${prefix}group`,
      replicaId: `bench-${guarantee}`,
      partitions,
      ...(maxBytesPerPartition !== undefined ? { maxBytesPerPartition } : {}),
    },
    processor: { guarantee },
    state: { dir: stateDir },
    http: { port: 0 },
    log: { level: 'warn' },
  });
}

/** Every topic a replica of this config creates, for cleaning up an external broker. */
export function topicsOf(config: NudgeConfig): string[] {
  const t = new TopicNames(config.topics);
  return [...t.inputs, ...t.outputs, t.changelog, t.campaigns];
}

/** Creates every topic the replica will use, exactly as the engine would, before any clock starts. */
export async function createTopics(kafka: Kafka, config: NudgeConfig, logger: Logger): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await prepareTopics(admin, config, new TopicNames(config.topics), logger);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Produces the events in requests of `perRequest`, one at a time, acks=-1, idempotent, with Kafka's
 * default (murmur2) partitioner: the same placement as the embedded log's. Connecting is
 * outside the timed window.
 */
export async function produceEvents(kafka: Kafka, topic: string, events: Pick<BenchEvents, 'keys' | 'values'>, perRequest = 5000, signal?: AbortSignal): Promise<ProduceResult> {
  // Idempotent: a retried request (a slow broker on a busy machine) must not duplicate events,
  // or the topic would hold more than N and every rate would be off.
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    let requests = 0;
    const t0 = performance.now();
    for (let from = 0; from < events.keys.length; from += perRequest) {
      throwIfAborted(signal);
      const messages: Message[] = [];
      for (let i = from; i < Math.min(events.keys.length, from + perRequest); i++) messages.push({ key: events.keys[i] as string, value: events.values[i] as string });
      await producer.send({ topic, acks: -1, messages });
      requests++;
    }
    const elapsedMs = performance.now() - t0;
    return { elapsedMs, msgsPerSec: rate(events.keys.length, elapsedMs), requests };
  } finally {
    await producer.disconnect();
  }
}

/** High watermarks per partition, in partition order. */
export async function partitionEnds(kafka: Kafka, topic: string): Promise<number[]> {
  const offsets = await fetchOffsets(kafka, topic);
  return offsets.sort((a, b) => a.partition - b.partition).map((o) => o.high);
}

/** One replica of the counter topology on Kafka, timed from start() until its checkpoints cover the topic. */
export async function runNudgeKafka(
  kafka: Kafka,
  config: NudgeConfig,
  events: BenchEvents,
  opts: { logger: Logger; signal?: AbortSignal; log: (s: string) => void; brokerPid?: number },
): Promise<NudgeKafkaResult> {
  const guarantee = config.processor.guarantee;
  const topic = new TopicNames(config.topics).input('events');
  await createTopics(kafka, config, opts.logger);
  const produce = await produceEvents(kafka, topic, events, 5000, opts.signal);
  opts.log(`  produced ${events.keys.length} events to ${topic} in ${(produce.elapsedMs / 1000).toFixed(1)} s (${Math.round(produce.msgsPerSec)} msg/s)`);
  const ends = await partitionEnds(kafka, topic);
  const total = ends.reduce((a, b) => a + b, 0);
  if (total !== events.keys.length) throw new Error(`${topic} holds ${total} records, expected ${events.keys.length}`);

  const replica: Replica = createReplica({ config, topology: () => userCounterTopology(), logger: opts.logger }).replica;
  let fatal: Error | undefined;
  replica.onFatal((err) => (fatal = err));
  let sampler: RssSampler | undefined = new RssSampler(opts.brokerPid !== undefined ? { brokerPid: opts.brokerPid } : {});
  let stopped = false;
  try {
    const t0 = performance.now();
    await replica.start();
    const timeline = await waitUntilCommitted(replica, topic, ends, t0, {
      ...(opts.signal ? { signal: opts.signal } : {}),
      fatal: () => fatal,
      hint: `if the log shows MESSAGE_TOO_LARGE, retry with a smaller --max-bytes-per-partition (now ${config.kafka.maxBytesPerPartition})`,
    });
    const rss = sampler.end();
    sampler = undefined;
    const footprint = await stateFootprint(replica);
    const batch = await batchStats(replica.metrics.batchSeconds, replica.metrics.batchRecords);
    const s0 = performance.now();
    stopped = true;
    await replica.stop();
    const stopMs = performance.now() - s0;
    const n = events.keys.length;
    return {
      guarantee,
      prefix: config.topics.prefix,
      produce,
      elapsedMs: timeline.doneMs,
      eventsPerSec: rate(n, timeline.doneMs),
      readyMs: timeline.readyMs,
      steadyEventsPerSec: rate(n - timeline.committedAtReady, timeline.doneMs - timeline.readyMs),
      stopMs,
      rssStartBytes: rss.startBytes,
      peakRssBytes: rss.peakBytes,
      peakRssSource: rss.source,
      cpuMs: rss.cpuMs,
      brokerCpuMs: rss.brokerCpuMs,
      stateFileBytes: footprint.fileBytes,
      usersStored: footprint.users,
      counted: footprint.counted,
      batch,
    };
  } finally {
    sampler?.end();
    if (!stopped) await replica.stop().catch((err: unknown) => opts.log(`  replica stop failed: ${errorMessage(err)}`));
  }
}

/**
 * The reference: a plain kafkajs consumer with nudge's fetch settings and isolation,
 * a fresh group, eachBatch, JSON.parse of every value and nothing else, autoCommit on.
 */
export async function runBareKafkajs(
  kafka: Kafka,
  config: NudgeConfig,
  topic: string,
  total: number,
  opts: { signal?: AbortSignal; stallMs?: number; brokerPid?: number },
): Promise<BareKafkajsResult> {
  const k = config.kafka;
  const consumer = kafka.consumer({
    groupId: `${config.topics.prefix}bare-${randomBytes(3).toString('hex')}`,
    sessionTimeout: k.sessionTimeoutMs,
    heartbeatInterval: k.heartbeatIntervalMs,
    rebalanceTimeout: k.rebalanceTimeoutMs,
    maxBytesPerPartition: k.maxBytesPerPartition,
    maxWaitTimeInMs: k.maxWaitTimeMs,
    readUncommitted: false,
  });
  let consumed = 0;
  let batches = 0;
  let joinedAt = -1;
  let consumedAtJoin = 0;
  let crashed: Error | undefined;
  const sampler = new RssSampler(opts.brokerPid !== undefined ? { brokerPid: opts.brokerPid } : {});
  consumer.on(consumer.events.GROUP_JOIN, () => {
    if (joinedAt < 0) {
      joinedAt = performance.now();
      consumedAtJoin = consumed;
    }
  });
  consumer.on(consumer.events.CRASH, (e) => {
    if (e.payload.restart !== true) crashed = e.payload.error;
  });
  try {
    const t0 = performance.now();
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      partitionsConsumedConcurrently: k.partitionsConsumedConcurrently,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          if (m.value !== null) JSON.parse(m.value.toString('utf8'));
          consumed++;
        }
        batches++;
      },
    });
    const stallMs = opts.stallMs ?? 120_000;
    let last = -1;
    let lastChange = performance.now();
    while (consumed < total) {
      throwIfAborted(opts.signal);
      if (crashed !== undefined) throw new Error(`bare kafkajs consumer crashed: ${errorMessage(crashed)}`);
      const now = performance.now();
      if (consumed !== last) {
        last = consumed;
        lastChange = now;
      } else if (now - lastChange > stallMs) {
        throw new Error(`bare kafkajs consumer made no progress for ${stallMs / 1000} s at ${consumed} of ${total}`);
      }
      await sleep(10);
    }
    const doneAt = performance.now();
    const resources = sampler.end();
    const joinMs = (joinedAt < 0 ? doneAt : joinedAt) - t0;
    return {
      elapsedMs: doneAt - t0,
      msgsPerSec: rate(total, doneAt - t0),
      joinMs,
      steadyMsgsPerSec: rate(total - consumedAtJoin, doneAt - t0 - joinMs),
      batches,
      peakRssBytes: resources.peakBytes,
      cpuMs: resources.cpuMs,
      brokerCpuMs: resources.brokerCpuMs,
    };
  } finally {
    sampler.end();
    await consumer.disconnect().catch(() => undefined);
  }
}

/**
 * The bare consumer `runs` times, each in a fresh group (it is cheap: about a second), and
 * the median by msgs/s as the reference: one slow run on a shared machine does not move it.
 */
export async function runBareKafkajsMedian(
  kafka: Kafka,
  config: NudgeConfig,
  topic: string,
  total: number,
  runs: number,
  opts: { log: (s: string) => void; signal?: AbortSignal; brokerPid?: number },
): Promise<{ bareKafkajs: BareKafkajsResult; bareKafkajsRuns: BareKafkajsResult[] }> {
  const bareKafkajsRuns: BareKafkajsResult[] = [];
  for (let i = 1; i <= runs; i++) {
    opts.log(`bare kafkajs reference on ${topic} (${i}/${runs})`);
    const bare = await runBareKafkajs(kafka, config, topic, total, opts);
    bareKafkajsRuns.push(bare);
    opts.log(`  ${Math.round(bare.msgsPerSec)} msgs/s in ${(bare.elapsedMs / 1000).toFixed(1)} s`);
  }
  const bareKafkajs = [...bareKafkajsRuns].sort((a, b) => a.msgsPerSec - b.msgsPerSec)[Math.floor(runs / 2)] as BareKafkajsResult;
  return { bareKafkajs, bareKafkajsRuns };
}

/** Removes what a run left on a broker it does not own; best effort. */
export async function deleteBenchTopics(kafka: Kafka, configs: readonly NudgeConfig[], log: (s: string) => void): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const topics = configs.flatMap(topicsOf).filter((t) => existing.has(t));
    if (topics.length > 0) await admin.deleteTopics({ topics });
    const prefixes = configs.map((c) => c.topics.prefix);
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => prefixes.some((p) => g.startsWith(p)));
    if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined);
  } catch (err) {
    log(`cleanup of bench topics failed (left on the broker): ${errorMessage(err)}`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
