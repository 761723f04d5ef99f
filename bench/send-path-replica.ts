/**
 * send-path (c): the same provider, reached through a whole replica on each engine. The
 * candidates of a transactional SMS campaign (an OTP: due at once, every user consented)
 * are decided by the decision topology, their sends written to the outbox with the batch's
 * commit, and run by the replica's EffectRunner through the sink `nudge run` builds, against
 * the Gupshup fake. What it adds to part (a), which feeds the runner directly: the input log,
 * decoding, the decision itself, state, the commit (a Kafka transaction on Kafka) and the
 * outbox, all on the same cores as the sends.
 */
import type { Kafka } from 'kafkajs';
import type { NudgeConfig } from '../config/schema.js';
import { HeuristicScorer } from '../operators/decisions/heuristic-scorer.js';
import { decisionTopology } from '../operators/decisions/topology.js';
import type { EffectHandler } from '../processor/effects.js';
import { createReplica } from '../processor/create-replica.js';
import type { EmbeddedLog } from '../processor/embedded/log.js';
import type { Logger } from '../processor/logger.js';
import type { ProcessorMetrics } from '../processor/metrics.js';
import { TopicNames } from '../processor/topic-names.js';
import { embeddedDecisionSetup, embeddedEnds, runDecisionPhase } from './decision-phase.js';
import { BenchClock, fill, HOUR } from './decision-workload.js';
import type { Clock } from '../processor/clock.js';
import { BatchLatency, type LatencyPercentiles } from './harness.js';
import { createTopics, kafkaRunConfig, partitionEnds, produceEvents } from './kafka.js';
import { processCpuMs, RssSampler, sleep, throwIfAborted } from './measure.js';

export type SendEngine = 'embedded' | 'kafka';

export interface ReplicaSendRun {
  engine: SendEngine;
  /** Candidates of the OTP campaign: each is due one SMS now. */
  candidates: number;
  /** Sends the sink reported `sent` during the phase. */
  sent: number;
  /** Sends the Gupshup fake accepted meanwhile (its own count): must equal `sent`. */
  fakeAccepted: number;
  /** Dead letters on the decisions' way: must be 0. */
  deadLetters: number;
  /** From replica.start() until it owned its partitions and was ready. */
  readyMs: number;
  /** From replica.start() until the first / the last send was accepted. */
  firstSendMs: number;
  elapsedMs: number;
  /** candidates ÷ elapsed: start-up included. */
  sendsPerSec: number;
  /** Between the 10th and the 90th percent of the sends: the rate once running. */
  steadySendsPerSec: number;
  /** One call of the sink (routing, adapter, HTTP, pool queueing), per send. */
  sinkLatency: { p50Ms: number; p90Ms: number; p99Ms: number; maxMs: number };
  /** The replica's record batches: decode, decide, commit. */
  batchLatency: LatencyPercentiles;
  cpuMs: number;
  cpuUsPerSend: number;
  /** The local broker's JVM meanwhile; null on the embedded engine. */
  brokerCpuMs: number | null;
  fakeCpuMs: number | null;
  peakRssBytes: number;
  peakRssSource: 'VmHWM' | 'sampled';
  /** Sends accepted by each 250 ms since replica.start(), for the throughput chart. */
  timeline: Array<{ ms: number; sent: number }>;
}

export interface ReplicaSendContext {
  sends: number;
  partitions: number;
  handler: EffectHandler;
  /** Points the handler's clock at the replica's, which stamps the intents it reads. */
  useClock: (clock: Clock) => void;
  metrics: ProcessorMetrics;
  logger: Logger;
  log: (s: string) => void;
  /** The Gupshup fake's accepted count, read over its control API. */
  fakeAccepted: () => Promise<number>;
  fakesPid: number | undefined;
  signal?: AbortSignal;
}

const CAMPAIGN_ID = 'send-path-otp';
const TIMELINE_STEP_MS = 250;
/** A phase that stops moving for this long has failed; the error says where it stood. */
const STALL_MS = 60_000;

/** Users who may all get a transactional SMS in India now: consent, a phone, no quiet hours. */
export function otpUsers(count: number): { keys: string[]; values: string[] } {
  const keys: string[] = [];
  const values: string[] = [];
  for (let i = 0; i < count; i++) {
    const userId = `sp-${i}`;
    keys.push(userId);
    values.push(
      JSON.stringify({
        userId,
        country: 'IN',
        timezone: 'Asia/Kolkata',
        language: 'en',
        phone: `+919${String(100_000_000 + i).padStart(9, '0')}`,
        consent: { sms: { transactional: true }, push: {} },
        pushTokens: [],
        name: 'Asha',
      }),
    );
  }
  return { keys, values };
}

/** An OTP: transactional, SMS only, hard deadline ten minutes after `start`, DLT-registered as India requires. */
export function otpCampaign(start: number): Record<string, unknown> {
  return {
    campaignId: CAMPAIGN_ID,
    kind: 'transactional',
    channels: ['sms'],
    deadline: 'hard',
    window: { start, end: start + HOUR / 6 },
    value: 0,
    templates: { en: { sms: { body: '{{otp}} is your Shopplus login code. Do not share it.', senderId: 'SHPPLS-T', dltEntityId: '1101000000000000001', dltTemplateId: '1107000000000000001' } } },
  };
}

function otpCandidates(users: readonly string[]): { keys: string[]; values: string[] } {
  return {
    keys: [...users],
    values: users.map((userId, i) => JSON.stringify({ campaignId: CAMPAIGN_ID, userId, vars: { otp: String(100_000 + ((i * 7919) % 900_000)) } })),
  };
}

/** The embedded default, as `nudge run` builds it without brokers. */
export async function runEmbeddedSends(ctx: ReplicaSendContext, dir: string): Promise<ReplicaSendRun> {
  const { config, elog, topics } = embeddedDecisionSetup(dir, ctx.partitions);
  try {
    const clock = new BenchClock();
    const users = otpUsers(ctx.sends);
    const pTopic = topics.input('profiles');
    const pFill = fill(elog, pTopic, users.keys.length, (i) => ({ key: users.keys[i] as string, value: users.values[i] as string }));
    await runDecisionPhase({ config, clock, logger: ctx.logger, waitFor: [{ topic: pTopic, ends: embeddedEnds(elog, pTopic, ctx.partitions) }], fillMs: pFill, embeddedLog: elog, ...(ctx.signal ? { signal: ctx.signal } : {}) });
    elog.append(topics.campaigns, [{ key: CAMPAIGN_ID, value: JSON.stringify(otpCampaign(clock.now())) }]);
    const candidates = otpCandidates(users.keys);
    const cTopic = topics.input('candidates');
    fill(elog, cTopic, candidates.keys.length, (i) => ({ key: candidates.keys[i] as string, value: candidates.values[i] as string }));
    const run = await sendPhase(ctx, config, clock, elog, undefined);
    let deadLetters = 0;
    for (let p = 0; p < ctx.partitions; p++) deadLetters += elog.end(topics.output('deadletter'), p);
    return { ...run, engine: 'embedded', deadLetters };
  } finally {
    await elog.close().catch(() => undefined);
  }
}

/** Kafka with exactly-once, on the run's broker: fresh topics and group. */
export async function runKafkaSends(ctx: ReplicaSendContext, kafka: Kafka, brokers: string, stateDir: string, brokerPid: number | undefined, used: NudgeConfig[]): Promise<ReplicaSendRun> {
  const config = kafkaRunConfig(brokers, ctx.partitions, 'exactly_once', stateDir);
  used.push(config);
  const topics = new TopicNames(config.topics);
  await createTopics(kafka, config, ctx.logger);
  const clock = new BenchClock();
  const users = otpUsers(ctx.sends);
  const pTopic = topics.input('profiles');
  await produceEvents(kafka, pTopic, users, 5000, ctx.signal);
  await runDecisionPhase({ config, clock, logger: ctx.logger, waitFor: [{ topic: pTopic, ends: await partitionEnds(kafka, pTopic) }], fillMs: 0, ...(brokerPid !== undefined ? { brokerPid } : {}), ...(ctx.signal ? { signal: ctx.signal } : {}) });
  await produceEvents(kafka, topics.campaigns, { keys: [CAMPAIGN_ID], values: [JSON.stringify(otpCampaign(clock.now()))] }, 5000, ctx.signal);
  await produceEvents(kafka, topics.input('candidates'), otpCandidates(users.keys), 5000, ctx.signal);
  const run = await sendPhase(ctx, config, clock, undefined, brokerPid);
  const deadLetters = (await partitionEnds(kafka, topics.output('deadletter'))).reduce((a, b) => a + b, 0);
  return { ...run, engine: 'kafka', deadLetters };
}

/**
 * Starts a replica whose sink is the real one, timed per call, and waits until every candidate's
 * SMS has been accepted. Timed from replica.start(): on Kafka that includes joining the group.
 */
async function sendPhase(ctx: ReplicaSendContext, config: NudgeConfig, clock: BenchClock, elog: EmbeddedLog | undefined, brokerPid: number | undefined): Promise<Omit<ReplicaSendRun, 'engine' | 'deadLetters'>> {
  const latencies: number[] = [];
  const sentAt: number[] = [];
  const other: Record<string, number> = {};
  let t0 = 0;
  const inner = ctx.handler;
  ctx.useClock(clock);
  const timed: EffectHandler = {
    kind: inner.kind,
    run: async (effect, signal) => {
      const s0 = performance.now();
      const outcome = await inner.run(effect, signal);
      const s1 = performance.now();
      latencies.push(s1 - s0);
      const final = String(outcome['final'] ?? outcome['status'] ?? 'unknown');
      if (final === 'sent') sentAt.push(s1 - t0);
      else other[final] = (other[final] ?? 0) + 1;
      return outcome;
    },
    ...(inner.observe !== undefined ? { observe: inner.observe.bind(inner) } : {}),
  };
  const scorer = new HeuristicScorer();
  const { replica } = createReplica({
    config,
    topology: () => decisionTopology(config, scorer),
    logger: ctx.logger,
    clock,
    metrics: ctx.metrics,
    effects: [timed],
    ...(elog !== undefined ? { embeddedLog: elog } : {}),
  });
  const batches = new BatchLatency(replica);
  let fatal: Error | undefined;
  replica.onFatal((err) => (fatal = err));
  const fake0 = await ctx.fakeAccepted();
  const fakeCpu0 = ctx.fakesPid === undefined ? undefined : processCpuMs(ctx.fakesPid);
  const sampler = new RssSampler(brokerPid !== undefined ? { brokerPid } : {});
  let readyMs = -1;
  let resources: ReturnType<RssSampler['end']> | undefined;
  try {
    t0 = performance.now();
    await replica.start();
    let seen = -1;
    let moved = performance.now();
    for (;;) {
      throwIfAborted(ctx.signal);
      if (fatal !== undefined) throw fatal;
      const now = performance.now();
      if (readyMs < 0 && replica.ready) readyMs = now - t0;
      const done = sentAt.length + Object.values(other).reduce((a, b) => a + b, 0);
      if (done >= ctx.sends) break;
      if (done !== seen) {
        seen = done;
        moved = now;
      } else if (now - moved > STALL_MS) {
        throw new Error(`send-path (${config.kafka.brokers.length > 0 ? 'kafka' : 'embedded'}): ${sentAt.length} of ${ctx.sends} sends accepted and no progress for ${STALL_MS / 1000} s (other outcomes ${JSON.stringify(other)})`);
      }
      await sleep(5);
    }
    resources = sampler.end();
  } finally {
    resources ??= sampler.end();
    await replica.stop();
  }
  const fakeCpu1 = ctx.fakesPid === undefined ? undefined : processCpuMs(ctx.fakesPid);
  const fakeAccepted = (await ctx.fakeAccepted()) - fake0;
  if (Object.keys(other).length > 0) throw new Error(`send-path: sends that were not sent: ${JSON.stringify(other)}; the rate would be meaningless`);
  sentAt.sort((a, b) => a - b);
  const n = sentAt.length;
  const at = (q: number) => sentAt[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))] as number;
  const elapsedMs = at(1);
  const steadySpan = at(0.9) - at(0.1);
  const timeline: Array<{ ms: number; sent: number }> = [];
  for (let ms = TIMELINE_STEP_MS, i = 0; ms < elapsedMs + TIMELINE_STEP_MS; ms += TIMELINE_STEP_MS) {
    while (i < n && (sentAt[i] as number) <= ms) i++;
    timeline.push({ ms, sent: i });
  }
  const sorted = Float64Array.from(latencies).sort();
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] as number;
  return {
    candidates: ctx.sends,
    sent: n,
    fakeAccepted,
    readyMs,
    firstSendMs: at(0),
    elapsedMs,
    sendsPerSec: (n * 1000) / elapsedMs,
    steadySendsPerSec: steadySpan > 0 ? (0.8 * n * 1000) / steadySpan : 0,
    sinkLatency: { p50Ms: q(0.5), p90Ms: q(0.9), p99Ms: q(0.99), maxMs: q(1) },
    batchLatency: batches.percentiles(),
    cpuMs: resources.cpuMs,
    cpuUsPerSend: (resources.cpuMs * 1000) / Math.max(1, n),
    brokerCpuMs: resources.brokerCpuMs,
    fakeCpuMs: fakeCpu0 === undefined || fakeCpu1 === undefined ? null : fakeCpu1 - fakeCpu0,
    peakRssBytes: resources.peakBytes,
    peakRssSource: resources.source,
    timeline,
  };
}

