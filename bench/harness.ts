/**
 * What every Kafka-and-embedded scenario repeats: a logger that keeps stdout for figures,
 * a broker (ours, started and stopped, or an external one left as found), argument checks,
 * the "no lost records" assertion, and batch latency percentiles from an HDR histogram.
 */
import { build, type Histogram as HdrHistogram } from 'hdr-histogram-js';
import type { Kafka } from 'kafkajs';
import { pino } from 'pino';
import type { NudgeConfig } from '../config/schema.js';
import { ConfigError, errorMessage } from '../errors/index.js';
import { createLogger, type Logger } from '../processor/logger.js';
import type { Replica } from '../processor/replica.js';
import { KAFKA_VERSION, startBroker, type KafkaBroker } from '../scripts/kafka-broker.js';
import { benchKafka, deleteBenchTopics } from './kafka.js';
import { DEFAULT_SEED } from './events.js';
import { tempDir, throwIfAborted } from './measure.js';
import { describeMachine, type MachineInfo } from './report.js';

/** Warnings and worse only, on stderr, synchronously: stdout stays for the figures. */
export function benchLogger(): Logger {
  // nudge's producers are created without a partitioner option; the notice would only add noise.
  process.env['KAFKAJS_NO_PARTITIONER_WARNING'] ??= '1';
  return createLogger('warn', pino.destination({ dest: 2, sync: true }));
}

export interface BrokerContext {
  brokers: string;
  kafka: Kafka;
  /** The local broker's JVM, whose CPU the samplers account; undefined with --brokers. */
  brokerPid: number | undefined;
  /** 'external' with --brokers. */
  version: string;
  brokerStartMs: number | null;
  /** Configs whose topics and groups are removed from an external broker at the end. */
  used: NudgeConfig[];
}

/**
 * Runs `fn` against a broker: the given one, or a Kafka started for the run and stopped
 * after it (its data goes with it). On an external broker the topics and groups of every
 * config pushed to `ctx.used` are deleted afterwards: leave it as we found it.
 */
export async function withBroker<T>(
  opts: { brokers?: string; logger: Logger; log: (s: string) => void; signal?: AbortSignal },
  fn: (ctx: BrokerContext) => Promise<T>,
): Promise<T> {
  let broker: KafkaBroker | undefined;
  let ctx: BrokerContext | undefined;
  try {
    let brokers = opts.brokers;
    let brokerStartMs: number | null = null;
    if (brokers === undefined) {
      opts.log(`starting a Kafka ${KAFKA_VERSION} broker`);
      const b0 = performance.now();
      broker = await startBroker({ log: (s) => opts.log(`  ${s}`) });
      brokerStartMs = performance.now() - b0;
      brokers = broker.brokers;
    }
    throwIfAborted(opts.signal);
    ctx = { brokers, kafka: benchKafka(brokers, opts.logger), brokerPid: broker?.pid, version: broker !== undefined ? KAFKA_VERSION : 'external', brokerStartMs, used: [] };
    return await fn(ctx);
  } finally {
    if (broker !== undefined) {
      opts.log('stopping the broker');
      await broker.stop().catch((err: unknown) => opts.log(`broker stop failed: ${errorMessage(err)}`));
    } else if (ctx !== undefined && ctx.used.length > 0) {
      await deleteBenchTopics(ctx.kafka, ctx.used, opts.log);
    }
  }
}

/** A benchmark that silently skipped work would report a flattering rate. */
export function assertCounted(what: string, counted: number, expected: number): void {
  if (counted !== expected) throw new Error(`${what}: counted ${counted}, expected ${expected}; the figures would be meaningless`);
}

/** Each [option, value, minimum]: a bad value is a usage error (ConfigError: `nudge bench` exits 2). */
export function validateIntegers(checks: ReadonlyArray<readonly [string, number, number]>): void {
  for (const [name, value, min] of checks) {
    if (!Number.isInteger(value) || value < min) throw new ConfigError(`--${name}`, `got ${value}`, `an integer ≥ ${min}`);
  }
}

export function validateBrokers(brokers: string | undefined): void {
  if (brokers !== undefined && !/^[^:,\s]+:\d{1,5}(,[^:,\s]+:\d{1,5})*$/.test(brokers)) {
    throw new Error(`--brokers must be host:port[,host:port…], got ${brokers}`);
  }
}

export interface LatencyPercentiles {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  meanMs: number;
}

/**
 * Exact per-batch latencies of a replica, next to its prom-client histogram (whose
 * buckets only allow interpolated quantiles): every `observe` of a records batch is also
 * recorded, in µs, in an HDR histogram (3 significant digits). Read-only with respect to
 * the replica: the prom-client figure is still recorded as before.
 */
export class BatchLatency {
  readonly #hdr: HdrHistogram = build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });

  constructor(replica: Replica) {
    const h = replica.metrics.batchSeconds;
    const observe = h.observe.bind(h);
    // prom-client's observe is overloaded (labels first, or the value alone); the replica passes labels.
    h.observe = ((labels: unknown, value?: number) => {
      if (typeof labels === 'object' && labels !== null && (labels as { kind?: string }).kind === 'records' && typeof value === 'number') {
        this.#hdr.recordValue(Math.max(1, Math.round(value * 1e6)));
      }
      return (observe as (l: unknown, v?: number) => void)(labels, value);
    }) as typeof h.observe;
  }

  percentiles(): LatencyPercentiles {
    const h = this.#hdr;
    const ms = (us: number) => us / 1000;
    return {
      count: h.totalCount,
      p50Ms: ms(h.getValueAtPercentile(50)),
      p90Ms: ms(h.getValueAtPercentile(90)),
      p99Ms: ms(h.getValueAtPercentile(99)),
      p999Ms: ms(h.getValueAtPercentile(99.9)),
      maxMs: ms(h.maxValue),
      meanMs: ms(h.mean),
    };
  }
}

/** Percentiles of plain durations (ms), for what is not a replica's batch (a child's time to ready, say). */
export function percentilesOf(durationsMs: readonly number[]): LatencyPercentiles {
  const h = build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
  for (const d of durationsMs) h.recordValue(Math.max(1, Math.round(d * 1000)));
  const ms = (us: number) => us / 1000;
  return { count: h.totalCount, p50Ms: ms(h.getValueAtPercentile(50)), p90Ms: ms(h.getValueAtPercentile(90)), p99Ms: ms(h.getValueAtPercentile(99)), p999Ms: ms(h.getValueAtPercentile(99.9)), maxMs: ms(h.maxValue), meanMs: ms(h.mean) };
}

/** What a two-engine scenario sets up before its first phase. */
export interface RunStart {
  log: (s: string) => void;
  signal: AbortSignal | undefined;
  seed: number;
  logger: Logger;
  /** ISO-8601, when the run started. */
  date: string;
  machine: MachineInfo;
  t0: number;
  /** The run's scratch directory; removed by `tmp.cleanup()` in the scenario's `finally`. */
  tmp: { dir: string; cleanup: () => void };
}

/** Checks the brokers option, then the logger, clock, machine and scratch dir of a run of `scenario`. */
export function startRun(scenario: string, opts: { kafka?: boolean; brokers?: string; log?: (s: string) => void; signal?: AbortSignal; seed?: number }): RunStart {
  validateBrokers(opts.brokers);
  return {
    log: opts.log ?? (() => undefined),
    signal: opts.signal,
    seed: opts.seed ?? DEFAULT_SEED,
    logger: benchLogger(),
    date: new Date().toISOString(),
    machine: describeMachine(opts.kafka === false ? null : opts.brokers === undefined ? KAFKA_VERSION : 'external'),
    t0: performance.now(),
    tmp: tempDir(`nudge-bench-${scenario}-`),
  };
}

/**
 * The reproduce command's engine flags, as the options were given. A broker address is the
 * user's own: a placeholder keeps it (and any host name) out of the committed results.
 */
export function engineFlags(opts: { brokers?: string; kafka?: boolean }): string[] {
  return [...(opts.brokers !== undefined ? ['--brokers <host:port>'] : []), ...(opts.kafka === false ? ['--no-kafka'] : [])];
}
