/**
 * One measured run of the decision topology (HeuristicScorer, RecordingSink, as `nudge run`
 * builds it) over what its input topics already hold, on either engine: the embedded log
 * when one is given, the Kafka of `config.kafka.brokers` otherwise. Timed from
 * `replica.start()` until the replica's checkpoints cover every record of `waitFor`.
 */
import { join } from 'node:path';
import { validateConfig } from '../config/load.js';
import type { NudgeConfig } from '../config/schema.js';
import { HeuristicScorer } from '../operators/decisions/heuristic-scorer.js';
import { decisionTopology } from '../operators/decisions/topology.js';
import { RecordingSink } from '../operators/sinks/recording-sink.js';
import type { Clock } from '../processor/clock.js';
import { createReplica } from '../processor/create-replica.js';
import { EmbeddedLog } from '../processor/embedded/log.js';
import type { Logger } from '../processor/logger.js';
import type { Replica } from '../processor/replica.js';
import { TopicNames } from '../processor/topic-names.js';
import { BatchLatency, type LatencyPercentiles } from './harness.js';
import { batchStats, rate, RssSampler, waitUntilCommitted, type BatchStats } from './measure.js';

export interface PhaseResult {
  records: number;
  /** Sends the RecordingSink performed by the end of the window (sends run after their decision commits). */
  sinkSends: number;
  /** Appending the phase's records to the log, before the clock starts. */
  fillMs: number;
  /** From replica.start() until every record of the phase is committed. */
  elapsedMs: number;
  recordsPerSec: number;
  readyMs: number;
  steadyRecordsPerSec: number;
  /** CPU time of this process in the window: ÷ elapsed = cores kept busy. */
  cpuMs: number;
  /** records ÷ CPU seconds: the rate one fully busy core would give. */
  perCpuSecond: number;
  rssStartBytes: number;
  peakRssBytes: number;
  peakRssSource: 'VmHWM' | 'sampled';
  /** V8 heap in use and memory outside it (Buffers, native) at the end of the window: the part of RSS that is ours, not mapped LMDB pages. */
  heapUsedBytes: number;
  externalBytes: number;
  batch: BatchStats;
}


/** A phase and its exact batch latencies (HDR), besides the prom-client figures in `batch`. */
export interface MeasuredPhase extends PhaseResult {
  latency: LatencyPercentiles;
  /** CPU of the local broker JVM meanwhile (it shares our cores); null on the embedded engine. */
  brokerCpuMs: number | null;
}

/** Partition ends of the topics the phase must get through; records = their sum. */
export interface PhaseInput {
  topic: string;
  ends: readonly number[];
}

export async function runDecisionPhase(opts: {
  config: NudgeConfig;
  clock: Clock;
  logger: Logger;
  waitFor: readonly PhaseInput[];
  fillMs: number;
  embeddedLog?: EmbeddedLog;
  brokerPid?: number;
  signal?: AbortSignal;
}): Promise<MeasuredPhase> {
  const { config, clock, logger } = opts;
  const records = opts.waitFor.reduce((n, w) => n + w.ends.reduce((a, b) => a + b, 0), 0);
  // Shared across partitions, as operators/topologies.ts shares it.
  const scorer = new HeuristicScorer();
  // The sink `nudge run` uses without providers (createReplica's default), named so its count can be read.
  const sink = new RecordingSink(clock);
  const replica: Replica = createReplica({
    config,
    topology: () => decisionTopology(config, scorer),
    logger,
    clock,
    effects: [sink],
    ...(opts.embeddedLog !== undefined ? { embeddedLog: opts.embeddedLog } : {}),
  }).replica;
  const latency = new BatchLatency(replica);
  let fatal: Error | undefined;
  replica.onFatal((err) => (fatal = err));
  let sampler: RssSampler | undefined = new RssSampler(opts.brokerPid !== undefined ? { brokerPid: opts.brokerPid } : {});
  try {
    const t0 = performance.now();
    await replica.start();
    // Positions start where earlier phases left them: count only this phase's records.
    let readyMs = -1;
    let doneMs = 0;
    let committedAtReady = 0;
    for (const w of opts.waitFor) {
      const timeline = await waitUntilCommitted(replica, w.topic, w.ends, t0, { ...(opts.signal ? { signal: opts.signal } : {}), fatal: () => fatal });
      if (readyMs < 0) {
        readyMs = timeline.readyMs;
        committedAtReady = timeline.committedAtReady;
      }
      doneMs = Math.max(doneMs, timeline.doneMs);
    }
    const rss = sampler.end();
    sampler = undefined;
    const memory = process.memoryUsage();
    const batch = await batchStats(replica.metrics.batchSeconds, replica.metrics.batchRecords);
    return {
      records,
      sinkSends: sink.sent,
      fillMs: opts.fillMs,
      elapsedMs: doneMs,
      recordsPerSec: rate(records, doneMs),
      readyMs,
      // Approximate with several topics: what was committed at readiness is counted on the first only.
      steadyRecordsPerSec: rate(records - committedAtReady, doneMs - readyMs),
      cpuMs: rss.cpuMs,
      perCpuSecond: rss.cpuMs <= 0 ? 0 : (records * 1000) / rss.cpuMs,
      rssStartBytes: rss.startBytes,
      peakRssBytes: rss.peakBytes,
      peakRssSource: rss.source,
      heapUsedBytes: memory.heapUsed,
      externalBytes: memory.external,
      batch,
      latency: latency.percentiles(),
      brokerCpuMs: rss.brokerCpuMs,
    };
  } finally {
    sampler?.end();
    await replica.stop();
  }
}

/** The embedded default as `nudge run` builds it without brokers, its log holding every topic the topology uses. */
export function embeddedDecisionSetup(dir: string, partitions: number): { config: NudgeConfig; elog: EmbeddedLog; topics: TopicNames } {
  const config = validateConfig({ state: { dir: join(dir, 'state') }, embedded: { partitions }, http: { port: 0 }, log: { level: 'warn' } });
  const topics = new TopicNames(config.topics);
  const elog = new EmbeddedLog(join(dir, 'embedded-log'));
  for (const t of topics.inputs) elog.createTopic(t, partitions);
  for (const t of topics.outputs) elog.createTopic(t, partitions);
  elog.createTopic(topics.campaigns, 1);
  return { config, elog, topics };
}

/** Records per partition of an embedded topic, in partition order. */
export function embeddedEnds(elog: EmbeddedLog, topic: string, partitions: number): number[] {
  return Array.from({ length: partitions }, (_, p) => elog.end(topic, p));
}
