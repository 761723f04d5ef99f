import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../config/load.js';
import { VirtualClock } from '../processor/clock.js';
import { EmbeddedLog, type AppendRecord } from '../processor/embedded/log.js';
import { createLogger } from '../processor/logger.js';
import { createReplica } from '../processor/create-replica.js';
import { ProcessorMetrics } from '../processor/metrics.js';
import type { Replica } from '../processor/replica.js';
import type { CampaignInput } from '../processor/messages/index.js';
import { topologyFor } from '../operators/topologies.js';
import type { DecisionRecord } from '../operators/decisions/decision-record.js';
import type { SendRecord } from '../operators/sinks/dispatcher.js';
import { DEFAULT_WORLD, profileRecord, simUser, type SimUser, type WorldConfig } from '../bench/sim/population.js';
import { userEvents } from '../bench/sim/activity.js';
import { localTime } from '../operators/decisions/local-time.js';
import { mixSeed, mulberry32 } from '../bench/sim/random.js';
import { FeedbackQueue, Responder, type Feedback, type FeedbackKind, type ResponderCounts } from '../bench/sim/responder.js';
import { demoCampaigns } from './demo-campaigns.js';
import type { Scorer } from '../operators/decisions/scorer.js';
import { buildScorer } from './scorer.js';
import { DemoProbe, type LatencySummary, type ThroughputSample } from './demo-probe.js';
import { startDemoProviders, type DemoProviders } from './demo-providers.js';

export interface DemoArgs {
  users: number;
  partitions: number;
  seed: number;
  hours: number;
  historyDays: number;
  /** `fake`: sends go over HTTP to the provider fakes on loopback; `recorded`: recorded as sent in-process. */
  providers?: 'fake' | 'recorded';
  /** models.scorer of the replica: the shipped learned model (default) or the heuristics. */
  scorer?: 'learned' | 'heuristic';
}

export interface DemoRun {
  args: DemoArgs;
  world: WorldConfig;
  start: number;
  campaigns: CampaignInput[];
  /** The candidate rows written, as { campaignId, userId }. */
  candidates: Array<{ campaignId: string; userId: string }>;
  decisions: DecisionRecord[];
  sends: SendRecord[];
  historyEvents: number;
  /** Records nudge refused (nudge.deadletter): the simulator writes only valid ones, so 0. */
  deadLetters: number;
  /** What the simulated users answered and what of it reached nudge before the run ended. */
  feedback: { fed: Record<FeedbackKind, number>; pending: Record<FeedbackKind, number>; counts: ResponderCounts };
  /** Wall-clock seconds of each phase. */
  timings: { generate: number; load: number; decide: number; day: number; total: number };
  throughput: ThroughputSample[];
  latency: Record<string, LatencySummary>;
  userOf: (userId: string) => SimUser;
  /** The user's past events (those loaded before the campaigns) by their local hour, 0–23. */
  historyByHour: (userId: string) => readonly number[] | undefined;
}

const HOUR = 3_600_000;
const STEP = 5 * 60_000;
const PRODUCTS = ['running shoes', 'a kurta', 'headphones', 'a smartwatch', 'a saree', 'a backpack'];

/**
 * Runs the demo's world through the pipeline on the embedded default and returns what came
 * out: a simulated population and its past days, three campaigns, the decisions, and a day on
 * a virtual clock during which the users answer the messages they get (clicks, purchases,
 * STOPs), written back to the input topics as they fall due.
 */
export async function runDemo(args: DemoArgs, progress: (line: string) => void = () => {}): Promise<DemoRun> {
  const dir = mkdtempSync(join(tmpdir(), 'nudge-demo-'));
  const logger = createLogger('warn');
  const t0 = performance.now();
  const seconds = (from: number) => (performance.now() - from) / 1000;
  let providers: DemoProviders | undefined;
  let scoring: { scorer: Scorer; stop: () => void } | undefined;
  try {
    // Monday 2026-11-23, 09:00 in India.
    const start = Date.UTC(2026, 10, 23, 3, 30);
    const clock = new VirtualClock(start);
    const config = validateConfig({
      state: { dir: join(dir, 'state') },
      embedded: { partitions: args.partitions },
      http: { port: 0 },
      processor: { timerIntervalMs: 60_000 },
      models: { scorer: args.scorer ?? 'learned' },
    });
    const log = new EmbeddedLog(join(dir, 'log'), { now: () => clock.now() });
    const metrics = new ProcessorMetrics(undefined, { defaultMetrics: false });
    if (args.providers !== 'recorded') providers = await startDemoProviders(clock, metrics, config.processor.effectsConcurrency);
    scoring = await buildScorer(config, metrics, logger);
    const { replica } = createReplica({ config, topology: topologyFor(config, { scorer: scoring.scorer }), logger, clock, metrics, embeddedLog: log, ...(providers !== undefined ? { effects: providers.handlers } : {}) });
    const topics = replica.topics;
    for (const t of [...topics.inputs, ...topics.outputs]) log.createTopic(t, args.partitions);
    log.createTopic(topics.campaigns, 1);
    const probe = new DemoProbe(replica, log, args.partitions);

    const world = { ...DEFAULT_WORLD, seed: args.seed };
    const users = new Map<string, SimUser>();
    const userOf = (id: string) => {
      let u = users.get(id);
      if (u === undefined) users.set(id, (u = simUser(world, Number(id.slice(1)))));
      return u;
    };
    const profiles: AppendRecord[] = [];
    const events: AppendRecord[] = [];
    // 24 counters a user, for the baseline that sends at each user's own most active hour.
    const byHour = new Uint16Array(args.users * 24);
    for (let i = 0; i < args.users; i++) {
      const u = userOf(`u${i}`);
      profiles.push(json(u.userId, profileRecord(u)));
      for (const e of userEvents(u, start - args.historyDays * 24 * HOUR, start, args.seed)) {
        events.push(json(u.userId, e));
        const at = i * 24 + Math.floor(localTime(e.ts, u.timezone).minuteOfDay / 60);
        byHour[at] = Math.min(0xffff, (byHour[at] as number) + 1);
      }
    }
    const historyByHour = (id: string): readonly number[] | undefined => {
      const i = Number(id.slice(1));
      return Number.isInteger(i) && i >= 0 && i < args.users ? Array.from(byHour.subarray(i * 24, i * 24 + 24)) : undefined;
    };
    const generated = performance.now();
    let cpu = process.cpuUsage();
    // CPU seconds since the last call: on a shared machine wall time alone says little.
    const cpuSeconds = () => {
      const d = process.cpuUsage(cpu);
      cpu = process.cpuUsage();
      return (d.user + d.system) / 1e6;
    };
    probe.start();
    log.append(topics.input('profiles'), profiles);
    for (let i = 0; i < events.length; i += 50_000) log.append(topics.input('events'), events.slice(i, i + 50_000));
    await replica.start();
    await drained(replica, log);
    const loaded = performance.now();
    progress(`loaded ${profiles.length.toLocaleString('en')} profiles and ${events.length.toLocaleString('en')} past events in ${seconds(t0).toFixed(1)} s (${seconds(generated).toFixed(1)} s in the pipeline, ${cpuSeconds().toFixed(1)} s of CPU)`);

    const campaigns = demoCampaigns(start, args.users);
    log.append(topics.campaigns, campaigns.map((c) => json(c.campaignId, c)));
    const rng = mulberry32(mixSeed(args.seed, 7));
    const candidates: Array<{ campaignId: string; userId: string }> = [];
    const candidateRecords: AppendRecord[] = [];
    const audience: Record<string, number> = { 'otp-login': 0.02, 'flash-sale': 0.6, 'cart-reminder': 0.25 };
    for (let i = 0; i < args.users; i++) {
      for (const c of campaigns) {
        if (rng() >= (audience[c.campaignId] ?? 0)) continue;
        const vars = c.campaignId === 'otp-login' ? { otp: String(100000 + Math.floor(rng() * 900000)) } : { product: PRODUCTS[i % PRODUCTS.length] as string };
        candidates.push({ campaignId: c.campaignId, userId: `u${i}` });
        candidateRecords.push(json(`u${i}`, { campaignId: c.campaignId, userId: `u${i}`, vars }));
      }
    }
    log.append(topics.input('candidates'), candidateRecords);
    await drained(replica, log);
    const decided = performance.now();
    const decideSeconds = (decided - loaded) / 1000;
    const scored = await scoringCalls(metrics);
    progress(
      `decided ${candidates.length.toLocaleString('en')} candidates in ${decideSeconds.toFixed(1)} s (${Math.round(candidates.length / decideSeconds).toLocaleString('en')}/s, ${cpuSeconds().toFixed(1)} s of CPU); ` +
        `${scoring.scorer.version}: ${scored.rows.toLocaleString('en')} rows in ${scored.calls.toLocaleString('en')} scoring calls (${scored.seconds.toFixed(1)} s)`,
    );

    // Run the day: the virtual clock moves in 5-minute steps; answers to earlier messages that
    // have come due are written to the input topics first, then scheduled sends fire, then the
    // users get the messages just sent.
    const promo = new Map(campaigns.filter((c) => c.kind === 'promotional' || c.kind === 'reminder').map((c) => [c.campaignId, c.category ?? 5]));
    const responder = new Responder({ seed: mixSeed(args.seed, 0x5e4d), categoryOf: (id) => promo.get(id) });
    const queue = new FeedbackQueue();
    const fed: Record<FeedbackKind, number> = { click: 0, conversion: 0, opt_out: 0 };
    const sendsRead = new Array<number>(args.partitions).fill(0);
    for (let t = start; t <= start + args.hours * HOUR; t += STEP) {
      clock.set(t);
      const due = queue.due(t);
      if (due.length > 0) {
        appendFeedback(log, replica, due);
        for (const f of due) fed[f.kind]++;
        await drained(replica, log);
      }
      await replica.fireTimers();
      await settled(replica);
      for (let p = 0; p < args.partitions; p++) {
        const end = log.end(topics.output('sends'), p);
        for (const r of log.read(topics.output('sends'), p, sendsRead[p] as number, end - (sendsRead[p] as number))) {
          const send = JSON.parse((r.value as Buffer).toString('utf8')) as SendRecord;
          queue.push(responder.answer(send, userOf(send.userId)));
        }
        sendsRead[p] = end;
      }
    }
    const day = performance.now();
    probe.stop();
    await replica.stop();

    const decisions = readAll<DecisionRecord>(log, topics.output('decisions'), args.partitions);
    const sends = readAll<SendRecord>(log, topics.output('sends'), args.partitions);
    let deadLetters = 0;
    for (let p = 0; p < args.partitions; p++) deadLetters += log.end(topics.output('deadletter'), p);
    await log.close();
    return {
      args,
      world,
      start,
      campaigns,
      candidates,
      decisions,
      sends,
      historyEvents: events.length,
      deadLetters,
      feedback: { fed, pending: queue.pending(), counts: { ...responder.counts } },
      timings: { generate: (generated - t0) / 1000, load: (loaded - generated) / 1000, decide: decideSeconds, day: (day - decided) / 1000, total: seconds(t0) },
      throughput: probe.samples,
      latency: probe.latency(),
      userOf,
      historyByHour,
    };
  } finally {
    await providers?.close();
    scoring?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Model calls so far, their rows and their time (nudge_scoring_batch_size, nudge_scoring_seconds). */
async function scoringCalls(metrics: ProcessorMetrics): Promise<{ calls: number; rows: number; seconds: number }> {
  const sum = async (h: ProcessorMetrics['scoringBatch'], suffix: string) => {
    const m = await h.get();
    return m.values.find((v) => v.metricName === `${m.name}${suffix}`)?.value ?? 0;
  };
  return { calls: await sum(metrics.scoringBatch, '_count'), rows: await sum(metrics.scoringBatch, '_sum'), seconds: await sum(metrics.scoringSeconds, '_sum') };
}

function json(key: string, value: unknown): AppendRecord {
  return { key, value: JSON.stringify(value), headers: { 'content-type': 'application/json' } };
}

function appendFeedback(log: EmbeddedLog, replica: Replica, due: readonly Feedback[]): void {
  const events = due.filter((f) => f.role === 'events').map((f) => json(f.userId, f.value));
  const profiles = due.filter((f) => f.role === 'profiles').map((f) => json(f.userId, f.value));
  if (events.length > 0) log.append(replica.topics.input('events'), events);
  if (profiles.length > 0) log.append(replica.topics.input('profiles'), profiles);
}

/** Until every input record appended so far has been processed and committed. */
async function drained(replica: Replica, log: EmbeddedLog): Promise<void> {
  for (;;) {
    let behind = false;
    for (const topic of replica.topics.inputs) {
      for (const [p, task] of replica.tasks) if ((task.position(topic) ?? 0) < log.end(topic, p)) behind = true;
    }
    if (!behind) return;
    // A short poll: the simulated day waits here at every step that feeds answers back, so a
    // long one would add up to seconds of idling over a day of 5-minute steps.
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Until the sends asked for so far have been performed and their outcomes committed to `nudge.sends`. */
async function settled(replica: Replica): Promise<void> {
  await replica.effects.drained();
  // Outcomes are committed under each partition's lock, queued behind whatever holds it now.
  for (const task of replica.tasks.values()) await task.lock.idle();
}

function readAll<T>(log: EmbeddedLog, topic: string, partitions: number): T[] {
  const out: T[] = [];
  for (let p = 0; p < partitions; p++) {
    for (let from = 0; from < log.end(topic, p); from += 10_000) {
      for (const r of log.read(topic, p, from, 10_000)) out.push(JSON.parse((r.value as Buffer).toString('utf8')) as T);
    }
  }
  return out;
}
