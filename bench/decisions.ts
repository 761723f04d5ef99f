import { basename, join } from 'node:path';
import { pino } from 'pino';
import { validateConfig } from '../config/load.js';
import type { NudgeConfig } from '../config/schema.js';
import { HeuristicScorer } from '../operators/decisions/heuristic-scorer.js';
import { DECISION_STORES } from '../operators/decisions/stores.js';
import { decisionTopology } from '../operators/decisions/topology.js';
import { RecordingSink } from '../operators/sinks/recording-sink.js';
import type { Clock } from '../processor/clock.js';
import { createReplica } from '../processor/create-replica.js';
import { EmbeddedLog, type AppendRecord } from '../processor/embedded/log.js';
import { createLogger, type Logger } from '../processor/logger.js';
import type { Replica } from '../processor/replica.js';
import { TopicNames } from '../processor/topic-names.js';
import { LmdbStore } from '../state/lmdb-store.js';
import { partitionDir } from '../state/open-store.js';
import { formatSummary, profiled, summariseProfile, writeProfile, type ProfileSummary } from './cpu-profile.js';
import { runEmbedded, type EmbeddedResult } from './embedded.js';
import { DEFAULT_SEED, generateEvents, mulberry32, userId } from './events.js';
import { batchStats, collectGarbage, rate, RssSampler, tempDir, throwIfAborted, waitUntilCommitted, type BatchStats } from './measure.js';
import { describeMachine, writeDecisionsReport, type MachineInfo } from './report.js';

export interface DecisionsBenchOptions {
  /** Users with a profile in state before the campaign. */
  users: number;
  /** Candidates of the campaign, for distinct random users among them. */
  candidates: number;
  /** Embedded partitions; the embedded default when omitted. */
  partitions?: number;
  /** Share of users with recent activity, and events each of them gets. */
  activeShare: number;
  eventsPerActive: number;
  out?: string;
  log?: (s: string) => void;
  signal?: AbortSignal;
  seed?: number;
  /** Profile the decide phase with V8's sampler and write the .cpuprofile here; rates are then flagged as profiled. */
  cpuProfDir?: string;
}

/**
 * Monday 2026-11-23 10:00 IST (04:30 UTC): the bench's virtual "now" at its start. Decisions
 * depend on the users' local time (legal and quiet hours, best slot), so a fixed instant
 * makes the mix of actions the same whenever and wherever the bench runs.
 */
export const BENCH_START = Date.UTC(2026, 10, 23, 4, 30);
const DAY = 86_400_000;
const HOUR = 3_600_000;

/** Records per log append: one LMDB transaction each. */
const FILL_CHUNK = 10_000;

/**
 * Virtual time that starts at BENCH_START and moves with real time: timers and decayed
 * features see time pass normally, but the day and hour are fixed.
 */
class BenchClock implements Clock {
  readonly #origin = performance.now();
  now(): number {
    return Math.floor(BENCH_START + performance.now() - this.#origin);
  }
}

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

export interface StateOnDisk {
  /** Sum of the partitions' data.mdb sizes. */
  fileBytes: number;
  /** Live LMDB pages. */
  usedBytes: number;
  users: number;
  /** Sum of the users' encoded UserState values. */
  userValueBytes: number;
  ledgerEntries: number;
  timers: number;
}

export interface DecisionMix {
  decisions: number;
  distinctDecisionIds: number;
  actions: Record<string, number>;
  /** Every reason named by a skip (a skip may name several). */
  skipReasons: Record<string, number>;
  /** Channel of send / schedule / holdout decisions. */
  channels: Record<string, number>;
  sends: number;
  deadLetters: number;
}

export interface DecisionsReport {
  scenario: 'decisions';
  date: string;
  command: string;
  durationMs: number;
  machine: MachineInfo;
  params: {
    users: number;
    candidates: number;
    partitions: number;
    activeUsers: number;
    events: number;
    seed: number;
    virtualStart: string;
    campaign: Record<string, unknown>;
    cacheEntries: number;
    maxBatchRecords: number;
  };
  load: { profiles: PhaseResult; events: PhaseResult; state: StateOnDisk };
  decide: PhaseResult & { state: StateOnDisk; mix: DecisionMix };
  /** The per-user counter over the same number of records on the same embedded setup, before and after. */
  counter: { before: EmbeddedResult; after: EmbeddedResult; meanEventsPerSec: number; meanPerCpuSecond: number };
  ratios: {
    decisionsVsCounter: number;
    decisionsPerCpuVsCounterPerCpu: number;
    profilesVsCounter: number;
    eventsVsCounter: number;
  };
  /** Present when the decide phase ran under the CPU profiler (its rates are then lower than unprofiled). */
  profile: (ProfileSummary & { file: string }) | null;
}

export function decisionsCommand(opts: Pick<DecisionsBenchOptions, 'users' | 'candidates' | 'partitions' | 'activeShare' | 'eventsPerActive' | 'cpuProfDir'>): string {
  const parts = ['node dist/bench/main.js decisions', `--users ${opts.users}`, `--candidates ${opts.candidates}`];
  if (opts.partitions !== undefined) parts.push(`--partitions ${opts.partitions}`);
  parts.push(`--active-share ${opts.activeShare}`, `--events-per-active ${opts.eventsPerActive}`);
  // The directory is the user's choice; a relative placeholder keeps machine paths out of the results.
  if (opts.cpuProfDir !== undefined) parts.push('--cpu-prof <dir>');
  return parts.join(' ');
}

/**
 * The "decisions" scenario: candidates decided per second (and per core) on the embedded
 * default with N users in state, next to the per-user counter (the bare runtime) over
 * the same number of records in the same run.
 *
 * Three replica runs share one state dir and one embedded log: profiles are loaded,
 * then activity events, then a campaign's candidates are decided. Each phase's records
 * are appended while no replica runs, so every window times processing alone.
 */
export async function runDecisionsBench(opts: DecisionsBenchOptions): Promise<DecisionsReport> {
  validate(opts);
  const log = opts.log ?? (() => undefined);
  const signal = opts.signal;
  const seed = opts.seed ?? DEFAULT_SEED;
  const logger: Logger = createLogger('warn', pino.destination({ dest: 2, sync: true }));
  const date = new Date().toISOString();
  const machine = describeMachine(null);
  const t0 = performance.now();
  const tmp = tempDir('nudge-bench-decisions-');
  let elog: EmbeddedLog | undefined;
  try {
    const config = validateConfig({
      state: { dir: join(tmp.dir, 'state') },
      ...(opts.partitions !== undefined ? { embedded: { partitions: opts.partitions } } : {}),
      http: { port: 0 },
      log: { level: 'warn' },
    });
    const partitions = config.embedded.partitions;
    const topics = new TopicNames(config.topics);

    elog = new EmbeddedLog(join(tmp.dir, 'embedded-log'));
    for (const t of topics.inputs) elog.createTopic(t, partitions);
    for (const t of topics.outputs) elog.createTopic(t, partitions);
    elog.createTopic(topics.campaigns, 1);
    const clock = new BenchClock();
    const rand = mulberry32(seed ^ 0x5eed);

    log(`load 1/2: ${opts.users} profiles`);
    const profilesFill = fill(elog, topics.input('profiles'), opts.users, (i) => ({ key: userId(i), value: JSON.stringify(profileFor(i, rand)) }));
    const profiles = await runPhase(config, elog, clock, logger, topics.input('profiles'), profilesFill, { ...(signal ? { signal } : {}) });
    log(`  ${Math.round(profiles.recordsPerSec)} profiles/s in ${(profiles.elapsedMs / 1000).toFixed(1)} s`);
    assertNoDeadLetters(elog, topics, partitions, 'profiles');
    collectGarbage();

    const active = activeUsers(opts.users, opts.activeShare, rand);
    log(`load 2/2: ${active.length * opts.eventsPerActive} events for ${active.length} active users`);
    const eventsFill = fill(elog, topics.input('events'), active.length * opts.eventsPerActive, (i) => {
      const u = active[Math.floor(i / opts.eventsPerActive)] as number;
      return { key: userId(u), value: JSON.stringify(eventFor(u, i % opts.eventsPerActive)) };
    });
    const events = await runPhase(config, elog, clock, logger, topics.input('events'), eventsFill, { ...(signal ? { signal } : {}) });
    log(`  ${Math.round(events.recordsPerSec)} events/s in ${(events.elapsedMs / 1000).toFixed(1)} s`);
    assertNoDeadLetters(elog, topics, partitions, 'events');
    const loadedState = await stateOnDisk(config, partitions);
    if (loadedState.users !== opts.users) throw new Error(`after loading, ${loadedState.users} users are in state, expected ${opts.users}`);
    log(`  state: ${(loadedState.fileBytes / loadedState.users).toFixed(0)} B/user on disk, UserState ${(loadedState.userValueBytes / loadedState.users).toFixed(0)} B`);
    collectGarbage();
    throwIfAborted(signal);

    // The reference runs right before and right after the decide phase, on its own log and state:
    // on a shared machine the load a minute earlier says little about the load now.
    log(`counter reference (1/2): ${opts.candidates} events over ${opts.users} users, ${partitions} partitions`);
    const counterEvents = generateEvents(opts.candidates, opts.users, seed);
    const counterBefore = await runEmbedded(counterEvents, { partitions, dir: join(tmp.dir, 'counter-1'), logger, ...(signal ? { signal } : {}) });
    log(`  ${Math.round(counterBefore.eventsPerSec)} events/s (${Math.round((opts.candidates * 1000) / Math.max(1, counterBefore.cpuMs))} per CPU second)`);
    collectGarbage();
    throwIfAborted(signal);

    const campaignStart = clock.now();
    const campaign = benchCampaign('bench-flash-sale', campaignStart);
    elog.append(topics.campaigns, [{ key: campaign['campaignId'] as string, value: JSON.stringify(campaign) }]);
    const chosen = sample(opts.users, opts.candidates, rand);
    log(`decide: ${opts.candidates} candidates of one campaign for distinct random users${opts.cpuProfDir !== undefined ? ' (under the CPU profiler)' : ''}`);
    const candidatesFill = fill(elog, topics.input('candidates'), opts.candidates, (i) => {
      const id = userId(chosen[i] as number);
      return { key: id, value: JSON.stringify({ campaignId: campaign['campaignId'], userId: id, vars: { product: PRODUCTS[i % PRODUCTS.length] as string } }) };
    });
    let profile: DecisionsReport['profile'] = null;
    const decideOpts = { ...(signal ? { signal } : {}) };
    let decidePhase: PhaseResult;
    if (opts.cpuProfDir !== undefined) {
      const run = await profiled(() => runPhase(config, elog as EmbeddedLog, clock, logger, topics.input('candidates'), candidatesFill, decideOpts));
      decidePhase = run.result;
      const file = join(opts.cpuProfDir, `decisions-${date.replace(/[:.]/g, '-')}.cpuprofile`);
      await writeProfile(run.profile, file);
      const summary = summariseProfile(run.profile, 15);
      log(`wrote ${file}\n${formatSummary(summary)}`);
      profile = { ...summary, file: basename(file) };
    } else {
      decidePhase = await runPhase(config, elog, clock, logger, topics.input('candidates'), candidatesFill, decideOpts);
    }
    log(`  ${Math.round(decidePhase.recordsPerSec)} decisions/s in ${(decidePhase.elapsedMs / 1000).toFixed(1)} s (${Math.round(decidePhase.perCpuSecond)} per CPU second)`);
    const mix = decisionMix(elog, topics, partitions);
    if (mix.deadLetters > 0) assertNoDeadLetters(elog, topics, partitions, 'candidates');
    // One decision per candidate, no more (no preemption with one campaign) and no fewer.
    if (mix.decisions !== opts.candidates || mix.distinctDecisionIds !== opts.candidates) {
      throw new Error(`${mix.decisions} decisions (${mix.distinctDecisionIds} distinct) for ${opts.candidates} candidates; the figures would be meaningless`);
    }
    const decidedState = await stateOnDisk(config, partitions);
    if (decidedState.ledgerEntries !== opts.candidates) throw new Error(`${decidedState.ledgerEntries} ledger entries for ${opts.candidates} candidates`);
    await elog.close();
    elog = undefined;
    collectGarbage();

    log('counter reference (2/2)');
    const counterAfter = await runEmbedded(counterEvents, { partitions, dir: join(tmp.dir, 'counter-2'), logger, ...(signal ? { signal } : {}) });
    log(`  ${Math.round(counterAfter.eventsPerSec)} events/s (${Math.round((opts.candidates * 1000) / Math.max(1, counterAfter.cpuMs))} per CPU second)`);
    for (const c of [counterBefore, counterAfter]) {
      if (c.counted !== opts.candidates) throw new Error(`counter reference counted ${c.counted} events, expected ${opts.candidates}`);
    }
    const counterMean = (counterBefore.eventsPerSec + counterAfter.eventsPerSec) / 2;
    const perCpu = (n: number, cpuMs: number) => (cpuMs <= 0 ? 0 : (n * 1000) / cpuMs);
    const counterPerCpu = (perCpu(opts.candidates, counterBefore.cpuMs) + perCpu(opts.candidates, counterAfter.cpuMs)) / 2;

    const report: DecisionsReport = {
      scenario: 'decisions',
      date,
      command: decisionsCommand(opts),
      durationMs: performance.now() - t0,
      machine,
      params: {
        users: opts.users,
        candidates: opts.candidates,
        partitions,
        activeUsers: active.length,
        events: events.records,
        seed,
        virtualStart: new Date(BENCH_START).toISOString(),
        campaign: { ...campaign, window: { start: 'start of the decide phase', end: 'start + 12 h' } },
        cacheEntries: config.state.cacheEntries,
        maxBatchRecords: config.processor.maxBatchRecords,
      },
      load: { profiles, events, state: loadedState },
      decide: { ...decidePhase, state: decidedState, mix },
      counter: { before: counterBefore, after: counterAfter, meanEventsPerSec: counterMean, meanPerCpuSecond: counterPerCpu },
      ratios: {
        decisionsVsCounter: decidePhase.recordsPerSec / counterMean,
        decisionsPerCpuVsCounterPerCpu: decidePhase.perCpuSecond / counterPerCpu,
        profilesVsCounter: profiles.recordsPerSec / counterMean,
        eventsVsCounter: events.recordsPerSec / counterMean,
      },
      profile,
    };
    if (opts.out !== undefined) {
      const written = await writeDecisionsReport(report, opts.out);
      log(`wrote ${written.json} and ${written.markdown}`);
    }
    return report;
  } finally {
    await elog?.close().catch(() => undefined);
    tmp.cleanup();
  }
}

/** Appends `count` generated records in chunks; returns the time it took (outside every measured window). */
function fill(elog: EmbeddedLog, topic: string, count: number, make: (i: number) => AppendRecord): number {
  const f0 = performance.now();
  for (let from = 0; from < count; from += FILL_CHUNK) {
    const chunk: AppendRecord[] = [];
    for (let i = from; i < Math.min(count, from + FILL_CHUNK); i++) chunk.push(make(i));
    elog.append(topic, chunk);
  }
  return performance.now() - f0;
}

/**
 * One replica of the decision topology (HeuristicScorer, RecordingSink, as `nudge run`
 * builds it) over what the log holds, timed from start() until the phase's topic is committed.
 */
async function runPhase(
  config: NudgeConfig,
  elog: EmbeddedLog,
  clock: Clock,
  logger: Logger,
  topic: string,
  fillMs: number,
  opts: { signal?: AbortSignal },
): Promise<PhaseResult> {
  const partitions = config.embedded.partitions;
  const ends = Array.from({ length: partitions }, (_, p) => elog.end(topic, p));
  const records = ends.reduce((a, b) => a + b, 0);
  // Shared across partitions, as operators/topologies.ts shares it.
  const scorer = new HeuristicScorer();
  // The sink `nudge run` uses without providers (createReplica's default), named so its count can be read.
  const sink = new RecordingSink(clock);
  const replica: Replica = createReplica({ config, topology: () => decisionTopology(config, scorer), logger, clock, embeddedLog: elog, effects: [sink] }).replica;
  let fatal: Error | undefined;
  replica.onFatal((err) => (fatal = err));
  let sampler: RssSampler | undefined = new RssSampler();
  try {
    const t0 = performance.now();
    await replica.start();
    // Positions start where earlier phases left them: count only this phase's records.
    const timeline = await waitUntilCommitted(replica, topic, ends, t0, { ...(opts.signal ? { signal: opts.signal } : {}), fatal: () => fatal });
    const rss = sampler.end();
    sampler = undefined;
    const memory = process.memoryUsage();
    const batch = await batchStats(replica.metrics.batchSeconds, replica.metrics.batchRecords);
    return {
      records,
      sinkSends: sink.sent,
      fillMs,
      elapsedMs: timeline.doneMs,
      recordsPerSec: rate(records, timeline.doneMs),
      readyMs: timeline.readyMs,
      steadyRecordsPerSec: rate(records - timeline.committedAtReady, timeline.doneMs - timeline.readyMs),
      cpuMs: rss.cpuMs,
      perCpuSecond: rss.cpuMs <= 0 ? 0 : (records * 1000) / rss.cpuMs,
      rssStartBytes: rss.startBytes,
      peakRssBytes: rss.peakBytes,
      peakRssSource: rss.source,
      heapUsedBytes: memory.heapUsed,
      externalBytes: memory.external,
      batch,
    };
  } finally {
    sampler?.end();
    await replica.stop();
  }
}

/** Sizes and a scan of the stores, with no replica running: opened as the replica opens them. */
async function stateOnDisk(config: NudgeConfig, partitions: number): Promise<StateOnDisk> {
  const out: StateOnDisk = { fileBytes: 0, usedBytes: 0, users: 0, userValueBytes: 0, ledgerEntries: 0, timers: 0 };
  for (let p = 0; p < partitions; p++) {
    const store = LmdbStore.open(partitionDir(config.state, p), { mapSizeMb: config.state.mapSizeMb });
    try {
      out.fileBytes += await store.sizeOnDisk();
      out.usedBytes += store.usedBytes();
      for await (const [, value] of store.range(namespaceRange(DECISION_STORES.users.namespace))) {
        out.users++;
        out.userValueBytes += value.byteLength;
      }
      for await (const _ of store.range(namespaceRange(DECISION_STORES.ledger.namespace))) out.ledgerEntries++;
      // Timers by id (processor/timers.ts, namespace 0x02): scheduled sends waiting to fire.
      for await (const _ of store.range(namespaceRange(0x02))) out.timers++;
    } finally {
      await store.close();
    }
  }
  return out;
}

function namespaceRange(ns: number): { gte: Uint8Array; lt: Uint8Array } {
  return { gte: Uint8Array.of(ns), lt: Uint8Array.of(ns + 1) };
}

interface DecisionRow {
  decisionId: string;
  action: string;
  reasons: string[];
  channel: string | null;
}

/** Reads every decision back from the log: the evidence that the run decided, and what. */
function decisionMix(elog: EmbeddedLog, topics: TopicNames, partitions: number): DecisionMix {
  const mix: DecisionMix = { decisions: 0, distinctDecisionIds: 0, actions: {}, skipReasons: {}, channels: {}, sends: 0, deadLetters: 0 };
  const ids = new Set<string>();
  const topic = topics.output('decisions');
  for (let p = 0; p < partitions; p++) {
    for (let from = 0; ; ) {
      const records = elog.read(topic, p, from, 10_000);
      if (records.length === 0) break;
      for (const r of records) {
        const d = JSON.parse((r.value as Buffer).toString('utf8')) as DecisionRow;
        mix.decisions++;
        ids.add(d.decisionId);
        mix.actions[d.action] = (mix.actions[d.action] ?? 0) + 1;
        if (d.action === 'skip') for (const reason of d.reasons) mix.skipReasons[reason] = (mix.skipReasons[reason] ?? 0) + 1;
        else if (d.channel !== null) mix.channels[d.channel] = (mix.channels[d.channel] ?? 0) + 1;
      }
      from = (records[records.length - 1]?.offset ?? from) + 1;
    }
    mix.sends += elog.end(topics.output('sends'), p);
    mix.deadLetters += elog.end(topics.output('deadletter'), p);
  }
  mix.distinctDecisionIds = ids.size;
  return mix;
}

/** A dead letter means generated input the product rejects: the phase did less work than it claims. */
function assertNoDeadLetters(elog: EmbeddedLog, topics: TopicNames, partitions: number, phase: string): void {
  const topic = topics.output('deadletter');
  for (let p = 0; p < partitions; p++) {
    const [first] = elog.read(topic, p, 0, 1);
    if (first !== undefined) {
      const total = Array.from({ length: partitions }, (_, q) => elog.end(topic, q)).reduce((a, b) => a + b, 0);
      throw new Error(`${phase}: ${total} records dead-lettered, e.g. ${(first.value as Buffer).toString('utf8').slice(0, 400)}`);
    }
  }
}

// ---- generated users, events, campaign ----

const NAMES = ['Asha', 'Ravi', 'Priya', 'Arjun', 'Meera', 'Vikram', 'Anjali', 'Rahul', 'Kavya', 'Sanjay', 'Divya', 'Imran', 'Neha', 'Karthik', 'Fatima', 'Rohan'];
const PRODUCTS = ['running shoes', 'headphones', 'kurta', 'smartwatch', 'saree', 'backpack'];

function chance(rand: () => number, p: number): boolean {
  return rand() < p;
}

/**
 * A profile shaped like test/support/decisions.ts's indiaUser, varied: mostly India with
 * some other countries, partial consent, NCPR blocks, missing phones and tokens, quiet hours
 * or none, several languages (the campaign has English templates only, so the fallback runs).
 */
function profileFor(i: number, rand: () => number): Record<string, unknown> {
  const id = userId(i);
  const r = rand();
  const [country, timezone] = r < 0.88 ? ['IN', 'Asia/Kolkata'] : r < 0.94 ? ['US', 'America/New_York'] : r < 0.97 ? ['GB', 'Europe/London'] : ['ID', 'Asia/Jakarta'];
  const lang = rand();
  const language = lang < 0.65 ? 'en' : lang < 0.9 ? 'hi' : 'ta';
  const profile: Record<string, unknown> = {
    userId: id,
    country,
    language,
    consent: {
      sms: { promotional: chance(rand, 0.7), service: chance(rand, 0.9), transactional: chance(rand, 0.97), reminder: chance(rand, 0.8) },
      push: { promotional: chance(rand, 0.75), service: chance(rand, 0.9), transactional: true, reminder: chance(rand, 0.85) },
    },
    value: Math.round(100 + 4900 * rand() ** 2),
    name: NAMES[i % NAMES.length],
  };
  // Some profiles leave the zone to the country rules.
  if (chance(rand, 0.95)) profile['timezone'] = timezone;
  profile['phone'] = chance(rand, 0.93) ? `+${country === 'IN' ? '91' : '1'}${String(9_000_000_000 + Math.floor(rand() * 999_999_999))}` : null;
  if (country === 'IN') {
    const blocked = chance(rand, 0.12);
    profile['ncpr'] = blocked ? { fullyBlocked: true } : { fullyBlocked: false, allowedCategories: chance(rand, 0.6) ? [1, 5] : [2, 3] };
  }
  const tokens = rand();
  profile['pushTokens'] = tokens < 0.3 ? [] : tokens < 0.92 ? [{ platform: chance(rand, 0.8) ? 'fcm' : 'apns', token: `tok-${id}` }] : [{ platform: 'fcm', token: `tok-${id}` }, { platform: 'web', token: `web-${id}` }];
  const quiet = rand();
  profile['quietHours'] = quiet < 0.6 ? { start: '22:00', end: '08:00' } : quiet < 0.8 ? { start: '23:00', end: '07:00' } : null;
  return profile;
}

/** Users with recent activity: a seeded draw, about `share` of them. */
function activeUsers(users: number, share: number, rand: () => number): number[] {
  const out: number[] = [];
  for (let u = 0; u < users; u++) if (rand() < share) out.push(u);
  return out;
}

const EVENT_CYCLE = ['app_open', 'view', 'app_open', 'view', 'click', 'add_to_cart', 'app_open', 'purchase'] as const;
/** Habitual local hours (IST), as offsets from 00:00 UTC: 08:30, 13:00, 20:00 IST. */
const HABIT_UTC_MS = [3 * HOUR, 7.5 * HOUR, 14.5 * HOUR];

/** The k-th event of an active user: a habit hour on one of the last seven days, like test/support's activate(). */
function eventFor(u: number, k: number): Record<string, unknown> {
  const day = 1 + (k % 7);
  const habit = HABIT_UTC_MS[u % HABIT_UTC_MS.length] as number;
  const midnight = Math.floor(BENCH_START / DAY) * DAY;
  const ts = midnight - day * DAY + habit + ((u * 7919 + k * 104_729) % (45 * 60_000));
  const type = EVENT_CYCLE[k % EVENT_CYCLE.length] as string;
  return { userId: userId(u), ts, type, ...(type === 'purchase' ? { value: 499 + (u % 5) * 500 } : {}) };
}

/** `count` distinct indices out of `n`, seeded (a partial Fisher–Yates shuffle). */
function sample(n: number, count: number, rand: () => number): Uint32Array {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(rand() * (n - i));
    const t = a[i] as number;
    a[i] = a[j] as number;
    a[j] = t;
  }
  return a.subarray(0, count);
}

/** test/support/decisions.ts's campaign(): promotional, category 5, DLT ids and sender present; sms and push, a 12 h window. */
function benchCampaign(id: string, start: number): Record<string, unknown> {
  return {
    campaignId: id,
    kind: 'promotional',
    category: 5,
    priority: 50,
    channels: ['sms', 'push'],
    window: { start, end: start + 12 * HOUR },
    deadline: 'soft',
    value: 3000,
    templates: {
      en: {
        sms: { body: '{{name}}, 40% off {{product}} till midnight', senderId: 'SHPPLS-P', dltEntityId: '1101000000000', dltTemplateId: '1107000000000' },
        push: { title: 'Flash sale', body: '40% off {{product}}' },
      },
    },
  };
}

function validate(opts: DecisionsBenchOptions): void {
  for (const [name, value, min] of [
    ['users', opts.users, 100],
    ['candidates', opts.candidates, 1],
    ['events-per-active', opts.eventsPerActive, 0],
  ] as const) {
    if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be an integer ≥ ${min}, got ${value}`);
  }
  if (opts.candidates > opts.users) throw new Error(`--candidates (${opts.candidates}) cannot exceed --users (${opts.users}): candidates are distinct users`);
  if (opts.partitions !== undefined && (!Number.isInteger(opts.partitions) || opts.partitions < 1)) throw new Error(`--partitions must be an integer ≥ 1, got ${opts.partitions}`);
  if (!(opts.activeShare >= 0 && opts.activeShare <= 1)) throw new Error(`--active-share must be within 0–1, got ${opts.activeShare}`);
}
