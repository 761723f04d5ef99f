import { join } from 'node:path';
import type { NudgeConfig } from '../config/schema.js';
import type { Kafka } from 'kafkajs';
import type { Logger } from '../processor/logger.js';
import { TopicNames } from '../processor/topic-names.js';
import { embeddedDecisionSetup, embeddedEnds, runDecisionPhase, type MeasuredPhase } from './decision-phase.js';
import { ConfigError } from '../errors/index.js';
import { MAX_EVENTS_PER_USER_DAY, TARGET_EVENTS_PER_USER_DAY } from './sim/activity.js';
import { activityEvents, BenchClock, fill, HOUR, populationEvents, populationProfiles, stateOnDisk, type KeyedRecords, type StateOnDisk } from './decision-workload.js';
import { type BenchEvents } from './events.js';
import { assertCounted, engineFlags, startRun, validateIntegers, withBroker } from './harness.js';
import { createTopics, kafkaRunConfig, partitionEnds, produceEvents, runBareKafkajsMedian, type BareKafkajsResult, type ProduceResult } from './kafka.js';
import { collectGarbage, throwIfAborted } from './measure.js';
import { runRawLmdb, type RawLmdbResult } from './raw-lmdb.js';
import { type MachineInfo } from './report.js';
import { writeIngestReport } from './report-ingest.js';
import { EMBEDDED_BATCH_RECORDS } from './runtime.js';

/**
 * Where the events come from: `uniform` draws each event's user uniformly (the read cache's
 * hardest case); `activity` takes them from the simulator's users at a rate a user a day.
 */
export type IngestWorkload = 'uniform' | 'activity';
export const INGEST_WORKLOADS: readonly IngestWorkload[] = ['uniform', 'activity'];

export interface IngestBenchOptions {
  /** Activity events. */
  events: number;
  /** Default `uniform`. */
  workload?: IngestWorkload;
  /** With the `activity` workload: events a user a day (default the target load's, TARGET_EVENTS_PER_USER_DAY). */
  eventsPerUserDay?: number;
  /** Users of the simulated population, one profile record each. */
  users: number;
  partitions: number;
  brokers?: string;
  kafka?: boolean;
  out?: string;
  log?: (s: string) => void;
  signal?: AbortSignal;
  seed?: number;
}

const BARE_RUNS = 3;

/** One engine's ingest: profiles and events through the decision topology into per-user state. */
export interface IngestRun {
  phase: MeasuredPhase;
  /** Profile and event records the phase got through (committed positions). */
  profiles: number;
  events: number;
  /** Records the topology rejected: must be 0, or the phase did less work than it claims. */
  deadLetters: number;
  state: StateOnDisk;
}

export interface IngestReport {
  /** `ingest-activity` for the activity workload: its own results file and section. */
  scenario: 'ingest' | 'ingest-activity';
  date: string;
  command: string;
  durationMs: number;
  machine: MachineInfo;
  params: {
    events: number;
    users: number;
    partitions: number;
    seed: number;
    workload: IngestWorkload;
    /** Activity workload only: the rate asked for. */
    eventsPerUserDay: number | null;
    /** The share of the events that the busiest tenth of the users made. */
    busiestTenthShare: number;
    /** Events whose user is the previous event's: a run the write-behind keeps as one object. */
    sameUserAsPrevious: number;
    /** Hours between the first and the last event. */
    spanHours: number;
    distinctEventUsers: number;
    meanEventBytes: number;
    meanProfileBytes: number;
    brokers: string | null;
  };
  embedded: IngestRun & { rawLmdb: { before: RawLmdbResult; after: RawLmdbResult; meanOpsPerSec: number } };
  kafka: (IngestRun & { guarantee: 'exactly_once'; version: string; produce: { profiles: ProduceResult; events: ProduceResult }; bareKafkajs: BareKafkajsResult; bareKafkajsRuns: BareKafkajsResult[] }) | null;
  ratios: {
    /** Embedded records/s ÷ raw LMDB read-modify-writes/s (mean of the two runs). */
    embeddedVsRawLmdb: number;
    /** Kafka records/s ÷ bare kafkajs msgs/s on the events topic (median of the runs). */
    kafkaVsBareKafkajs: number | null;
    /** Kafka records/s ÷ embedded records/s. */
    kafkaVsEmbedded: number | null;
  };
}

export function ingestCommand(opts: Pick<IngestBenchOptions, 'events' | 'users' | 'partitions' | 'brokers' | 'kafka' | 'workload' | 'eventsPerUserDay'>): string {
  const parts = ['node dist/bench/main.js ingest', `--events ${opts.events}`, `--users ${opts.users}`, `--partitions ${opts.partitions}`];
  if (opts.workload === 'activity') parts.push('--workload activity');
  if (opts.workload === 'activity' && opts.eventsPerUserDay !== undefined) parts.push(`--events-per-user-day ${opts.eventsPerUserDay}`);
  return [...parts, ...engineFlags(opts)].join(' ');
}

/**
 * The "ingest" scenario: the real decision topology (operators/decisions/) taking U profiles
 * and N activity events into per-user state (profile, decayed features), on the embedded
 * default and on Kafka (exactly-once), next to raw LMDB and bare kafkajs in the same run.
 * The runtime scenario measures the same machinery with the minimal per-user counter.
 */
export async function runIngestBench(opts: IngestBenchOptions): Promise<IngestReport> {
  validateIntegers([
    ['events', opts.events, 1],
    ['users', opts.users, 1],
    ['partitions', opts.partitions, 1],
  ]);
  const workload = opts.workload ?? 'uniform';
  if (!INGEST_WORKLOADS.includes(workload)) throw new ConfigError('--workload', `unknown workload ${String(workload)}`, INGEST_WORKLOADS.join(', '));
  if (opts.eventsPerUserDay !== undefined && workload !== 'activity') {
    throw new ConfigError('--events-per-user-day', 'applies to the activity workload only', 'with --workload activity');
  }
  if (opts.eventsPerUserDay !== undefined && !(opts.eventsPerUserDay > 0 && opts.eventsPerUserDay <= MAX_EVENTS_PER_USER_DAY)) {
    throw new ConfigError('--events-per-user-day', `got ${opts.eventsPerUserDay}`, `a number above 0 and at most ${MAX_EVENTS_PER_USER_DAY}; the target load is ${TARGET_EVENTS_PER_USER_DAY}`);
  }
  const scenario = workload === 'activity' ? 'ingest-activity' : 'ingest';
  const { log, signal, seed, logger, date, machine, t0, tmp } = startRun(scenario, opts);
  try {
    log(`generating ${opts.users} profiles and ${opts.events} events (${workload})`);
    const profiles = populationProfiles(opts.users);
    const rate = workload === 'activity' ? (opts.eventsPerUserDay ?? TARGET_EVENTS_PER_USER_DAY) : null;
    const events = rate !== null ? activityEvents(opts.events, opts.users, seed, rate) : populationEvents(opts.events, profiles.keys, seed);
    const shape = eventsShape(events, opts.users);

    log(`raw LMDB reference (1/2): ${opts.partitions} environments, transactions of ${EMBEDDED_BATCH_RECORDS}`);
    const rawBefore = await runRawLmdb(events, opts.partitions, EMBEDDED_BATCH_RECORDS, join(tmp.dir, 'raw-1'));
    assertCounted('raw LMDB', rawBefore.counted, opts.events);
    collectGarbage();
    throwIfAborted(signal);

    log(`embedded: ${opts.partitions} partitions`);
    const embedded = await runEmbeddedIngest(profiles, events, opts.partitions, join(tmp.dir, 'embedded'), logger, signal);
    log(`  ${Math.round(embedded.phase.recordsPerSec)} records/s in ${(embedded.phase.elapsedMs / 1000).toFixed(1)} s`);
    collectGarbage();

    log('raw LMDB reference (2/2)');
    const rawAfter = await runRawLmdb(events, opts.partitions, EMBEDDED_BATCH_RECORDS, join(tmp.dir, 'raw-2'));
    assertCounted('raw LMDB', rawAfter.counted, opts.events);
    const rawMean = (rawBefore.opsPerSec + rawAfter.opsPerSec) / 2;
    collectGarbage();
    throwIfAborted(signal);

    const kafka =
      opts.kafka === false
        ? null
        : await withBroker({ ...(opts.brokers !== undefined ? { brokers: opts.brokers } : {}), logger, log, ...(signal ? { signal } : {}) }, async (b) => {
            const config = kafkaRunConfig(b.brokers, opts.partitions, 'exactly_once', join(tmp.dir, 'kafka-state'));
            b.used.push(config);
            const topics = new TopicNames(config.topics);
            await createTopics(b.kafka, config, logger);
            const produce = {
              profiles: await produceEvents(b.kafka, topics.input('profiles'), profiles, 5000, signal),
              events: await produceEvents(b.kafka, topics.input('events'), events, 5000, signal),
            };
            log(`kafka exactly_once: produced ${opts.users} profiles and ${opts.events} events (prefix ${config.topics.prefix})`);
            const run = await runKafkaIngest(config, b.kafka, logger, b.brokerPid, signal);
            log(`  ${Math.round(run.phase.recordsPerSec)} records/s in ${(run.phase.elapsedMs / 1000).toFixed(1)} s`);
            collectGarbage();
            const bare = await runBareKafkajsMedian(b.kafka, config, topics.input('events'), opts.events, BARE_RUNS, {
              log,
              ...(signal ? { signal } : {}),
              ...(b.brokerPid !== undefined ? { brokerPid: b.brokerPid } : {}),
            });
            return { ...run, guarantee: 'exactly_once' as const, version: b.version, produce, ...bare };
          });
    for (const [what, run] of [['embedded', embedded], ['kafka', kafka]] as const) {
      if (run === null) continue;
      // Positions prove every record was committed; state proves every profile landed.
      assertCounted(`${what}: profiles committed`, run.profiles, opts.users);
      assertCounted(`${what}: events committed`, run.events, opts.events);
      assertCounted(`${what}: dead letters`, run.deadLetters, 0);
      assertCounted(`${what}: users in state`, run.state.users, opts.users);
    }

    const report: IngestReport = {
      scenario,
      date,
      command: ingestCommand(opts),
      durationMs: performance.now() - t0,
      machine,
      params: {
        events: opts.events,
        users: opts.users,
        partitions: opts.partitions,
        seed,
        workload,
        eventsPerUserDay: rate,
        ...shape,
        distinctEventUsers: events.distinctUsers,
        meanEventBytes: events.valueBytes / opts.events,
        meanProfileBytes: profiles.values.reduce((n, v) => n + Buffer.byteLength(v), 0) / opts.users,
        brokers: opts.brokers ?? null,
      },
      embedded: { ...embedded, rawLmdb: { before: rawBefore, after: rawAfter, meanOpsPerSec: rawMean } },
      kafka,
      ratios: {
        embeddedVsRawLmdb: embedded.phase.recordsPerSec / rawMean,
        kafkaVsBareKafkajs: kafka === null ? null : kafka.phase.recordsPerSec / kafka.bareKafkajs.msgsPerSec,
        kafkaVsEmbedded: kafka === null ? null : kafka.phase.recordsPerSec / embedded.phase.recordsPerSec,
      },
    };
    if (opts.out !== undefined) {
      const written = await writeIngestReport(report, opts.out);
      log(`wrote ${written.json} and ${written.markdown}`);
    }
    return report;
  } finally {
    tmp.cleanup();
  }
}

/** How the events fall over the users and in time: what the read cache and write-behind meet. */
function eventsShape(events: BenchEvents, users: number): { busiestTenthShare: number; sameUserAsPrevious: number; spanHours: number } {
  const count = events.keys.length;
  const perUser = new Uint32Array(users);
  let same = 0;
  for (let i = 0; i < count; i++) {
    const u = events.user[i] as number;
    perUser[u] = (perUser[u] as number) + 1;
    if (i > 0 && events.user[i] === events.user[i - 1]) same++;
  }
  const busiest = [...perUser].sort((a, b) => b - a).slice(0, Math.ceil(users / 10));
  return {
    busiestTenthShare: busiest.reduce((a, b) => a + b, 0) / Math.max(1, count),
    sameUserAsPrevious: same,
    spanHours: count > 0 ? ((events.ts[count - 1] as number) - (events.ts[0] as number)) / HOUR : 0,
  };
}

async function runEmbeddedIngest(profiles: KeyedRecords, events: BenchEvents, partitions: number, dir: string, logger: Logger, signal: AbortSignal | undefined): Promise<IngestRun> {
  const { config, elog, topics } = embeddedDecisionSetup(dir, partitions);
  let closed = false;
  try {
    const pTopic = topics.input('profiles');
    const eTopic = topics.input('events');
    const fillMs =
      fill(elog, pTopic, profiles.keys.length, (i) => ({ key: profiles.keys[i] as string, value: profiles.values[i] as string })) +
      fill(elog, eTopic, events.keys.length, (i) => ({ key: events.keys[i] as string, value: events.values[i] as string }));
    const waitFor = [
      { topic: pTopic, ends: embeddedEnds(elog, pTopic, partitions) },
      { topic: eTopic, ends: embeddedEnds(elog, eTopic, partitions) },
    ];
    const phase = await runDecisionPhase({ config, clock: new BenchClock(), logger, waitFor, fillMs, embeddedLog: elog, ...(signal ? { signal } : {}) });
    const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
    const deadLetters = sum(embeddedEnds(elog, topics.output('deadletter'), partitions));
    closed = true;
    await elog.close();
    return { phase, profiles: sum(waitFor[0]?.ends ?? []), events: sum(waitFor[1]?.ends ?? []), deadLetters, state: await stateOnDisk(config, partitions) };
  } finally {
    if (!closed) await elog.close().catch(() => undefined);
  }
}

async function runKafkaIngest(config: NudgeConfig, kafka: Kafka, logger: Logger, brokerPid: number | undefined, signal: AbortSignal | undefined): Promise<IngestRun> {
  const topics = new TopicNames(config.topics);
  const waitFor = [
    { topic: topics.input('profiles'), ends: await partitionEnds(kafka, topics.input('profiles')) },
    { topic: topics.input('events'), ends: await partitionEnds(kafka, topics.input('events')) },
  ];
  const phase = await runDecisionPhase({ config, clock: new BenchClock(), logger, waitFor, fillMs: 0, ...(brokerPid !== undefined ? { brokerPid } : {}), ...(signal ? { signal } : {}) });
  const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
  // Nothing dead-lettered leaves the topic empty: no records and no transaction markers.
  const deadLetters = sum(await partitionEnds(kafka, topics.output('deadletter')));
  return { phase, profiles: sum(waitFor[0]?.ends ?? []), events: sum(waitFor[1]?.ends ?? []), deadLetters, state: await stateOnDisk(config, config.kafka.partitions) };
}
