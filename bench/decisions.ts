import { ConfigError } from '../errors/index.js';
import { basename, join } from 'node:path';
import { validateConfig } from '../config/load.js';
import type { NudgeConfig } from '../config/schema.js';
import type { Clock } from '../processor/clock.js';
import { EmbeddedLog } from '../processor/embedded/log.js';
import type { Logger } from '../processor/logger.js';
import { TopicNames } from '../processor/topic-names.js';
import { formatSummary, profiled, summariseProfile, writeProfile, type ProfileSummary } from './cpu-profile.js';
import { runDecisionPhase, type PhaseResult } from './decision-phase.js';
import {
  activeUsers,
  assertNoDeadLetters,
  BENCH_START,
  BenchClock,
  benchCampaign,
  decisionMix,
  eventFor,
  fill,
  PRODUCTS,
  profileFor,
  sample,
  stateOnDisk,
  type DecisionMix,
  type StateOnDisk,
} from './decision-workload.js';
import { runEmbedded, type EmbeddedResult } from './embedded.js';
import { generateEvents, mulberry32, userId } from './events.js';
import { startRun, validateIntegers } from './harness.js';
import { collectGarbage, throwIfAborted } from './measure.js';
import { writeDecisionsReport, type MachineInfo } from './report.js';

export type { DecisionMix, PhaseResult, StateOnDisk };

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
  // Embedded only: no broker in the machine description.
  const { log, signal, seed, logger, date, machine, t0, tmp } = startRun('decisions', { ...opts, kafka: false });
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

function validate(opts: DecisionsBenchOptions): void {
  validateIntegers([
    ['users', opts.users, 100],
    ['candidates', opts.candidates, 1],
    ['events-per-active', opts.eventsPerActive, 0],
  ]);
  // Usage errors, like validateIntegers': `nudge bench` exits 2 and names the option and what it allows.
  if (opts.candidates > opts.users) throw new ConfigError('--candidates', `got ${opts.candidates}, more than --users (${opts.users}): candidates are distinct users`, `at most --users`);
  if (opts.partitions !== undefined && (!Number.isInteger(opts.partitions) || opts.partitions < 1)) throw new ConfigError('--partitions', `got ${opts.partitions}`, 'an integer ≥ 1');
  if (!(opts.activeShare >= 0 && opts.activeShare <= 1)) throw new ConfigError('--active-share', `got ${opts.activeShare}`, 'a number from 0 to 1');
}

/** One phase on the embedded log: the shared phase runner, waiting on one topic. */
function runPhase(config: NudgeConfig, elog: EmbeddedLog, clock: Clock, logger: Logger, topic: string, fillMs: number, opts: { signal?: AbortSignal }): Promise<PhaseResult> {
  const ends = Array.from({ length: config.embedded.partitions }, (_, p) => elog.end(topic, p));
  return runDecisionPhase({ config, clock, logger, waitFor: [{ topic, ends }], fillMs, embeddedLog: elog, ...(opts.signal ? { signal: opts.signal } : {}) });
}
