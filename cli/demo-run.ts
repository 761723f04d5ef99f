import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { NudgeError, isNudgeError } from '../errors/index.js';
import type { CampaignInput } from '../processor/messages/index.js';
import type { DecisionRecord } from '../operators/decisions/decision-record.js';
import type { SendRecord } from '../operators/sinks/dispatcher.js';
import type { SimUser, WorldConfig } from '../bench/sim/population.js';
import type { FeedbackKind, ResponderCounts } from '../bench/sim/responder.js';
import { demoCampaigns } from './demo-campaigns.js';
import { latencySummaries, mergeThroughput, type LatencySummary, type ThroughputSample } from './demo-probe.js';
import type { Shard, ShardResult } from './demo-shard.js';
import { qualityOf, sendHoursOf, type SendHours } from './demo-summary.js';
import type { Quality } from '../bench/sim/quality.js';
import { fakeProviderKeys } from '../bench/fakes/index.js';
import { DEMO_START, demoCandidates, demoReplicas, demoUsers, epochMs, historyLookup, type DemoArgs } from './demo-world.js';
import type { WorkerInput, WorkerReply } from './demo-worker.js';

export type { DemoArgs } from './demo-world.js';

export interface DemoRun {
  args: DemoArgs;
  world: WorldConfig;
  start: number;
  campaigns: CampaignInput[];
  /** The candidate rows written, as { campaignId, userId }. */
  candidates: Array<{ campaignId: string; userId: string }>;
  /** The decisions in log order, partition by partition, without their logged feature vectors (see ShardResult). */
  decisions: DecisionRecord[];
  /** Per partition in order, a SHA-256 of its decision records as logged, feature vectors included. */
  decisionsDigests: string[];
  sends: SendRecord[];
  historyEvents: number;
  /** Records nudge refused (nudge.deadletter): the simulator writes only valid ones, so 0. */
  deadLetters: number;
  /** What the simulated users answered and what of it reached nudge before the run ended. */
  feedback: { fed: Record<FeedbackKind, number>; pending: Record<FeedbackKind, number>; counts: ResponderCounts };
  /**
   * Wall-clock seconds of each phase, until the last replica ended it. `generate` counts from
   * the run's start, so with worker threads it includes starting them and loading their modules;
   * `judge` is the replicas' judging of their users' decisions on the simulator.
   */
  timings: { generate: number; load: number; decide: number; day: number; judge: number; total: number };
  /** Model calls, their rows and their seconds, over every replica. */
  scoring: { calls: number; rows: number; seconds: number };
  /** CPU seconds of the whole run, every replica's thread included. */
  cpuSeconds: number;
  throughput: ThroughputSample[];
  latency: Record<string, LatencySummary>;
  userOf: (userId: string) => SimUser;
  /** The user's past events (those loaded before the campaigns) by their local hour, 0–23. */
  historyByHour: (userId: string) => readonly number[] | undefined;
  /**
   * The decisions judged on the simulator: each replica judged its own users (judge() in
   * demo-summary.ts) and their sums are added here. The same as qualityRows(run) and
   * sendHours(run) over the whole run, up to the order of floating-point additions.
   */
  judgement: { quality: Quality[]; hours: SendHours };
}

/** Where `--keep DIR` puts replica `index`'s log and state (a state directory of its own). */
export function keptReplicaDir(keep: string, index: number): string {
  return join(keep, `replica-${index + 1}`);
}

/**
 * Runs the demo's world through the pipeline on the embedded default and returns what came
 * out: a simulated population and its past days, three campaigns, the decisions, and a day on
 * a virtual clock during which the users answer the messages they get (demo-shard.ts).
 *
 * With `replicas` above 1, that many replicas run at once, each in a worker thread of its own
 * with its own log, state and provider fakes, and owning every `replicas`-th partition: the
 * way nudge scales, more replicas sharing a topic's partitions, on one machine's cores.
 */
export async function runDemo(args: DemoArgs, progress: (line: string) => void = () => {}, options: DemoRunOptions = {}): Promise<DemoRun> {
  const replicas = demoReplicas(args);
  const startedAt = epochMs();
  const cpu = process.cpuUsage();
  // The provider fakes' keys are made once here rather than by each replica: an RSA key is
  // 0.1–0.8 s of CPU, and the replicas' threads are what the run waits for.
  const keys = replicas > 1 && args.providers !== 'recorded' ? fakeProviderKeys() : undefined;
  const shards: Shard[] = Array.from({ length: replicas }, (_, index) => ({ index, of: replicas, ...(keys !== undefined ? { keys } : {}) }));
  // Made and removed here, not in the replicas: a terminated worker thread runs no cleanup.
  const keep = args.keep;
  const dirs = shards.map((s) => (keep !== undefined ? keptReplicaDir(keep, s.index) : mkdtempSync(join(tmpdir(), 'nudge-demo-'))));
  for (const dir of dirs) mkdirSync(dir, { recursive: true });
  let results: ShardResult[];
  try {
    if (replicas === 1) {
      // Imported here: with more replicas, the pipeline's modules load in their threads, and the
      // main thread, which only merges, starts them without loading those first.
      const { runDemoShard } = await import('./demo-shard.js');
      results = [await runDemoShard(args, { index: 0, of: 1 }, startedAt, dirs[0] as string, progress)];
    } else {
      const workers: Worker[] = [];
      const url = options.workerUrl ?? new URL('./demo-worker.js', import.meta.url);
      results = await Promise.all(
        shards.map((shard) => inWorker(url, { args, shard, startedAt, dir: dirs[shard.index] as string }, workers, (line) => progress(`replica ${shard.index + 1}/${replicas}: ${line}`))),
      ).catch(async (e: unknown) => {
        // One replica failed: the others would keep the process alive to the end of their run for nothing.
        await Promise.all(workers.map((w) => w.terminate()));
        throw e;
      });
    }
  } finally {
    if (keep === undefined) for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
  const cpuUsed = process.cpuUsage(cpu);

  const { world, userOf } = demoUsers(args.seed);
  // Each replica filled its own users' counters and left the rest 0.
  const byHour = new Uint16Array(args.users * 24);
  for (const r of results) {
    const h = r.historyByHour;
    for (let i = 0; i < h.length; i++) if (h[i] !== 0) byHour[i] = h[i] as number;
  }
  const historyByHour = historyLookup(byHour, args.users);
  const campaigns = demoCampaigns(DEMO_START, args.users);
  // In log order: partition by partition, as one replica owning them all reads them back.
  const owned = results.flatMap((r) => r.partitions).sort((a, b) => a.partition - b.partition);
  const last = (phase: keyof ShardResult['ends']) => Math.max(...results.map((r) => r.ends[phase]));
  const sum = <K extends string>(pick: (r: ShardResult) => Record<K, number>): Record<K, number> => {
    const out = {} as Record<K, number>;
    for (const r of results) for (const [k, v] of Object.entries(pick(r)) as Array<[K, number]>) out[k] = (out[k] ?? 0) + v;
    return out;
  };
  return {
    args,
    world,
    start: DEMO_START,
    campaigns,
    candidates: demoCandidates(args, campaigns).map(({ campaignId, userId }) => ({ campaignId, userId })),
    decisions: owned.flatMap((p) => p.decisions),
    decisionsDigests: owned.map((p) => p.decisionsDigest),
    sends: owned.flatMap((p) => p.sends),
    historyEvents: results.reduce((a, r) => a + r.historyEvents, 0),
    deadLetters: results.reduce((a, r) => a + r.deadLetters, 0),
    feedback: { fed: sum((r) => r.feedback.fed), pending: sum((r) => r.feedback.pending), counts: sum((r) => r.feedback.counts) },
    timings: {
      generate: (last('generate') - startedAt) / 1000,
      load: (last('load') - last('generate')) / 1000,
      decide: (last('decide') - last('load')) / 1000,
      day: (last('day') - last('decide')) / 1000,
      judge: (last('judge') - last('day')) / 1000,
      total: (epochMs() - startedAt) / 1000,
    },
    scoring: sum((r) => r.scoring),
    cpuSeconds: (cpuUsed.user + cpuUsed.system) / 1e6,
    throughput: mergeThroughput(results.map((r) => r.throughput)),
    latency: latencySummaries(results.map((r) => r.latency)),
    userOf,
    historyByHour,
    judgement: { quality: qualityOf(results.map((r) => r.judgement.quality)), hours: sendHoursOf(results.map((r) => r.judgement.hours)) },
  };
}

export interface DemoRunOptions {
  /** The worker threads' entry (default demo-worker.js); tests swap in one that fails. */
  workerUrl?: URL;
}

/**
 * A replica thread's young generation: 192 MB, semi-spaces of 64 MB against V8's 16. A replica
 * allocates short-lived records, rows and state copies by the million; with the default, 20,000
 * users took 380 scavenges, with this 142, and the run about 13% less CPU (median of four
 * interleaved pairs, node --max-semi-space-size=64 against none); at 100,000 users about 3%
 * less. It costs 80–130 MB more memory. (With one replica the demo runs on the main thread,
 * whose heap is the process's: there `node --max-semi-space-size=64` does the same.)
 */
const YOUNG_GENERATION_MB = 192;

/**
 * One replica's share in a worker thread (demo-worker.ts); its progress lines come back as they
 * happen. The result settles it: the thread is then terminated, so that a handle left open
 * in it cannot keep the run waiting.
 */
function inWorker(url: URL, input: WorkerInput, workers: Worker[], progress: (line: string) => void): Promise<ShardResult> {
  const { shard } = input;
  return new Promise((resolve, reject) => {
    const worker = new Worker(url, { workerData: input, resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } });
    workers.push(worker);
    worker.on('message', (m: WorkerReply) => {
      if (m.type === 'progress') {
        progress(m.line);
        return;
      }
      resolve(m.result);
      void worker.terminate();
    });
    // An error crosses the thread as a plain Error with its code: a NudgeError is made again from
    // the code, so that a configuration error still exits with status 2.
    worker.on('error', (e: Error & { code?: unknown }) => reject(typeof e.code === 'string' && e.code.startsWith('NUDGE_ERR_') && !isNudgeError(e) ? new NudgeError(e.code as NudgeError['code'], e.message) : e));
    worker.on('exit', (code) => reject(new Error(`demo replica ${shard.index + 1}/${shard.of} exited with code ${code} before its result`)));
  });
}
