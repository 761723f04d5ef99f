import { join } from 'node:path';
import type { Logger } from '../processor/logger.js';
import { TopicNames } from '../processor/topic-names.js';
import { KAFKA_VERSION } from '../scripts/kafka-broker.js';
import { runEmbedded, type EmbeddedResult } from './embedded.js';
import { DEFAULT_SEED, generateEvents } from './events.js';
import { assertCounted, benchLogger, validateBrokers, validateIntegers, withBroker } from './harness.js';
import { kafkaRunConfig, partitionEnds, runBareKafkajsMedian, runNudgeKafka, type BareKafkajsResult, type NudgeKafkaResult } from './kafka.js';
import { collectGarbage, tempDir, throwIfAborted } from './measure.js';
import { runRawLmdb, type RawLmdbResult } from './raw-lmdb.js';
import { describeMachine, writeRuntimeReport, type MachineInfo } from './report.js';
import type { NudgeConfig } from '../config/schema.js';

export interface RuntimeBenchOptions {
  events: number;
  users: number;
  partitions: number;
  /** An existing broker (host:port[,host:port]); otherwise one is started and stopped. */
  brokers?: string;
  /** Directory receiving results/runtime.json and RESULTS.md (normally <repo>/bench); nothing is written without it. */
  out?: string;
  log?: (s: string) => void;
  /** Skip the Kafka half (no broker needed), e.g. to iterate on the embedded figures. */
  kafka?: boolean;
  /** Overrides nudge's kafka.maxBytesPerPartition for the Kafka runs and the bare consumer; nudge's default otherwise. */
  maxBytesPerPartition?: number;
  signal?: AbortSignal;
  seed?: number;
}

/** The embedded engine's batch size (createReplica's maxBatchRecords): the raw reference uses the same. */
export const EMBEDDED_BATCH_RECORDS = 1000;

/** Runs of the bare kafkajs reference; odd, so that the median is one of them. */
const BARE_RUNS = 3;

export interface RuntimeReport {
  scenario: 'runtime';
  /** ISO-8601, when the run started. */
  date: string;
  command: string;
  durationMs: number;
  machine: MachineInfo;
  params: {
    events: number;
    users: number;
    partitions: number;
    seed: number;
    batchRecords: number;
    distinctUsers: number;
    meanValueBytes: number;
    brokers: string | null;
  };
  embedded: EmbeddedResult;
  /** Run before and after the embedded phase; the ratio uses their mean, the spread shows the drift. */
  rawLmdb: { before: RawLmdbResult; after: RawLmdbResult; meanOpsPerSec: number };
  kafka: {
    /** The effective settings of the measured replicas (nudge's defaults unless overridden), as validated. */
    settings: { kafka: Omit<NudgeConfig['kafka'], 'brokers' | 'groupId' | 'replicaId' | 'sasl'>; processor: NudgeConfig['processor']; overridden: string[] };
    version: string;
    external: boolean;
    brokerStartMs: number | null;
    exactlyOnce: NudgeKafkaResult;
    atLeastOnce: NudgeKafkaResult;
    /** The median (by msgs/s) of `bareKafkajsRuns`: the reference the ratios use. */
    bareKafkajs: BareKafkajsResult;
    /** The bare consumer is cheap (about a second), so it runs a few times, each in a fresh group. */
    bareKafkajsRuns: BareKafkajsResult[];
  } | null;
  ratios: {
    /** embedded events/s ÷ raw LMDB ops/s (mean of the two runs). */
    embeddedVsRawLmdb: number;
    embeddedSteadyVsRawLmdb: number;
    /** nudge on Kafka events/s ÷ bare kafkajs msgs/s, whole windows (start-up included on both sides). */
    exactlyOnceVsBareKafkajs: number | null;
    atLeastOnceVsBareKafkajs: number | null;
    /** The same after group join / readiness on both sides: processing alone. */
    exactlyOnceSteadyVsBareKafkajsSteady: number | null;
    atLeastOnceSteadyVsBareKafkajsSteady: number | null;
  };
}

export function runtimeCommand(opts: Pick<RuntimeBenchOptions, 'events' | 'users' | 'partitions' | 'brokers' | 'kafka' | 'maxBytesPerPartition'>): string {
  const parts = ['node dist/bench/main.js runtime', `--events ${opts.events}`, `--users ${opts.users}`, `--partitions ${opts.partitions}`];
  if (opts.brokers !== undefined) parts.push(`--brokers ${opts.brokers}`);
  if (opts.maxBytesPerPartition !== undefined) parts.push(`--max-bytes-per-partition ${opts.maxBytesPerPartition}`);
  if (opts.kafka === false) parts.push('--no-kafka');
  return parts.join(' ');
}

/**
 * The "runtime" scenario: per-user counter throughput on the embedded default and on
 * Kafka (exactly-once and at-least-once), each next to a reference measured in the same
 * run (raw LMDB, bare kafkajs), because on a shared 2-core machine only ratios travel.
 */
export async function runRuntimeBench(opts: RuntimeBenchOptions): Promise<RuntimeReport> {
  validate(opts);
  const log = opts.log ?? (() => undefined);
  const signal = opts.signal;
  const seed = opts.seed ?? DEFAULT_SEED;
  const logger: Logger = benchLogger();
  const date = new Date().toISOString();
  const machine = describeMachine(opts.kafka === false ? null : opts.brokers === undefined ? KAFKA_VERSION : 'external');
  const t0 = performance.now();
  const tmp = tempDir('nudge-bench-runtime-');
  try {
    log(`generating ${opts.events} events over ${opts.users} users (seed ${seed})`);
    const events = generateEvents(opts.events, opts.users, seed);

    log(`raw LMDB reference (1/2): ${opts.partitions} environments, transactions of ${EMBEDDED_BATCH_RECORDS}`);
    const rawBefore = await runRawLmdb(events, opts.partitions, EMBEDDED_BATCH_RECORDS, join(tmp.dir, 'raw-1'));
    assertCounted('raw LMDB', rawBefore.counted, opts.events);
    log(`  ${Math.round(rawBefore.opsPerSec)} ops/s`);
    collectGarbage();
    throwIfAborted(signal);

    log(`embedded: ${opts.partitions} partitions`);
    const embedded = await runEmbedded(events, { partitions: opts.partitions, dir: join(tmp.dir, 'embedded'), logger, ...(signal ? { signal } : {}) });
    assertCounted('embedded', embedded.counted, opts.events);
    if (embedded.outputs !== opts.events) throw new Error(`embedded: ${embedded.outputs} counts records, expected ${opts.events}`);
    log(`  ${Math.round(embedded.eventsPerSec)} events/s in ${(embedded.elapsedMs / 1000).toFixed(1)} s`);
    collectGarbage();
    throwIfAborted(signal);

    log('raw LMDB reference (2/2)');
    const rawAfter = await runRawLmdb(events, opts.partitions, EMBEDDED_BATCH_RECORDS, join(tmp.dir, 'raw-2'));
    assertCounted('raw LMDB', rawAfter.counted, opts.events);
    log(`  ${Math.round(rawAfter.opsPerSec)} ops/s`);
    const rawMean = (rawBefore.opsPerSec + rawAfter.opsPerSec) / 2;
    collectGarbage();

    const kafka = opts.kafka === false ? null : await runKafkaHalf(opts, events, { logger, log, dir: tmp.dir, ...(signal ? { signal } : {}) });

    const report: RuntimeReport = {
      scenario: 'runtime',
      date,
      command: runtimeCommand(opts),
      durationMs: performance.now() - t0,
      machine,
      params: {
        events: opts.events,
        users: opts.users,
        partitions: opts.partitions,
        seed,
        batchRecords: EMBEDDED_BATCH_RECORDS,
        distinctUsers: events.distinctUsers,
        meanValueBytes: events.valueBytes / opts.events,
        brokers: opts.brokers ?? null,
      },
      embedded,
      rawLmdb: { before: rawBefore, after: rawAfter, meanOpsPerSec: rawMean },
      kafka,
      ratios: {
        embeddedVsRawLmdb: embedded.eventsPerSec / rawMean,
        embeddedSteadyVsRawLmdb: embedded.steadyEventsPerSec / rawMean,
        exactlyOnceVsBareKafkajs: kafka ? kafka.exactlyOnce.eventsPerSec / kafka.bareKafkajs.msgsPerSec : null,
        atLeastOnceVsBareKafkajs: kafka ? kafka.atLeastOnce.eventsPerSec / kafka.bareKafkajs.msgsPerSec : null,
        exactlyOnceSteadyVsBareKafkajsSteady: kafka ? kafka.exactlyOnce.steadyEventsPerSec / kafka.bareKafkajs.steadyMsgsPerSec : null,
        atLeastOnceSteadyVsBareKafkajsSteady: kafka ? kafka.atLeastOnce.steadyEventsPerSec / kafka.bareKafkajs.steadyMsgsPerSec : null,
      },
    };
    if (opts.out !== undefined) {
      const written = await writeRuntimeReport(report, opts.out);
      log(`wrote ${written.json} and ${written.markdown}`);
    }
    return report;
  } finally {
    tmp.cleanup();
  }
}

async function runKafkaHalf(
  opts: RuntimeBenchOptions,
  events: ReturnType<typeof generateEvents>,
  ctx: { logger: Logger; log: (s: string) => void; dir: string; signal?: AbortSignal },
): Promise<NonNullable<RuntimeReport['kafka']>> {
  const { log, logger, signal } = ctx;
  return withBroker({ ...(opts.brokers !== undefined ? { brokers: opts.brokers } : {}), logger, log, ...(signal ? { signal } : {}) }, async (b) => {
    const { kafka, brokers } = b;
    const withSignal = { ...(signal ? { signal } : {}), ...(b.brokerPid !== undefined ? { brokerPid: b.brokerPid } : {}) };

    const maxBytes = opts.maxBytesPerPartition;
    const eosConfig = kafkaRunConfig(brokers, opts.partitions, 'exactly_once', join(ctx.dir, 'kafka-eos'), maxBytes);
    b.used.push(eosConfig);
    log(`kafka exactly_once: prefix ${eosConfig.topics.prefix}`);
    const exactlyOnce = await runNudgeKafka(kafka, eosConfig, events, { logger, log, ...withSignal });
    assertCounted('kafka exactly_once', exactlyOnce.counted, opts.events);
    log(`  ${Math.round(exactlyOnce.eventsPerSec)} events/s in ${(exactlyOnce.elapsedMs / 1000).toFixed(1)} s`);
    collectGarbage();

    // Same broker, same topic as the exactly-once run, fresh group.
    const topic = new TopicNames(eosConfig.topics).input('events');
    const total = (await partitionEnds(kafka, topic)).reduce((a, c) => a + c, 0);
    const { bareKafkajs, bareKafkajsRuns } = await runBareKafkajsMedian(kafka, eosConfig, topic, total, BARE_RUNS, { log, ...withSignal });

    const alosConfig = kafkaRunConfig(brokers, opts.partitions, 'at_least_once', join(ctx.dir, 'kafka-alos'), maxBytes);
    b.used.push(alosConfig);
    log(`kafka at_least_once: prefix ${alosConfig.topics.prefix}`);
    const atLeastOnce = await runNudgeKafka(kafka, alosConfig, events, { logger, log, ...withSignal });
    assertCounted('kafka at_least_once', atLeastOnce.counted, opts.events);
    log(`  ${Math.round(atLeastOnce.eventsPerSec)} events/s in ${(atLeastOnce.elapsedMs / 1000).toFixed(1)} s`);

    const { brokers: _b, groupId: _g, replicaId: _r, sasl: _s, ...kafkaSettings } = eosConfig.kafka;
    const settings = { kafka: kafkaSettings, processor: eosConfig.processor, overridden: maxBytes !== undefined ? ['kafka.maxBytesPerPartition'] : [] };
    return { settings, version: b.version, external: b.version === 'external', brokerStartMs: b.brokerStartMs, exactlyOnce, atLeastOnce, bareKafkajs, bareKafkajsRuns };
  });
}

function validate(opts: RuntimeBenchOptions): void {
  validateIntegers([
    ['events', opts.events, 1],
    ['users', opts.users, 1],
    ['partitions', opts.partitions, 1],
  ]);
  if (opts.maxBytesPerPartition !== undefined && (!Number.isInteger(opts.maxBytesPerPartition) || opts.maxBytesPerPartition < 1024)) {
    throw new Error(`--max-bytes-per-partition must be an integer ≥ 1024, got ${opts.maxBytesPerPartition}`);
  }
  validateBrokers(opts.brokers);
}
