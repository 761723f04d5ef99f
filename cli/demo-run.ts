import { Worker } from 'node:worker_threads';
import type { CampaignInput } from '../processor/messages/index.js';
import type { DecisionRecord } from '../operators/decisions/decision-record.js';
import type { SendRecord } from '../operators/sinks/dispatcher.js';
import { DEFAULT_WORLD, simUser, type SimUser, type WorldConfig } from '../bench/sim/population.js';
import type { FeedbackKind, ResponderCounts } from '../bench/sim/responder.js';
import { demoCampaigns } from './demo-campaigns.js';
import { latencySummaries, mergeThroughput, type LatencySummary, type ThroughputSample } from './demo-probe.js';
import { DEMO_START, demoCandidates, epochMs, runDemoShard, type DemoArgs, type Shard, type ShardResult } from './demo-shard.js';
import type { WorkerReply } from './demo-worker.js';

export type { DemoArgs } from './demo-shard.js';

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
  /** Wall-clock seconds of each phase (with several replicas, until the last of them ended it). */
  timings: { generate: number; load: number; decide: number; day: number; total: number };
  /** CPU seconds of the whole run, every replica's thread included. */
  cpuSeconds: number;
  throughput: ThroughputSample[];
  latency: Record<string, LatencySummary>;
  userOf: (userId: string) => SimUser;
  /** The user's past events (those loaded before the campaigns) by their local hour, 0–23. */
  historyByHour: (userId: string) => readonly number[] | undefined;
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
export async function runDemo(args: DemoArgs, progress: (line: string) => void = () => {}): Promise<DemoRun> {
  const replicas = args.replicas ?? 1;
  const startedAt = epochMs();
  const cpu = process.cpuUsage();
  const shards: Shard[] = Array.from({ length: replicas }, (_, index) => ({ index, of: replicas }));
  const workers: Worker[] = [];
  const results =
    replicas === 1
      ? [await runDemoShard(args, { index: 0, of: 1 }, startedAt, progress)]
      : await Promise.all(shards.map((shard) => inWorker(args, shard, startedAt, workers, (line) => progress(`replica ${shard.index + 1}/${replicas}: ${line}`)))).catch(async (e: unknown) => {
          // One replica failed: the others would keep the process alive to the end of their run for nothing.
          await Promise.all(workers.map((w) => w.terminate()));
          throw e;
        });
  const cpuUsed = process.cpuUsage(cpu);

  const world = { ...DEFAULT_WORLD, seed: args.seed };
  const users = new Map<string, SimUser>();
  const userOf = (id: string) => {
    let u = users.get(id);
    if (u === undefined) users.set(id, (u = simUser(world, Number(id.slice(1)))));
    return u;
  };
  const byHour = new Uint16Array(args.users * 24);
  for (const r of results) r.historyByHour.forEach((v, i) => v !== 0 && (byHour[i] = v));
  const historyByHour = (id: string): readonly number[] | undefined => {
    const i = Number(id.slice(1));
    return Number.isInteger(i) && i >= 0 && i < args.users ? Array.from(byHour.subarray(i * 24, i * 24 + 24)) : undefined;
  };
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
    sends: owned.flatMap((p) => p.sends),
    historyEvents: results.reduce((a, r) => a + r.historyEvents, 0),
    deadLetters: results.reduce((a, r) => a + r.deadLetters, 0),
    feedback: { fed: sum((r) => r.feedback.fed), pending: sum((r) => r.feedback.pending), counts: sum((r) => r.feedback.counts) },
    timings: {
      generate: (last('generate') - startedAt) / 1000,
      load: (last('load') - last('generate')) / 1000,
      decide: (last('decide') - last('load')) / 1000,
      day: (last('day') - last('decide')) / 1000,
      total: (epochMs() - startedAt) / 1000,
    },
    cpuSeconds: (cpuUsed.user + cpuUsed.system) / 1e6,
    throughput: mergeThroughput(results.map((r) => r.throughput)),
    latency: latencySummaries(results.map((r) => r.latency)),
    userOf,
    historyByHour,
  };
}

/** One replica's share in a worker thread (demo-worker.ts); its progress lines come back as they happen. */
function inWorker(args: DemoArgs, shard: Shard, startedAt: number, workers: Worker[], progress: (line: string) => void): Promise<ShardResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./demo-worker.js', import.meta.url), { workerData: { args, shard, startedAt } });
    workers.push(worker);
    let result: ShardResult | undefined;
    worker.on('message', (m: WorkerReply) => {
      if (m.type === 'progress') progress(m.line);
      else result = m.result;
    });
    worker.on('error', reject);
    worker.on('exit', (code) => {
      if (result !== undefined) resolve(result);
      else reject(new Error(`demo replica ${shard.index + 1}/${shard.of} exited with code ${code} before its result`));
    });
  });
}
