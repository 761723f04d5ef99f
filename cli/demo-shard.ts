import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { validateConfig } from '../config/load.js';
import { VirtualClock } from '../processor/clock.js';
import { EmbeddedLog, type AppendRecord } from '../processor/embedded/log.js';
import { createLogger } from '../processor/logger.js';
import { createReplica } from '../processor/create-replica.js';
import { ProcessorMetrics } from '../processor/metrics.js';
import { partitionFor } from '../processor/partitioner.js';
import type { Replica } from '../processor/replica.js';
import { topologyFor } from '../operators/topologies.js';
import type { DecisionRecord } from '../operators/decisions/decision-record.js';
import type { SendRecord } from '../operators/sinks/dispatcher.js';
import { profileRecord } from '../bench/sim/population.js';
import { userEvents } from '../bench/sim/activity.js';
import { localTime } from '../operators/decisions/local-time.js';
import { mixSeed } from '../bench/sim/random.js';
import { FeedbackQueue, Responder, type Feedback, type FeedbackKind, type ResponderCounts } from '../bench/sim/responder.js';
import { demoCampaigns } from './demo-campaigns.js';
import type { Scorer } from '../operators/decisions/scorer.js';
import { buildScorer } from './scorer.js';
import { DemoProbe, type ThroughputSample } from './demo-probe.js';
import { judge, type Judgement } from './demo-summary.js';
import { startDemoProviders, type DemoProviders } from './demo-providers.js';
import type { FakeProviderKeys } from '../bench/fakes/index.js';
import { DEMO_START, demoCandidates, demoUsers, epochMs, historyLookup, type DemoArgs } from './demo-world.js';

/** Which replica of how many: it owns the partitions p with p % of === index. */
export interface Shard {
  index: number;
  of: number;
  /** The provider fakes' key pairs, made once for all replicas; fresh ones when absent. */
  keys?: FakeProviderKeys;
}

/** What one replica's share of the run produced: plain data, so that it can cross from a worker thread. */
export interface ShardResult {
  /**
   * The partitions this replica owned, and for each its decisions and its sends, in log order.
   * The decisions come without their logged feature vectors, which nothing after the run reads
   * and which were half of what crossing to the main thread cost; `decisionsDigest`, a SHA-256
   * of the partition's decision records as logged, stands for them in comparisons.
   */
  partitions: Array<{ partition: number; decisions: DecisionRecord[]; decisionsDigest: string; sends: SendRecord[] }>;
  historyEvents: number;
  deadLetters: number;
  feedback: { fed: Record<FeedbackKind, number>; pending: Record<FeedbackKind, number>; counts: ResponderCounts };
  /** Epoch milliseconds at which each phase ended. */
  ends: { generate: number; load: number; decide: number; day: number; judge: number };
  throughput: ThroughputSample[];
  /** HDR histograms of batch latency by kind, compressed (hdr-histogram-js). */
  latency: Record<string, string>;
  /** Past events by user and local hour (24 counters a user, users × 24), this replica's users only. */
  historyByHour: Uint16Array;
  /** Model calls, their rows and their seconds (nudge_scoring_batch_size, nudge_scoring_seconds). */
  scoring: { calls: number; rows: number; seconds: number };
  /** The quality table's and the send hours' sums over this replica's users. */
  judgement: Judgement;
}

const HOUR = 3_600_000;
const STEP = 5 * 60_000;

/**
 * One replica's share of the demo on the embedded default, its log and state in `dir`: its
 * users (those whose key lands on one of its partitions) and their past days, the three
 * campaigns' candidates among them, the decisions, and a day on a virtual clock during which
 * the users answer the messages they get (clicks, purchases, STOPs), written back to the
 * input topics as they fall due.
 *
 * A replica's log has every partition, as the topic does, and its decisions divide campaign
 * budgets and rates by that count, as a consumer-group member's do; the partitions it does
 * not own stay empty. Nothing a partition decides depends on another partition, so the
 * replicas together decide exactly what one replica owning every partition decides.
 */
export async function runDemoShard(args: DemoArgs, shard: Shard, startedAt: number, dir: string, progress: (line: string) => void = () => {}): Promise<ShardResult> {
  const logger = createLogger('warn');
  const seconds = (from: number) => (epochMs() - from) / 1000;
  let providers: DemoProviders | undefined;
  let scoring: { scorer: Scorer; stop: () => void } | undefined;
  try {
    const start = DEMO_START;
    const clock = new VirtualClock(start);
    const config = validateConfig({
      // Laid out as `nudge run` lays out its state directory, the log in embedded-log beside the
      // partitions' stores: `nudge export TOPIC --state-dir DIR` reads a kept replica (--keep).
      state: { dir },
      embedded: { partitions: args.partitions },
      http: { port: 0 },
      processor: { timerIntervalMs: 60_000 },
      models: { scorer: args.scorer ?? 'learned' },
    });
    const log = new EmbeddedLog(join(dir, 'embedded-log'), { now: () => clock.now() });
    const metrics = new ProcessorMetrics(undefined, { defaultMetrics: false });
    if (args.providers !== 'recorded') providers = await startDemoProviders(clock, metrics, config.processor.effectsConcurrency, shard.keys);
    scoring = await buildScorer(config, metrics, logger);
    const { replica } = createReplica({ config, topology: topologyFor(config, { scorer: scoring.scorer }), logger, clock, metrics, embeddedLog: log, ...(providers !== undefined ? { effects: providers.handlers } : {}) });
    const topics = replica.topics;
    for (const t of [...topics.inputs, ...topics.outputs]) log.createTopic(t, args.partitions);
    log.createTopic(topics.campaigns, 1);
    const owned = Array.from({ length: args.partitions }, (_, p) => p).filter((p) => p % shard.of === shard.index);
    const mine = (userIndex: number) => shard.of === 1 || partitionFor(Buffer.from(`u${userIndex}`, 'utf8'), args.partitions) % shard.of === shard.index;
    const probe = new DemoProbe(replica, log, args.partitions, startedAt);

    const { world, userOf } = demoUsers(args.seed);
    // Written to the log as they are generated, a chunk at a time, rather than held: a replica's
    // share of the history is 590,000 records at 100,000 users, and holding them to the run's
    // end cost about 200 MB of peak memory.
    const CHUNK = 50_000;
    let profiles: AppendRecord[] = [];
    let events: AppendRecord[] = [];
    let profileCount = 0;
    let eventCount = 0;
    const byHour = new Uint16Array(args.users * 24);
    for (let i = 0; i < args.users; i++) {
      if (!mine(i)) continue;
      const u = userOf(`u${i}`);
      profiles.push(json(u.userId, profileRecord(u)));
      for (const e of userEvents(u, start - args.historyDays * 24 * HOUR, start, args.seed, { scale: args.activityScale ?? 1 })) {
        events.push(json(u.userId, e));
        const at = i * 24 + Math.floor(localTime(e.ts, u.timezone).minuteOfDay / 60);
        byHour[at] = Math.min(0xffff, (byHour[at] as number) + 1);
      }
      if (profiles.length >= CHUNK) {
        log.append(topics.input('profiles'), profiles);
        profileCount += profiles.length;
        profiles = [];
      }
      if (events.length >= CHUNK) {
        log.append(topics.input('events'), events);
        eventCount += events.length;
        events = [];
      }
    }
    if (profiles.length > 0) log.append(topics.input('profiles'), profiles);
    if (events.length > 0) log.append(topics.input('events'), events);
    profileCount += profiles.length;
    eventCount += events.length;
    profiles = [];
    events = [];
    const generated = epochMs();
    let cpu = process.cpuUsage();
    // CPU seconds since the last call: on a shared machine wall time alone says little. Worker
    // threads share the process's count, so with more than one replica only the run's total is told.
    const cpuSeconds = () => {
      const d = process.cpuUsage(cpu);
      cpu = process.cpuUsage();
      return shard.of === 1 ? `, ${((d.user + d.system) / 1e6).toFixed(1)} s of CPU` : '';
    };
    probe.start();
    await replica.start();
    await drained(replica, log);
    const loaded = epochMs();
    progress(`loaded ${profileCount.toLocaleString('en')} profiles and ${eventCount.toLocaleString('en')} past events in ${seconds(startedAt).toFixed(1)} s (${seconds(generated).toFixed(1)} s in the pipeline${cpuSeconds()})`);

    const campaigns = demoCampaigns(start, args.users);
    log.append(topics.campaigns, campaigns.map((c) => json(c.campaignId, c)));
    const candidates = demoCandidates(args, campaigns, mine);
    log.append(topics.input('candidates'), candidates.map((c) => json(c.userId, c)));
    await drained(replica, log);
    const decided = epochMs();
    const decideSeconds = (decided - loaded) / 1000;
    const scored = await scoringCalls(metrics);
    progress(
      `decided ${candidates.length.toLocaleString('en')} candidates in ${decideSeconds.toFixed(1)} s (${Math.round(candidates.length / decideSeconds).toLocaleString('en')}/s${cpuSeconds()}); ` +
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
      for (const p of owned) {
        const end = log.end(topics.output('sends'), p);
        for (const r of log.read(topics.output('sends'), p, sendsRead[p] as number, end - (sendsRead[p] as number))) {
          const send = JSON.parse((r.value as Buffer).toString('utf8')) as SendRecord;
          queue.push(responder.answer(send, userOf(send.userId)));
        }
        sendsRead[p] = end;
      }
    }
    const day = epochMs();
    probe.stop();
    await replica.stop();

    const partitions = owned.map((p) => {
      const digest = createHash('sha256');
      const decisions = readAll<DecisionRecord>(log, topics.output('decisions'), p, (bytes, d) => {
        digest.update(bytes);
        delete d.features;
      });
      return { partition: p, decisions, decisionsDigest: digest.digest('hex'), sends: readAll<SendRecord>(log, topics.output('sends'), p) };
    });
    let deadLetters = 0;
    for (let p = 0; p < args.partitions; p++) deadLetters += log.end(topics.output('deadletter'), p);
    await log.close();

    // This replica's users judged here, in parallel with the other replicas; the main thread adds up the sums.
    const sends = partitions.flatMap((p) => p.sends);
    const judgement = judge({ args, world, campaigns, candidates, sends, userOf, historyByHour: historyLookup(byHour, args.users) });
    return {
      partitions,
      historyEvents: eventCount,
      deadLetters,
      feedback: { fed, pending: queue.pending(), counts: { ...responder.counts } },
      ends: { generate: generated, load: loaded, decide: decided, day, judge: epochMs() },
      throughput: probe.samples,
      latency: probe.encodedHistograms(),
      historyByHour: byHour,
      scoring: scored,
      judgement,
    };
  } finally {
    // The directory is the caller's to remove: a worker thread that is terminated runs no finally.
    await providers?.close();
    scoring?.stop();
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
  // Outcomes linger a few real milliseconds to be committed together; a step takes less.
  await replica.commitOutcomes();
  // Outcomes are committed under each partition's lock, queued behind whatever holds it now.
  for (const task of replica.tasks.values()) await task.lock.idle();
}

/** A partition's records of a JSON topic, in log order; `each` sees a record's bytes and value before it is kept. */
function readAll<T>(log: EmbeddedLog, topic: string, partition: number, each?: (bytes: Buffer, value: T) => void): T[] {
  const out: T[] = [];
  for (let from = 0; from < log.end(topic, partition); from += 10_000) {
    for (const r of log.read(topic, partition, from, 10_000)) {
      const bytes = r.value as Buffer;
      const value = JSON.parse(bytes.toString('utf8')) as T;
      each?.(bytes, value);
      out.push(value);
    }
  }
  return out;
}
