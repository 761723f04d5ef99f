import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { buildSinks, type Sinks } from '../cli/sinks.js';
import { validateConfig } from '../config/load.js';
import type { NudgeConfig } from '../config/schema.js';
import { errorMessage } from '../errors/index.js';
import { SEND_EFFECT, type SendIntent } from '../operators/sinks/dispatcher.js';
import { FcmAccessTokens } from '../operators/sinks/providers/fcm-auth.js';
import { fcmMessage } from '../operators/sinks/providers/fcm.js';
import { digitsOnly } from '../operators/sinks/providers/targets.js';
import { systemClock, type Clock } from '../processor/clock.js';
import { EffectRunner, type Effect, type EffectHandler, type EffectOutcome } from '../processor/effects.js';
import type { Logger } from '../processor/logger.js';
import { ProcessorMetrics } from '../processor/metrics.js';
import { pushIntent, smsIntent } from './fakes/intents.js';
import { KAFKA_VERSION } from '../scripts/kafka-broker.js';
import { assertCounted, benchLogger, engineFlags, validateBrokers, validateIntegers, withBroker } from './harness.js';
import { collectGarbage, processCpuMs, RssSampler, tempDir, throwIfAborted, type PhaseResources } from './measure.js';
import { describeMachine, fmtInt, fmtMiB, fmtMs, fmtRatio, fmtSec, sectionHead, table, writeScenario, type MachineInfo } from './report.js';
import { runEncodingBench, type EncodingResult } from './send-path-encoding.js';
import type { FakesReady } from './send-path-fakes.js';
import { runEmbeddedSends, runKafkaSends, type ReplicaSendContext, type ReplicaSendRun } from './send-path-replica.js';

export interface SendPathOptions {
  /** Sends per measured run. */
  sends: number;
  /** Latency the fake providers add to every send. */
  latencyMs: number;
  /** Part (c): partitions of the replica's topics. */
  partitions?: number;
  /** Part (c) on Kafka too (default); false runs the embedded engine only. */
  kafka?: boolean;
  /** An external broker for part (c); without it one is started for the run. */
  brokers?: string;
  out?: string;
  log?: (s: string) => void;
  signal?: AbortSignal;
}

/**
 * cli/sinks.ts's pool, restated (it is built inline there and cannot be imported): the
 * reference must use the same settings, and the report says which they were.
 */
export const RUNTIME_AGENT = { keepAliveTimeout: 30_000, connections: 256, pipelining: 1 } as const;
/** undici: pipelining 0 disables keep-alive, one connection per request. */
const NO_KEEPALIVE_AGENT = { ...RUNTIME_AGENT, pipelining: 0 } as const;
/** Partitions the sends come from, and records per committed batch (the runtime's maxBatchRecords). */
const PARTITIONS = 4;
/** Part (c)'s topics, unless --partitions says otherwise. */
const DEFAULT_PARTITIONS = 4;
const BATCH = 1000;
/** Contracted rate given to the router: far above what is reached, so the send path is measured, not a rate limit. */
const ROUTE_RATE = 1_000_000;
const REQUEST_TIMEOUT_MS = 10_000;
const ENCODING_ROUNDS = 9;
const ENCODING_ROUND_MS = 100;

type Provider = 'gupshup' | 'fcm';
type Subject = 'sink' | 'undici-keepalive' | 'undici-no-keepalive';

export interface LatencyStats {
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface TransportRun {
  label: string;
  provider: Provider;
  subject: Subject;
  sends: number;
  /** Sends the provider accepted (sink: outcome `sent`; undici: 200 with the provider's success body). */
  ok: number;
  failures: Record<string, number>;
  elapsedMs: number;
  sendsPerSec: number;
  /** Per send: the sink's run() (routing, adapter, HTTP) or one undici request and its body. */
  latency: LatencyStats;
  /** CPU of this process: ÷ sends = the client side's cost of one send. */
  cpuMs: number;
  cpuUsPerSend: number;
  /** CPU of the fakes' process meanwhile (the server side, for scale). */
  fakeCpuMs: number | null;
  /** TCP connections the fake accepted during the measured run. */
  connectionsOpened: number;
  /** … and from the start of the warm-up: the pool the run ended up using (the sink's pool was built by its warm-up). */
  connectionsWithWarmup: number;
  rssStartBytes: number;
  peakRssBytes: number;
  peakRssSource: 'VmHWM' | 'sampled';
  /** Sink runs: how often a partition was paused by the runner's high-water mark. */
  pauses: number | null;
  /** Sink runs: most effects queued or in flight in the runner at once. */
  maxInRunner: number | null;
  /** Process warnings emitted during the run (warm-up included), by name: e.g. Node's MaxListenersExceededWarning. */
  processWarnings: Record<string, number>;
}

export interface ProviderRuns {
  /** Run before and after the sink; the ratios use their mean. */
  keepAlive: [TransportRun, TransportRun];
  sink: TransportRun;
  noKeepAlive: TransportRun;
  ratios: {
    sinkVsKeepAlive: number;
    sinkP99VsKeepAliveP99: number;
    sinkCpuVsKeepAliveCpu: number;
    noKeepAliveVsKeepAlive: number;
    noKeepAliveCpuVsKeepAliveCpu: number;
  };
}

/** Part (c): the same Gupshup sends made by a replica, per engine, against part (a)'s sink run. */
export interface ReplicaSends {
  partitions: number;
  embedded: ReplicaSendRun;
  kafka: (ReplicaSendRun & { guarantee: 'exactly_once'; version: string }) | null;
  ratios: {
    /** Replica sends/s ÷ the Gupshup sink fed directly (part (a)), same process, same fake. */
    embeddedVsSink: number;
    kafkaVsSink: number | null;
    kafkaVsEmbedded: number | null;
  };
}

export interface SendPathReport {
  scenario: 'send-path';
  date: string;
  command: string;
  durationMs: number;
  machine: MachineInfo;
  params: {
    sends: number;
    latencyMs: number;
    warmupSends: number;
    concurrency: number;
    highWater: number;
    lowWater: number;
    partitions: number;
    batchRecords: number;
    agent: typeof RUNTIME_AGENT;
    routeRatePerSec: number;
    /** Most sends that can be in flight to one provider at once, and the rate that allows at the fake's latency. */
    inFlightBound: number;
    ceilingSendsPerSec: number;
  };
  gupshup: ProviderRuns;
  fcm: ProviderRuns;
  encoding: EncodingResult;
  replica: ReplicaSends;
}

export function sendPathCommand(opts: Pick<SendPathOptions, 'sends' | 'latencyMs' | 'partitions' | 'kafka' | 'brokers'>): string {
  return [`node dist/bench/main.js send-path --sends ${opts.sends} --latency-ms ${opts.latencyMs} --partitions ${opts.partitions ?? DEFAULT_PARTITIONS}`, ...engineFlags(opts)].join(' ');
}

/**
 * The "send-path" scenario. (a) Sends per second of one replica's send path — the runtime's
 * EffectRunner (default concurrency and water marks) driving the ProviderSink and Router that
 * `nudge run` builds (cli/sinks.ts buildSinks, its keep-alive pool) — against loopback fakes of
 * Gupshup and FCM that answer after `latencyMs`, next to a bare undici Agent with the same pool
 * settings sending the same number of requests, and the same without keep-alive. (b) The CPU
 * cost per message of buildIntent (hydration + GSM-7/UCS-2 + costing) next to a bare replace.
 */
export async function runSendPathBench(opts: SendPathOptions): Promise<SendPathReport> {
  validate(opts);
  const log = opts.log ?? (() => undefined);
  const signal = opts.signal;
  const logger: Logger = benchLogger();
  const date = new Date().toISOString();
  const machine = describeMachine(opts.kafka === false ? null : opts.brokers === undefined ? KAFKA_VERSION : 'external');
  const t0 = performance.now();
  const warmupSends = Math.min(2_000, Math.max(100, Math.floor(opts.sends / 10)));
  const tmp = tempDir('nudge-bench-send-path-');
  let fakes: ChildProcess | undefined;
  let sinks: Sinks | undefined;
  try {
    log('(b) buildIntent per message vs a bare replace (first, while nothing else runs)');
    const encoding = runEncodingBench({ rounds: ENCODING_ROUNDS, targetRoundMs: ENCODING_ROUND_MS, log, ...(signal ? { signal } : {}) });
    collectGarbage();

    log(`(a) starting the provider fakes in a child process, ${opts.latencyMs} ms latency`);
    const started = await startFakes();
    fakes = started.child;
    const ready = started.ready;
    for (const url of [ready.gupshup.url, ready.fcm.url]) await control(url, 'PATCH', '/__fake/faults', { latencyMs: opts.latencyMs });

    // The replica's sinks as `nudge run` builds them from `delivery`, credentials by reference as a config file must give them.
    const config = sinkConfig(ready);
    const metrics = new ProcessorMetrics();
    // The sinks read an intent's expiry on this clock: the system's for part (a), whose intents
    // are stamped with it, and each replica's own for part (c), which starts its campaigns on the
    // bench's fixed Monday. On the system's clock, every one of (c)'s OTPs read as expired once
    // the real time passed that Monday's window.
    const sinkClock = new SwitchedClock(systemClock);
    sinks = buildSinks(config, sinkClock, metrics, credentialsEnv(ready));
    const handler = sinks.handlers[0];
    if (handler === undefined || handler.kind !== SEND_EFFECT) throw new Error('buildSinks made no send handler: the delivery config was not taken');
    const p = config.processor;
    const ctx: RunContext = { fakesPid: fakes.pid, sends: opts.sends, warmupSends, logger, log, config, handler, sinkClock, metrics, ...(signal ? { signal } : {}) };

    const gupshup = await providerRuns('gupshup', ready.gupshup, ctx);
    const fcm = await providerRuns('fcm', ready.fcm, ctx);

    const replica = await replicaRuns(opts, { ctx, ready, tmp: tmp.dir, sink: gupshup.sink });

    const inFlightBound = Math.min(p.effectsConcurrency, RUNTIME_AGENT.connections);
    const report: SendPathReport = {
      scenario: 'send-path',
      date,
      command: sendPathCommand(opts),
      durationMs: performance.now() - t0,
      machine,
      params: {
        sends: opts.sends,
        latencyMs: opts.latencyMs,
        warmupSends,
        concurrency: p.effectsConcurrency,
        highWater: p.effectsHighWater,
        lowWater: p.effectsLowWater,
        partitions: PARTITIONS,
        batchRecords: BATCH,
        agent: RUNTIME_AGENT,
        routeRatePerSec: ROUTE_RATE,
        inFlightBound,
        ceilingSendsPerSec: opts.latencyMs > 0 ? (inFlightBound * 1000) / opts.latencyMs : Number.POSITIVE_INFINITY,
      },
      gupshup,
      fcm,
      encoding,
      replica,
    };
    if (opts.out !== undefined) {
      const written = await writeScenario('send-path', report, renderSendPathSection(report), opts.out);
      log(`wrote ${written.json} and ${written.markdown}`);
    }
    return report;
  } finally {
    await sinks?.close().catch((err: unknown) => log(`closing the sinks failed: ${errorMessage(err)}`));
    if (fakes !== undefined) await stopFakes(fakes);
    tmp.cleanup();
  }
}

/**
 * Part (c): the Gupshup sends again, each decided by a replica from a candidate first, on the
 * embedded default and then on Kafka (exactly-once), through the sink part (a) measured.
 */
async function replicaRuns(opts: SendPathOptions, run: { ctx: RunContext; ready: FakesReady; tmp: string; sink: TransportRun }): Promise<ReplicaSends> {
  const { ctx, ready, sink } = run;
  const partitions = opts.partitions ?? DEFAULT_PARTITIONS;
  const rctx: ReplicaSendContext = {
    sends: opts.sends,
    partitions,
    handler: ctx.handler,
    useClock: (clock) => ctx.sinkClock.use(clock),
    metrics: ctx.metrics,
    logger: ctx.logger,
    log: ctx.log,
    fakeAccepted: async () => (await fakeStats(ready.gupshup.url)).accepted,
    fakesPid: ctx.fakesPid,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  };
  ctx.log(`(c) a replica on the embedded engine: ${fmtInt(opts.sends)} OTP candidates, ${partitions} partitions`);
  const embedded = await runEmbeddedSends(rctx, join(run.tmp, 'embedded'));
  checkReplicaRun(embedded, opts.sends);
  logReplicaRun(ctx, embedded);
  throwIfAborted(ctx.signal);
  const kafka =
    opts.kafka === false
      ? null
      : await withBroker({ ...(opts.brokers !== undefined ? { brokers: opts.brokers } : {}), logger: ctx.logger, log: ctx.log, ...(ctx.signal ? { signal: ctx.signal } : {}) }, async (b) => {
          ctx.log(`(c) a replica on Kafka ${b.version}, exactly-once`);
          const r = await runKafkaSends(rctx, b.kafka, b.brokers, join(run.tmp, 'kafka-state'), b.brokerPid, b.used);
          checkReplicaRun(r, opts.sends);
          logReplicaRun(ctx, r);
          return { ...r, guarantee: 'exactly_once' as const, version: b.version };
        });
  return {
    partitions,
    embedded,
    kafka,
    ratios: {
      embeddedVsSink: embedded.sendsPerSec / sink.sendsPerSec,
      kafkaVsSink: kafka === null ? null : kafka.sendsPerSec / sink.sendsPerSec,
      kafkaVsEmbedded: kafka === null ? null : kafka.sendsPerSec / embedded.sendsPerSec,
    },
  };
}

/** A replica run that lost or added a send would report a meaningless rate. */
function checkReplicaRun(r: ReplicaSendRun, sends: number): void {
  assertCounted(`send-path (c) ${r.engine}: sends accepted`, r.sent, sends);
  assertCounted(`send-path (c) ${r.engine}: sends the fake accepted`, r.fakeAccepted, sends);
  assertCounted(`send-path (c) ${r.engine}: dead letters`, r.deadLetters, 0);
}

function logReplicaRun(ctx: RunContext, r: ReplicaSendRun): void {
  ctx.log(`  ${r.engine}: ${fmtInt(r.sendsPerSec)} sends/s from start (${fmtInt(r.steadySendsPerSec)}/s steady), ready ${fmtMs(r.readyMs)}, all sent ${fmtSec(r.elapsedMs)}; sink p50/p99 ${fmtMs(r.sinkLatency.p50Ms)}/${fmtMs(r.sinkLatency.p99Ms)}; ${r.cpuUsPerSend.toFixed(0)} µs CPU/send; peak RSS ${fmtMiB(r.peakRssBytes)}`);
}

/** A clock that reads another, which can be changed: the sinks' between the bench's parts. */
class SwitchedClock implements Clock {
  #clock: Clock;
  constructor(clock: Clock) {
    this.#clock = clock;
  }
  use(clock: Clock): void {
    this.#clock = clock;
  }
  now(): number {
    return this.#clock.now();
  }
}

interface RunContext {
  fakesPid: number | undefined;
  sends: number;
  warmupSends: number;
  logger: Logger;
  log: (s: string) => void;
  config: NudgeConfig;
  handler: EffectHandler;
  /** The handler's clock, which part (c) points at each replica's. */
  sinkClock: SwitchedClock;
  /** The sinks' metrics, which part (c)'s replicas share, as a replica and its sinks do. */
  metrics: ProcessorMetrics;
  signal?: AbortSignal;
}

/** Keep-alive reference, the sink, the keep-alive reference again, then no keep-alive: one provider. */
async function providerRuns(provider: Provider, fake: FakesReady['gupshup'], ctx: RunContext): Promise<ProviderRuns> {
  const { log } = ctx;
  const total = ctx.sends + ctx.warmupSends;
  const intents = provider === 'gupshup' ? smsIntents(total) : pushIntents(total);
  const requests = await bareRequests(provider, fake, intents);
  const keep1 = await bareRun(`${provider}: bare undici, keep-alive (1/2)`, provider, 'undici-keepalive', RUNTIME_AGENT, fake.url, requests, ctx);
  const sink = await sinkRun(`${provider}: ProviderSink via EffectRunner`, provider, intents, fake.url, ctx);
  const keep2 = await bareRun(`${provider}: bare undici, keep-alive (2/2)`, provider, 'undici-keepalive', RUNTIME_AGENT, fake.url, requests, ctx);
  const noKeep = await bareRun(`${provider}: bare undici, no keep-alive`, provider, 'undici-no-keepalive', NO_KEEPALIVE_AGENT, fake.url, requests, ctx);
  const keepRate = (keep1.sendsPerSec + keep2.sendsPerSec) / 2;
  const keepCpu = (keep1.cpuUsPerSend + keep2.cpuUsPerSend) / 2;
  const keepP99 = (keep1.latency.p99Ms + keep2.latency.p99Ms) / 2;
  log(`  ${provider}: sink ${fmtRatio(sink.sendsPerSec / keepRate)} of bare keep-alive's rate at ${fmtRatio(sink.cpuUsPerSend / keepCpu)}× its CPU per send; no keep-alive ${fmtRatio(noKeep.sendsPerSec / keepRate)} of the rate at ${fmtRatio(noKeep.cpuUsPerSend / keepCpu)}× the CPU`);
  return {
    keepAlive: [keep1, keep2],
    sink,
    noKeepAlive: noKeep,
    ratios: {
      sinkVsKeepAlive: sink.sendsPerSec / keepRate,
      sinkP99VsKeepAliveP99: sink.latency.p99Ms / keepP99,
      sinkCpuVsKeepAliveCpu: sink.cpuUsPerSend / keepCpu,
      noKeepAliveVsKeepAlive: noKeep.sendsPerSec / keepRate,
      noKeepAliveCpuVsKeepAliveCpu: noKeep.cpuUsPerSend / keepCpu,
    },
  };
}

// ---- the measured runs ----

/** Times one run: CPU of both processes, the fake's connection count, peak RSS (VmHWM reset at the start). */
async function measured(
  ctx: RunContext,
  fakeUrl: string,
  beforeWarmup: { connections: number },
  body: () => Promise<{ ok: number; failures: Record<string, number>; latencies: Float64Array; pauses: number | null; maxInRunner: number | null }>,
): Promise<Omit<TransportRun, 'label' | 'provider' | 'subject' | 'processWarnings'>> {
  collectGarbage();
  const before = await fakeStats(fakeUrl);
  const fakeCpu0 = ctx.fakesPid === undefined ? undefined : processCpuMs(ctx.fakesPid);
  const sampler = new RssSampler();
  const w0 = performance.now();
  let res: Awaited<ReturnType<typeof body>>;
  let rss: PhaseResources;
  try {
    res = await body();
  } finally {
    // Ended on failure too: its interval timer must not outlive the run.
    rss = sampler.end();
  }
  const elapsedMs = performance.now() - w0;
  const fakeCpu1 = ctx.fakesPid === undefined ? undefined : processCpuMs(ctx.fakesPid);
  const after = await fakeStats(fakeUrl);
  const sends = res.latencies.length;
  return {
    sends,
    ok: res.ok,
    failures: res.failures,
    elapsedMs,
    sendsPerSec: (sends * 1000) / elapsedMs,
    latency: latencyStats(res.latencies),
    cpuMs: rss.cpuMs,
    cpuUsPerSend: (rss.cpuMs * 1000) / Math.max(1, sends),
    fakeCpuMs: fakeCpu0 === undefined || fakeCpu1 === undefined ? null : fakeCpu1 - fakeCpu0,
    connectionsOpened: after.connections - before.connections,
    connectionsWithWarmup: after.connections - beforeWarmup.connections,
    rssStartBytes: rss.startBytes,
    peakRssBytes: rss.peakBytes,
    peakRssSource: rss.source,
    pauses: res.pauses,
    maxInRunner: res.maxInRunner,
  };
}

/**
 * The runtime's EffectRunner with the replica's settings (concurrency, water marks) and the
 * replica's sink, fed as a replica feeds it: a committed batch of 1,000 sends at a time, round
 * robin over 4 partitions, a partition waiting while the runner has it paused.
 */
async function sinkRun(label: string, provider: Provider, intents: readonly SendIntent[], fakeUrl: string, ctx: RunContext): Promise<TransportRun> {
  const warm = intents.slice(ctx.sends);
  const measuredIntents = intents.slice(0, ctx.sends);
  ctx.log(`${label}: warm-up ${warm.length}, then ${measuredIntents.length} sends`);
  // The sink's pool lives as long as the replica: connections its earlier runs opened count from here.
  const beforeWarmup = await fakeStats(fakeUrl);
  const warnings = watchWarnings();
  let run: Awaited<ReturnType<typeof measured>>;
  try {
    await driveRunner(warm, ctx);
    throwIfAborted(ctx.signal);
    run = await measured(ctx, fakeUrl, beforeWarmup, () => driveRunner(measuredIntents, ctx));
  } finally {
    warnings.stop();
  }
  const out: TransportRun = { label, provider, subject: 'sink', ...run, processWarnings: warnings.seen };
  logRun(ctx, out);
  if (out.ok !== out.sends) throw new Error(`${label}: ${out.sends - out.ok} of ${out.sends} sends were not sent (${JSON.stringify(out.failures)}); the rate would be meaningless`);
  return out;
}

/** Counts process warnings by name until stop(): Node prints them, but a report should say they happened. */
function watchWarnings(): { seen: Record<string, number>; stop(): void } {
  const seen: Record<string, number> = {};
  const onWarning = (w: Error) => {
    seen[w.name] = (seen[w.name] ?? 0) + 1;
  };
  process.on('warning', onWarning);
  return { seen, stop: () => process.off('warning', onWarning) };
}

async function driveRunner(intents: readonly SendIntent[], ctx: RunContext): Promise<{ ok: number; failures: Record<string, number>; latencies: Float64Array; pauses: number; maxInRunner: number }> {
  const latencies = new Float64Array(intents.length);
  const index = new Map<string, number>();
  const effects: Effect[] = intents.map((intent, i) => {
    index.set(intent.sendId, i);
    return { id: intent.sendId, kind: SEND_EFFECT, owner: 'decisions', payload: intent, dispatches: 1 };
  });
  // The replica's sink, timed per call: the send latency a replica sees, pool queueing included.
  const timed: EffectHandler = {
    kind: ctx.handler.kind,
    run: async (effect, signal) => {
      const s0 = performance.now();
      try {
        return await ctx.handler.run(effect, signal);
      } finally {
        latencies[index.get(effect.id) ?? 0] = performance.now() - s0;
      }
    },
  };
  let ok = 0;
  let pauses = 0;
  let maxInRunner = 0;
  const failures: Record<string, number> = {};
  const resumers = new Map<number, () => void>();
  const p = ctx.config.processor;
  const runner = new EffectRunner({
    handlers: [timed],
    highWater: p.effectsHighWater,
    lowWater: p.effectsLowWater,
    concurrency: p.effectsConcurrency,
    log: ctx.logger,
    onOutcome: (_partition: number, _effect: Effect, outcome: EffectOutcome) => {
      const final = String(outcome['final'] ?? outcome['status'] ?? 'unknown');
      if (final === 'sent') ok++;
      else failures[final] = (failures[final] ?? 0) + 1;
    },
    onPressure: (partition, paused) => {
      if (paused) pauses++;
      else {
        resumers.get(partition)?.();
        resumers.delete(partition);
      }
    },
  });
  try {
    for (let i = 0, chunk = 0; i < effects.length; i += BATCH, chunk++) {
      throwIfAborted(ctx.signal);
      const partition = chunk % PARTITIONS;
      // A paused partition fetches nothing: its next batch waits for the runner to resume it.
      if (runner.isPaused(partition)) await new Promise<void>((resolve) => resumers.set(partition, resolve));
      runner.submit(partition, effects.slice(i, i + BATCH));
      maxInRunner = Math.max(maxInRunner, runner.inFlight);
    }
    await runner.drained();
  } finally {
    runner.close();
  }
  return { ok, failures, latencies, pauses, maxInRunner };
}

/** A prepared provider request: what the adapter would put on the wire, built before the clock starts. */
interface BareRequest {
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** The same number of requests through a bare undici Agent, as many in flight as the runner allows. */
async function bareRun(label: string, provider: Provider, subject: Subject, agentOptions: typeof RUNTIME_AGENT | typeof NO_KEEPALIVE_AGENT, fakeUrl: string, requests: readonly BareRequest[], ctx: RunContext): Promise<TransportRun> {
  const agent = new Agent(agentOptions);
  try {
    const warm = requests.slice(ctx.sends);
    const measuredRequests = requests.slice(0, ctx.sends);
    ctx.log(`${label}: warm-up ${warm.length}, then ${measuredRequests.length} requests`);
    const beforeWarmup = await fakeStats(fakeUrl);
    await sendAll(agent, provider, fakeUrl, warm, ctx.config.processor.effectsConcurrency, ctx.signal);
    const run = await measured(ctx, fakeUrl, beforeWarmup, async () => ({ ...(await sendAll(agent, provider, fakeUrl, measuredRequests, ctx.config.processor.effectsConcurrency, ctx.signal)), pauses: null, maxInRunner: null }));
    const out: TransportRun = { label, provider, subject, ...run, processWarnings: {} };
    logRun(ctx, out);
    if (out.ok !== out.sends) throw new Error(`${label}: ${out.sends - out.ok} of ${out.sends} requests failed (${JSON.stringify(out.failures)})`);
    return out;
  } finally {
    await agent.close().catch(() => undefined);
  }
}

async function sendAll(agent: Agent, provider: Provider, origin: string, requests: readonly BareRequest[], concurrency: number, signal: AbortSignal | undefined): Promise<{ ok: number; failures: Record<string, number>; latencies: Float64Array }> {
  const latencies = new Float64Array(requests.length);
  const failures: Record<string, number> = {};
  let ok = 0;
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= requests.length) return;
      throwIfAborted(signal);
      const r = requests[i] as BareRequest;
      const s0 = performance.now();
      try {
        const res = await agent.request({ origin, path: r.path, method: 'POST', headers: r.headers, body: r.body, headersTimeout: REQUEST_TIMEOUT_MS, bodyTimeout: REQUEST_TIMEOUT_MS });
        const text = await res.body.text();
        // The provider's own success, not just a 200: Gupshup answers errors with 200 too.
        const accepted = res.statusCode === 200 && (provider === 'gupshup' ? text.startsWith('success') : text.includes('"name"'));
        if (accepted) ok++;
        else failures[`http_${res.statusCode}`] = (failures[`http_${res.statusCode}`] ?? 0) + 1;
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        const key = typeof code === 'string' ? code : 'error';
        failures[key] = (failures[key] ?? 0) + 1;
      }
      latencies[i] = performance.now() - s0;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, requests.length) }, worker));
  return { ok, failures, latencies };
}

// ---- intents and the reference's requests ----

const SMS_BODY = 'Asha, 40% off running shoes till midnight';

function smsIntents(n: number): SendIntent[] {
  return Array.from({ length: n }, (_, i) => smsIntent(`+91${9_800_000_000 + i}`, SMS_BODY, { kind: 'promotional' }));
}

function pushIntents(n: number): SendIntent[] {
  return Array.from({ length: n }, (_, i) => pushIntent('fcm', `fcm-token-${i.toString(36).padStart(8, '0')}`));
}

/** The requests the adapters would send for these intents (same form / JSON, same credentials), for the bare reference. */
async function bareRequests(provider: Provider, fake: FakesReady['gupshup'], intents: readonly SendIntent[]): Promise<BareRequest[]> {
  const c = fake.config;
  if (provider === 'gupshup') {
    if (c.type !== 'gupshup') throw new Error('the gupshup fake came with a non-gupshup config');
    return intents.map((intent) => {
      const sms = intent.sms as NonNullable<SendIntent['sms']>;
      const form = new URLSearchParams({
        method: 'sendMessage',
        send_to: digitsOnly(intent.to.phone ?? ''),
        msg: sms.body,
        msg_type: sms.encoding === 'UCS-2' ? 'UNICODE_TEXT' : 'TEXT',
        userid: c.userid,
        password: c.password,
        auth_scheme: 'plain',
        v: '1.1',
        format: 'text',
        principalEntityId: sms.dltEntityId ?? '',
        dltTemplateId: sms.dltTemplateId ?? '',
        mask: sms.senderId ?? '',
      });
      return { path: '/GatewayAPI/rest', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() };
    });
  }
  if (c.type !== 'fcm') throw new Error('the fcm fake came with a non-fcm config');
  // A token of the same service account, from the fake's token endpoint, before the clock starts.
  const agent = new Agent();
  try {
    const auth = new FcmAccessTokens({ serviceAccount: c.serviceAccount, dispatcher: agent, now: Date.now, ...(c.tokenUrl !== undefined ? { tokenUrl: c.tokenUrl } : {}) });
    const token = await auth.get();
    if (!token.ok) throw new Error(`the FCM fake refused a token: ${token.result.message}`);
    const now = Date.now();
    return intents.map((intent) => ({
      path: `/v1/projects/${c.projectId}/messages:send`,
      headers: { authorization: `Bearer ${token.token}`, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ message: fcmMessage(intent, intent.to.tokens?.[0]?.token ?? '', 'fcm', now) }),
    }));
  } finally {
    await agent.close();
  }
}

/** `delivery` with the two fakes as the only providers: Gupshup for India SMS, FCM for push everywhere. */
function sinkConfig(ready: FakesReady): NudgeConfig {
  const g = ready.gupshup.config;
  const f = ready.fcm.config;
  if (g.type !== 'gupshup' || f.type !== 'fcm') throw new Error('unexpected fake configs');
  return validateConfig({
    log: { level: 'warn' },
    delivery: {
      providers: [
        { name: 'gupshup-in', type: 'gupshup', baseUrl: ready.gupshup.url, settings: { userid: g.userid, password: { env: 'NUDGE_BENCH_GUPSHUP_PASSWORD' } } },
        { name: 'fcm', type: 'fcm', baseUrl: ready.fcm.url, settings: { projectId: f.projectId, ...(f.tokenUrl !== undefined ? { tokenUrl: f.tokenUrl } : {}), serviceAccount: { env: 'NUDGE_BENCH_FCM_SA' } } },
      ],
      routes: [
        { country: 'IN', channel: 'sms', providers: [{ name: 'gupshup-in', pricePerSegment: 0.12, ratePerSec: ROUTE_RATE }] },
        { country: '*', channel: 'push', providers: [{ name: 'fcm', pricePerSegment: 0.0001, ratePerSec: ROUTE_RATE }] },
      ],
    },
  });
}

/** The fakes' throwaway credentials, as environment values for the config's `{"env": …}` references. */
function credentialsEnv(ready: FakesReady): NodeJS.ProcessEnv {
  const g = ready.gupshup.config;
  const f = ready.fcm.config;
  if (g.type !== 'gupshup' || f.type !== 'fcm') throw new Error('unexpected fake configs');
  return { NUDGE_BENCH_GUPSHUP_PASSWORD: g.password, NUDGE_BENCH_FCM_SA: JSON.stringify(f.serviceAccount) };
}

// ---- the fakes' process ----

async function startFakes(): Promise<{ child: ChildProcess; ready: FakesReady }> {
  const entry = fileURLToPath(new URL('./send-path-fakes.js', import.meta.url));
  const child = fork(entry, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const ready = await new Promise<FakesReady>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the provider fakes did not start within 30 s')), 30_000);
      child.once('message', (m) => {
        clearTimeout(timer);
        resolve(m as FakesReady);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the provider fakes exited during start-up (code ${code})`));
      });
    });
    return { child, ready };
  } catch (err) {
    await stopFakes(child);
    throw err;
  }
}

async function stopFakes(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.connected) child.send('stop');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

async function control(base: string, method: 'GET' | 'PATCH', path: string, body?: unknown): Promise<unknown> {
  const res = await request(`${base}${path}`, { method, ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`fake control ${method} ${path} answered ${res.statusCode}: ${text}`);
  return JSON.parse(text) as unknown;
}

async function fakeStats(base: string): Promise<{ connections: number; sends: number; accepted: number }> {
  const state = (await control(base, 'GET', '/__fake/state')) as { stats?: { connections?: number; sends?: number; accepted?: number } };
  return { connections: state.stats?.connections ?? 0, sends: state.stats?.sends ?? 0, accepted: state.stats?.accepted ?? 0 };
}

// ---- figures ----

function latencyStats(latencies: Float64Array): LatencyStats {
  const s = Float64Array.from(latencies).sort();
  const q = (p: number) => (s.length === 0 ? 0 : (s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] as number));
  return { p50Ms: q(0.5), p90Ms: q(0.9), p99Ms: q(0.99), maxMs: s.length === 0 ? 0 : (s[s.length - 1] as number) };
}

function logRun(ctx: RunContext, r: TransportRun): void {
  ctx.log(`  ${fmtInt(r.sendsPerSec)} sends/s, p50/p99 ${fmtMs(r.latency.p50Ms)}/${fmtMs(r.latency.p99Ms)}, ${r.cpuUsPerSend.toFixed(0)} µs CPU/send (fake ${r.fakeCpuMs === null ? '–' : ((r.fakeCpuMs * 1000) / Math.max(1, r.sends)).toFixed(0)} µs), ${fmtInt(r.connectionsOpened)} connections (${fmtInt(r.connectionsWithWarmup)} with the warm-up), peak RSS ${fmtMiB(r.peakRssBytes)}`);
}

function validate(opts: SendPathOptions): void {
  if (!Number.isInteger(opts.sends) || opts.sends < 100) throw new Error(`--sends must be an integer ≥ 100, got ${opts.sends}`);
  if (!(opts.latencyMs >= 0 && opts.latencyMs <= 10_000)) throw new Error(`--latency-ms must be within 0–10000, got ${opts.latencyMs}`);
  if (opts.partitions !== undefined) validateIntegers([['partitions', opts.partitions, 1]]);
  validateBrokers(opts.brokers);
}

// ---- reporting ----

function warningsText(r: SendPathReport): string {
  const all: Record<string, number> = {};
  for (const run of [r.gupshup.sink, r.fcm.sink]) for (const [k, n] of Object.entries(run.processWarnings)) all[k] = (all[k] ?? 0) + n;
  const list = Object.entries(all).map(([k, n]) => `${k} × ${n}`);
  return list.length === 0 ? 'none' : `${list.join(', ')} (one AbortSignal per runner is handed to every call in flight, and each undici request adds an abort listener to it)`;
}

export function sendPathTable(r: SendPathReport): string {
  const rows: string[][] = [['run', 'sends/s', 'p50', 'p99', 'CPU/send', 'conns', 'peak RSS', 'vs bare keep-alive']];
  for (const prov of [r.gupshup, r.fcm]) {
    const keepRate = (prov.keepAlive[0].sendsPerSec + prov.keepAlive[1].sendsPerSec) / 2;
    for (const x of [prov.keepAlive[0], prov.sink, prov.keepAlive[1], prov.noKeepAlive]) {
      rows.push([x.label, fmtInt(x.sendsPerSec), fmtMs(x.latency.p50Ms), fmtMs(x.latency.p99Ms), `${x.cpuUsPerSend.toFixed(0)} µs`, fmtInt(x.connectionsOpened), fmtMiB(x.peakRssBytes), x.subject === 'undici-keepalive' ? '–' : fmtRatio(x.sendsPerSec / keepRate)]);
    }
  }
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((row) => row[i]?.length ?? 0)));
  const lines = rows.map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  '));
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  lines.push('');
  for (const x of [r.replica.embedded, r.replica.kafka]) {
    if (x === null) continue;
    lines.push(`replica on ${x.engine}: ${fmtInt(x.sendsPerSec)} sends/s from start (${fmtInt(x.steadySendsPerSec)}/s steady), ${x.cpuUsPerSend.toFixed(0)} µs CPU/send, ${fmtRatio(x.sendsPerSec / r.gupshup.sink.sendsPerSec)} of the Gupshup sink fed directly`);
  }
  lines.push('');
  for (const c of r.encoding.cases) {
    lines.push(`${c.name}: buildIntent ${(c.nsPerOp.buildIntent / 1000).toFixed(2)} µs/message (hydrate ${(c.nsPerOp.hydrate / 1000).toFixed(2)}, smsEncoding ${(c.nsPerOp.smsEncoding / 1000).toFixed(2)}); bare replace ${(c.nsPerOp.reference / 1000).toFixed(3)} µs; ratio ${c.ratio.toFixed(1)}`);
  }
  return lines.join('\n');
}

function runRow(x: TransportRun, keepRate: number, keepCpu: number): string[] {
  const failures = Object.entries(x.failures).map(([k, n]) => `${k} ${n}`).join(', ');
  return [
    x.label,
    `${fmtInt(x.sendsPerSec)}/s`,
    fmtSec(x.elapsedMs),
    `${fmtMs(x.latency.p50Ms)} / ${fmtMs(x.latency.p90Ms)} / ${fmtMs(x.latency.p99Ms)}`,
    fmtMs(x.latency.maxMs),
    `${x.cpuUsPerSend.toFixed(0)} µs (${Math.round((100 * x.cpuMs) / x.elapsedMs)}%)`,
    x.fakeCpuMs === null ? '–' : `${((x.fakeCpuMs * 1000) / Math.max(1, x.sends)).toFixed(0)} µs`,
    `${fmtInt(x.connectionsOpened)} (${fmtInt(x.connectionsWithWarmup)})`,
    fmtMiB(x.peakRssBytes),
    `${fmtInt(x.ok)}${failures === '' ? '' : ` (${failures})`}`,
    x.subject === 'undici-keepalive' ? '1 (reference)' : `${fmtRatio(x.sendsPerSec / keepRate)} / ${fmtRatio(x.cpuUsPerSend / keepCpu)}`,
  ];
}

export function renderSendPathSection(r: SendPathReport): string {
  const p = r.params;
  const out: string[] = [];
  out.push(...sectionHead('## send-path: sends per second against a slow provider, and the cost of building a message', r));
  out.push('### (a) Sends per second of one replica, provider latency ' + `${p.latencyMs} ms`);
  out.push('');
  out.push(
    `Subject: the send path of one replica as \`nudge run\` builds it — \`buildSinks\` (cli/sinks.ts) from a \`delivery\` config naming the fakes (Gupshup for India SMS, FCM for push; route rate ${fmtInt(p.routeRatePerSec)}/s so that no token bucket limits), i.e. \`ProviderSink\` → \`Router\` (breaker, bucket) → adapter → one shared undici Agent (${JSON.stringify(p.agent)}), driven by the runtime's \`EffectRunner\` with the replica defaults (concurrency ${p.concurrency}, high/low water ${fmtInt(p.highWater)}/${fmtInt(p.lowWater)} per partition) and fed as a replica feeds it: committed batches of ${fmtInt(p.batchRecords)} sends, round robin over ${p.partitions} partitions, a paused partition waiting to be resumed. The fakes (bench/fakes, \`startFakeProviders\`) run in a child process and answer every send after ${p.latencyMs} ms (\`PATCH /__fake/faults {latencyMs}\`); each one validates the request fully (form fields and DLT for Gupshup; OAuth bearer and message schema for FCM). ${fmtInt(p.sends)} sends per run after ${fmtInt(p.warmupSends)} unrecorded ones through the same path. Latency is per send: the sink's \`run()\` (undici pool queueing included) or one bare request with its body read.`,
  );
  out.push('');
  out.push(
    `Reference, same run, same fake, same number of requests: a bare undici \`Agent\` with the runtime's pool settings posting the same requests (the adapter's form / JSON, built before the clock starts) with the same ${p.concurrency} in flight, run before and after the sink (ratios use the mean); then the same with keep-alive off (\`pipelining: 0\`: one connection per request).`,
  );
  out.push('');
  for (const [name, prov] of [['Gupshup (SMS)', r.gupshup], ['FCM (push)', r.fcm]] as const) {
    const keepRate = (prov.keepAlive[0].sendsPerSec + prov.keepAlive[1].sendsPerSec) / 2;
    const keepCpu = (prov.keepAlive[0].cpuUsPerSend + prov.keepAlive[1].cpuUsPerSend) / 2;
    out.push(`${name}:`);
    out.push('');
    out.push(
      table(
        ['run', 'sends/s', 'wall', 'latency p50 / p90 / p99', 'max', 'CPU per send (this process, % of a core)', 'fake CPU per send', 'connections opened (with the warm-up)', 'peak RSS', 'accepted', 'rate / CPU per send ÷ bare keep-alive'],
        [prov.keepAlive[0], prov.sink, prov.keepAlive[1], prov.noKeepAlive].map((x) => runRow(x, keepRate, keepCpu)),
      ),
    );
    out.push('');
  }
  const ceiling = `${fmtInt(p.ceilingSendsPerSec)}/s`;
  out.push(
    `Ceiling: at most min(concurrency ${p.concurrency}, pool connections ${p.agent.connections}) = ${p.inFlightBound} requests can be on the wire to one provider, so ${p.latencyMs} ms of provider latency caps one provider at ${p.inFlightBound} ÷ ${p.latencyMs} ms = ${ceiling} whatever the CPU. The runner's other ${p.concurrency - p.inFlightBound} slots only queue inside undici's pool, which adds up to a provider latency to each send's latency without adding throughput (hence p50 ≥ 2 × ${p.latencyMs} ms when the pool is saturated). On this machine the rates fall short of that ceiling because the client, the fakes and other tenants share ${r.machine.cpuCount} cores; the CPU per send is ours alone and the steadier figure to compare. Peak RSS is VmHWM reset at the start of each run, in a process that also ran the earlier runs, holds the prepared intents and may still hold earlier runs' uncollected garbage (collections between runs need \`node --expose-gc\`), so compare it between runs with care. Sink runs paused a partition ${fmtInt(r.gupshup.sink.pauses ?? 0)} (Gupshup) and ${fmtInt(r.fcm.sink.pauses ?? 0)} (FCM) times at the high-water mark and held up to ${fmtInt(Math.max(r.gupshup.sink.maxInRunner ?? 0, r.fcm.sink.maxInRunner ?? 0))} sends queued or in flight in the runner. Process warnings during the sink runs: ${warningsText(r)}.`,
  );
  out.push('');
  const extra = (prov: ProviderRuns) => prov.sink.cpuUsPerSend - (prov.keepAlive[0].cpuUsPerSend + prov.keepAlive[1].cpuUsPerSend) / 2;
  out.push(
    `What the runtime adds to the HTTP exchange itself: ${extra(r.gupshup).toFixed(0)} µs of CPU per Gupshup send and ${extra(r.fcm).toFixed(0)} µs per FCM send (sink minus the bare keep-alive mean): the EffectRunner's queue, routing (breaker, bucket, health), the adapter building the form / JSON and parsing the answer, the AbortSignal every call carries, metrics. Without keep-alive the bare client pays ${((r.gupshup.noKeepAlive.cpuUsPerSend + r.fcm.noKeepAlive.cpuUsPerSend) / 2).toFixed(0)} µs per send (a TCP connect and close each, ${fmtInt(r.gupshup.noKeepAlive.connectionsOpened)} connections for ${fmtInt(r.gupshup.noKeepAlive.sends)} sends) instead of ${((r.gupshup.keepAlive[0].cpuUsPerSend + r.gupshup.keepAlive[1].cpuUsPerSend + r.fcm.keepAlive[0].cpuUsPerSend + r.fcm.keepAlive[1].cpuUsPerSend) / 4).toFixed(0)} µs, and the fake pays more too; this is cleartext loopback, so a real provider's TLS handshake and round trips per connection would widen the gap by far. For where the time goes, run the scenario under \`node --cpu-prof\` and summarise the profile with \`node dist/bench/cpu-profile.js FILE.cpuprofile\`.`,
  );
  out.push('');
  out.push(...replicaSection(r));
  out.push('### (b) Building a message: hydration, encoding and cost, per message');
  out.push('');
  out.push(
    `\`DecisionEngine.buildIntent\` (template choice by language, \`{{var}}\` hydration, GSM-7 / UCS-2 detection, segment count, cost) for an SMS, against a bare \`String.replace\` of the same two variables in the same template, in the same run. Each function is timed in ${r.encoding.rounds} interleaved rounds of about ${r.encoding.targetRoundMs} ms (the order rotating each round), over 64 users and products; the medians are shown with the fastest–slowest round. \`hydrate\` and \`smsEncoding\` are the two parts of it, timed alone (smsEncoding on bodies hydrated beforehand). Measured first, before the fakes start, with nothing else running in this process.`,
  );
  out.push('');
  out.push(
    table(
      ['template', 'encoding, units, segments', 'buildIntent', 'hydrate', 'smsEncoding', 'bare replace (reference)', 'buildIntent ÷ reference'],
      r.encoding.cases.map((c) => [
        `${c.name}: \`${c.template}\``,
        `${c.encoding}, ${c.units}, ${c.segments}`,
        `${(c.nsPerOp.buildIntent / 1000).toFixed(2)} µs (${(c.range.buildIntent[0] / 1000).toFixed(2)}–${(c.range.buildIntent[1] / 1000).toFixed(2)})`,
        `${(c.nsPerOp.hydrate / 1000).toFixed(2)} µs`,
        `${(c.nsPerOp.smsEncoding / 1000).toFixed(2)} µs`,
        `${(c.nsPerOp.reference / 1000).toFixed(3)} µs (${(c.range.reference[0] / 1000).toFixed(3)}–${(c.range.reference[1] / 1000).toFixed(3)})`,
        c.ratio.toFixed(1),
      ]),
    ),
  );
  out.push('');
  out.push(`Example bodies: ${r.encoding.cases.map((c) => `"${c.example}"`).join('; ')}.`);
  return out.join('\n');
}

function replicaSection(r: SendPathReport): string[] {
  const c = r.replica;
  const sink = r.gupshup.sink;
  const rows = [c.embedded, c.kafka].flatMap((x) => (x === null ? [] : [x])).map((x) => [
    x.engine === 'kafka' ? `Kafka ${c.kafka?.version ?? ''}, exactly-once` : 'embedded (default)',
    `${fmtInt(x.sendsPerSec)}/s`,
    `${fmtInt(x.steadySendsPerSec)}/s`,
    `${fmtMs(x.readyMs)} / ${fmtMs(x.firstSendMs)} / ${fmtSec(x.elapsedMs)}`,
    `${fmtMs(x.sinkLatency.p50Ms)} / ${fmtMs(x.sinkLatency.p90Ms)} / ${fmtMs(x.sinkLatency.p99Ms)}`,
    `${fmtMs(x.batchLatency.p50Ms)} / ${fmtMs(x.batchLatency.p99Ms)}`,
    `${x.cpuUsPerSend.toFixed(0)} µs (${Math.round((100 * x.cpuMs) / x.elapsedMs)}%)`,
    x.brokerCpuMs === null ? '–' : `${((x.brokerCpuMs * 1000) / Math.max(1, x.sent)).toFixed(0)} µs`,
    x.fakeCpuMs === null ? '–' : `${((x.fakeCpuMs * 1000) / Math.max(1, x.sent)).toFixed(0)} µs`,
    fmtMiB(x.peakRssBytes),
    `${fmtInt(x.sent)} (fake ${fmtInt(x.fakeAccepted)})`,
    `${fmtRatio(x.sendsPerSec / sink.sendsPerSec)} / ${fmtRatio(x.cpuUsPerSend / sink.cpuUsPerSend)}`,
  ]);
  return [
    `### (c) The same sends decided by a replica, on each engine`,
    '',
    `Subject: one replica as \`nudge run\` builds it (decision topology, heuristic scorer, ${c.partitions} partitions), whose only sink is the sink of (a), timed per call, against the same Gupshup fake. ${fmtInt(c.embedded.candidates)} users with a phone and transactional SMS consent are loaded first (not timed); then as many candidates of an OTP campaign (transactional, SMS, hard deadline, DLT-registered) wait on the candidates topic, and the clock runs from \`replica.start()\` until the fake has accepted every SMS: for each candidate, the decision, its commit with the send in the outbox (a Kafka transaction on Kafka), then the send. Steady is the rate between the 10th and the 90th percent of the sends. Every send is checked: the sink's count and the fake's must both equal the candidates, with no dead letter. Ratios are to the Gupshup sink fed directly in (a), in this run: rate, and CPU per send of this process.`,
    '',
    table(['engine', 'sends/s from start', 'steady', 'ready / first send / all sent', 'sink call p50 / p90 / p99', 'batch p50 / p99', 'CPU per send (this process, % of a core)', 'broker CPU per send', 'fake CPU per send', 'peak RSS', 'sent', 'rate / CPU ÷ sink fed directly'], rows),
    '',
    `Kafka ÷ embedded: ${c.ratios.kafkaVsEmbedded === null ? 'not run' : fmtRatio(c.ratios.kafkaVsEmbedded)}. The decisions are made far faster than the provider takes them, so the runner's high-water mark pauses partitions and the sends queue in the runner and in undici's pool: the sink call's latency holds that wait.`,
    '',
  ];
}
