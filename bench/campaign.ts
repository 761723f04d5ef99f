import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import type { NudgeConfig } from '../config/schema.js';
import type { Logger } from '../processor/logger.js';
import { TopicNames } from '../processor/topic-names.js';
import { embeddedDecisionSetup, embeddedEnds, runDecisionPhase, type MeasuredPhase, type PhaseInput } from './decision-phase.js';
import { BenchClock, benchCampaign, decisionMix, fill, populationProfiles, PRODUCTS, sample, stateOnDisk, type DecisionMix, type KeyedRecords, type StateOnDisk } from './decision-workload.js';
import { generateEvents, mulberry32 } from './events.js';
import { assertCounted, engineFlags, startRun, validateIntegers, withBroker } from './harness.js';
import { createTopics, kafkaRunConfig, partitionEnds, produceEvents, runBareKafkajsMedian, type BareKafkajsResult } from './kafka.js';
import { collectGarbage, throwIfAborted } from './measure.js';
import { runRawLmdb, type RawLmdbResult } from './raw-lmdb.js';
import { type MachineInfo } from './report.js';
import { writeCampaignReport } from './report-campaign.js';
import { EMBEDDED_BATCH_RECORDS } from './runtime.js';

export interface CampaignBenchOptions {
  /** Candidates in all, split evenly over the campaigns; each campaign's are distinct users. */
  candidates: number;
  campaigns: number;
  /** Users of the simulated population, each with a profile in state. */
  users: number;
  partitions: number;
  brokers?: string;
  kafka?: boolean;
  out?: string;
  log?: (s: string) => void;
  signal?: AbortSignal;
  seed?: number;
}

/** The audience the issue sizes nudge for: what the extrapolation is computed for. */
export const TARGET_CANDIDATES = 12_000_000;
/** The deadline the replica count is computed for: a campaign decided within the hour. */
const TARGET_HOURS = 1;
const BARE_RUNS = 3;

export interface CampaignRun {
  load: MeasuredPhase;
  decide: MeasuredPhase;
  /** Ledger entries after the run: one per (campaign, user), so exactly the candidates. */
  state: StateOnDisk;
  deadLetters: number;
  /** Read back from the decisions topic (embedded only: the Kafka topic holds transaction markers too). */
  mix: DecisionMix | null;
  extrapolation: Extrapolation;
}

/** What the measured rate implies for TARGET_CANDIDATES: arithmetic on this run's figures, not a measurement. */
export interface Extrapolation {
  candidates: number;
  /** At this run's decisions/s, on one replica like this one (same partitions, same machine). */
  oneReplicaMs: number;
  /** Replicas needed to decide them within TARGET_HOURS, assuming decisions scale linearly with replicas (not measured here). */
  replicasForTarget: number;
  targetHours: number;
}

export interface CampaignReport {
  scenario: 'campaign';
  date: string;
  command: string;
  durationMs: number;
  machine: MachineInfo;
  params: { candidates: number; campaigns: number; perCampaign: number; users: number; partitions: number; seed: number; campaignIds: string[]; brokers: string | null };
  embedded: CampaignRun & { rawLmdb: RawLmdbResult };
  kafka: (CampaignRun & { guarantee: 'exactly_once'; version: string; bareKafkajs: BareKafkajsResult; bareKafkajsRuns: BareKafkajsResult[] }) | null;
  ratios: {
    /** Embedded decisions/s ÷ raw LMDB read-modify-writes/s over as many keys. */
    embeddedVsRawLmdb: number;
    /** Kafka decisions/s ÷ bare kafkajs msgs/s on the candidates topic. */
    kafkaVsBareKafkajs: number | null;
    kafkaVsEmbedded: number | null;
  };
}

export function campaignCommand(opts: Pick<CampaignBenchOptions, 'candidates' | 'campaigns' | 'users' | 'partitions' | 'brokers' | 'kafka'>): string {
  const parts = ['node dist/bench/main.js campaign', `--candidates ${opts.candidates}`, `--campaigns ${opts.campaigns}`, `--users ${opts.users}`, `--partitions ${opts.partitions}`];
  return [...parts, ...engineFlags(opts)].join(' ');
}

/**
 * The "campaign" scenario: a few campaigns' candidates decided against a simulated
 * population already in state, on the embedded default and on Kafka (exactly-once):
 * decisions/s, the time to decide them all, exact per-batch latencies, peak RSS and state
 * per user, next to raw LMDB and bare kafkajs, and what the rate implies for 12M candidates.
 */
export async function runCampaignBench(opts: CampaignBenchOptions): Promise<CampaignReport> {
  validateIntegers([
    ['candidates', opts.candidates, 1],
    ['campaigns', opts.campaigns, 1],
    ['users', opts.users, 1],
    ['partitions', opts.partitions, 1],
  ]);
  const perCampaign = Math.ceil(opts.candidates / opts.campaigns);
  if (perCampaign > opts.users) throw new Error(`--candidates ÷ --campaigns (${perCampaign}) cannot exceed --users (${opts.users}): a campaign's candidates are distinct users`);
  const { log, signal, seed, logger, date, machine, t0, tmp } = startRun('campaign', opts);
  try {
    log(`generating ${opts.users} profiles and ${opts.candidates} candidates for ${opts.campaigns} campaigns`);
    const profiles = populationProfiles(opts.users);
    const workload = candidatesFor(profiles.keys, opts.candidates, opts.campaigns, seed);

    // The reference does as many state read-modify-writes as there are candidates, on the same keys.
    log('raw LMDB reference');
    const refEvents = generateEvents(opts.candidates, opts.users, seed);
    // Element by element: spreading 200,000 arguments into splice() overflows the stack.
    for (const [i, key] of workload.candidates.keys.entries()) refEvents.keys[i] = key;
    const rawLmdb = await runRawLmdb(refEvents, opts.partitions, EMBEDDED_BATCH_RECORDS, join(tmp.dir, 'raw'));
    assertCounted('raw LMDB', rawLmdb.counted, opts.candidates);
    collectGarbage();
    throwIfAborted(signal);

    log(`embedded: ${opts.partitions} partitions`);
    const embedded = { ...(await runEmbeddedCampaign(profiles, workload, opts.partitions, join(tmp.dir, 'embedded'), logger, signal)), rawLmdb };
    log(`  ${Math.round(embedded.decide.recordsPerSec)} decisions/s in ${(embedded.decide.elapsedMs / 1000).toFixed(1)} s`);
    collectGarbage();
    throwIfAborted(signal);

    const kafka =
      opts.kafka === false
        ? null
        : await withBroker({ ...(opts.brokers !== undefined ? { brokers: opts.brokers } : {}), logger, log, ...(signal ? { signal } : {}) }, async (b) => {
            const config = kafkaRunConfig(b.brokers, opts.partitions, 'exactly_once', join(tmp.dir, 'kafka-state'));
            b.used.push(config);
            log(`kafka exactly_once: prefix ${config.topics.prefix}`);
            const run = await runKafkaCampaign(config, b.kafka, profiles, workload, logger, b.brokerPid, signal, log);
            log(`  ${Math.round(run.decide.recordsPerSec)} decisions/s in ${(run.decide.elapsedMs / 1000).toFixed(1)} s`);
            const bare = await runBareKafkajsMedian(b.kafka, config, new TopicNames(config.topics).input('candidates'), opts.candidates, BARE_RUNS, {
              log,
              ...(signal ? { signal } : {}),
              ...(b.brokerPid !== undefined ? { brokerPid: b.brokerPid } : {}),
            });
            return { ...run, guarantee: 'exactly_once' as const, version: b.version, ...bare };
          });
    for (const [what, run] of [['embedded', embedded], ['kafka', kafka]] as const) {
      if (run === null) continue;
      // One ledger entry per (campaign, user): a candidate lost or decided twice shows here.
      assertCounted(`${what}: users in state`, run.state.users, opts.users);
      assertCounted(`${what}: candidates committed`, run.decide.records, opts.candidates);
      assertCounted(`${what}: ledger entries`, run.state.ledgerEntries, opts.candidates);
      assertCounted(`${what}: dead letters`, run.deadLetters, 0);
    }

    const report: CampaignReport = {
      scenario: 'campaign',
      date,
      command: campaignCommand(opts),
      durationMs: performance.now() - t0,
      machine,
      params: { candidates: opts.candidates, campaigns: opts.campaigns, perCampaign, users: opts.users, partitions: opts.partitions, seed, campaignIds: workload.campaigns.map((c) => c['campaignId'] as string), brokers: opts.brokers ?? null },
      embedded,
      kafka,
      ratios: {
        embeddedVsRawLmdb: embedded.decide.recordsPerSec / rawLmdb.opsPerSec,
        kafkaVsBareKafkajs: kafka === null ? null : kafka.decide.recordsPerSec / kafka.bareKafkajs.msgsPerSec,
        kafkaVsEmbedded: kafka === null ? null : kafka.decide.recordsPerSec / embedded.decide.recordsPerSec,
      },
    };
    if (opts.out !== undefined) {
      const written = await writeCampaignReport(report, opts.out);
      log(`wrote ${written.json} and ${written.markdown}`);
    }
    return report;
  } finally {
    tmp.cleanup();
  }
}

export function extrapolate(decisionsPerSec: number): Extrapolation {
  const oneReplicaMs = decisionsPerSec <= 0 ? Number.POSITIVE_INFINITY : (TARGET_CANDIDATES * 1000) / decisionsPerSec;
  return { candidates: TARGET_CANDIDATES, oneReplicaMs, replicasForTarget: Math.ceil(oneReplicaMs / (TARGET_HOURS * 3_600_000)), targetHours: TARGET_HOURS };
}

interface CampaignWorkload {
  /** Campaign definitions, with windows relative to the clock's start (filled in per run). */
  campaigns: Array<Record<string, unknown>>;
  candidates: KeyedRecords;
}

/**
 * Variations on one flash sale: different kinds, categories, channels and priorities, so
 * eligibility, caps and channel choice take different paths. Windows open at the run's start.
 */
function campaignsAt(count: number, start: number): Array<Record<string, unknown>> {
  const shapes = [
    { kind: 'promotional', category: 5, channels: ['sms', 'push'], priority: 50 },
    { kind: 'service', category: 2, channels: ['push', 'sms'], priority: 70 },
    { kind: 'promotional', category: 1, channels: ['push'], priority: 30 },
    { kind: 'reminder', category: 3, channels: ['sms'], priority: 40 },
  ] as const;
  return Array.from({ length: count }, (_, c) => ({ ...benchCampaign(`bench-campaign-${c + 1}`, start), ...shapes[c % shapes.length] }));
}

/** Each campaign's candidates: distinct users drawn from the population, one block per campaign, as an audience export would arrive. */
function candidatesFor(userIds: readonly string[], total: number, campaigns: number, seed: number): CampaignWorkload {
  const keys: string[] = [];
  const values: string[] = [];
  const per = Math.ceil(total / campaigns);
  for (let c = 0; c < campaigns && keys.length < total; c++) {
    const chosen = sample(userIds.length, Math.min(per, total - keys.length), mulberry32(seed + c));
    for (const [i, u] of chosen.entries()) {
      const id = userIds[u] as string;
      keys.push(id);
      values.push(JSON.stringify({ campaignId: `bench-campaign-${c + 1}`, userId: id, vars: { product: PRODUCTS[i % PRODUCTS.length] as string } }));
    }
  }
  return { campaigns: campaignsAt(campaigns, 0), candidates: { keys, values } };
}

async function runEmbeddedCampaign(profiles: KeyedRecords, w: CampaignWorkload, partitions: number, dir: string, logger: Logger, signal: AbortSignal | undefined): Promise<CampaignRun> {
  const { config, elog, topics } = embeddedDecisionSetup(dir, partitions);
  let closed = false;
  try {
    const clock = new BenchClock();
    const sig = signal ? { signal } : {};
    const pTopic = topics.input('profiles');
    const pFill = fill(elog, pTopic, profiles.keys.length, (i) => ({ key: profiles.keys[i] as string, value: profiles.values[i] as string }));
    const load = await runDecisionPhase({ config, clock, logger, waitFor: [{ topic: pTopic, ends: embeddedEnds(elog, pTopic, partitions) }], fillMs: pFill, embeddedLog: elog, ...sig });

    const campaigns = campaignsAt(w.campaigns.length, clock.now());
    elog.append(topics.campaigns, campaigns.map((c) => ({ key: c['campaignId'] as string, value: JSON.stringify(c) })));
    const cTopic = topics.input('candidates');
    const cFill = fill(elog, cTopic, w.candidates.keys.length, (i) => ({ key: w.candidates.keys[i] as string, value: w.candidates.values[i] as string }));
    const decide = await runDecisionPhase({ config, clock, logger, waitFor: [{ topic: cTopic, ends: embeddedEnds(elog, cTopic, partitions) }], fillMs: cFill, embeddedLog: elog, ...sig });
    const mix = decisionMix(elog, topics, partitions);
    closed = true;
    await elog.close();
    return { load, decide, state: await stateOnDisk(config, partitions), deadLetters: mix.deadLetters, mix, extrapolation: extrapolate(decide.recordsPerSec) };
  } finally {
    if (!closed) await elog.close().catch(() => undefined);
  }
}

async function runKafkaCampaign(
  config: NudgeConfig,
  kafka: Kafka,
  profiles: KeyedRecords,
  w: CampaignWorkload,
  logger: Logger,
  brokerPid: number | undefined,
  signal: AbortSignal | undefined,
  log: (s: string) => void,
): Promise<CampaignRun> {
  const topics = new TopicNames(config.topics);
  const extra = { ...(brokerPid !== undefined ? { brokerPid } : {}), ...(signal ? { signal } : {}) };
  const ends = async (topic: string): Promise<PhaseInput> => ({ topic, ends: await partitionEnds(kafka, topic) });
  await createTopics(kafka, config, logger);
  const clock = new BenchClock();
  await produceEvents(kafka, topics.input('profiles'), profiles, 5000, signal);
  log(`  load: ${profiles.keys.length} profiles`);
  const load = await runDecisionPhase({ config, clock, logger, waitFor: [await ends(topics.input('profiles'))], fillMs: 0, ...extra });
  const campaigns = campaignsAt(w.campaigns.length, clock.now());
  await produceEvents(kafka, topics.campaigns, { keys: campaigns.map((c) => c['campaignId'] as string), values: campaigns.map((c) => JSON.stringify(c)) }, 5000, signal);
  await produceEvents(kafka, topics.input('candidates'), w.candidates, 5000, signal);
  log(`  decide: ${w.candidates.keys.length} candidates`);
  const decide = await runDecisionPhase({ config, clock, logger, waitFor: [await ends(topics.input('candidates'))], fillMs: 0, ...extra });
  const deadLetters = (await partitionEnds(kafka, topics.output('deadletter'))).reduce((a, b) => a + b, 0);
  return { load, decide, state: await stateOnDisk(config, config.kafka.partitions), deadLetters, mix: null, extrapolation: extrapolate(decide.recordsPerSec) };
}
