import { join } from 'node:path';
import { validateConfig } from '../config/load.js';
import { userCounterTopology } from '../operators/user-counter.js';
import { createReplica } from '../processor/create-replica.js';
import { EmbeddedLog, type AppendRecord } from '../processor/embedded/log.js';
import type { Logger } from '../processor/logger.js';
import type { Replica } from '../processor/replica.js';
import { TopicNames } from '../processor/topic-names.js';
import type { BenchEvents } from './events.js';
import { batchStats, rate, RssSampler, stateFootprint, waitUntilCommitted, type BatchStats } from './measure.js';

export interface EmbeddedResult {
  /** Appending the N events to the log before the clock starts. */
  fillMs: number;
  /** From replica.start() until every event is committed. */
  elapsedMs: number;
  eventsPerSec: number;
  readyMs: number;
  /** Rate after the replica was ready (stores open): the processing rate alone. */
  steadyEventsPerSec: number;
  rssStartBytes: number;
  peakRssBytes: number;
  /** How the peak was taken: the kernel's high-water mark, or 100 ms samples. */
  peakRssSource: 'VmHWM' | 'sampled';
  /** CPU this process spent in the window: cpuMs ÷ elapsedMs is how busy it kept a core. */
  cpuMs: number;
  stateFileBytes: number;
  stateUsedBytes: number;
  usersStored: number;
  counted: number;
  outputs: number;
  batch: BatchStats;
}

/** Records per append: one LMDB transaction each, so the fill is quick without one huge transaction. */
const FILL_CHUNK = 10_000;

/** The embedded default, as `nudge run` without brokers builds it, over a pre-filled log. */
export async function runEmbedded(
  events: BenchEvents,
  opts: { partitions: number; dir: string; logger: Logger; signal?: AbortSignal },
): Promise<EmbeddedResult> {
  const config = validateConfig({
    state: { dir: join(opts.dir, 'state') },
    embedded: { partitions: opts.partitions },
    http: { port: 0 },
    log: { level: 'warn' },
  });
  const topics = new TopicNames(config.topics);
  const topic = topics.input('events');
  const log = new EmbeddedLog(join(opts.dir, 'embedded-log'));
  let replica: Replica | undefined;
  let sampler: RssSampler | undefined;
  try {
    log.createTopic(topic, opts.partitions);
    const f0 = performance.now();
    for (let from = 0; from < events.keys.length; from += FILL_CHUNK) {
      const chunk: AppendRecord[] = [];
      for (let i = from; i < Math.min(events.keys.length, from + FILL_CHUNK); i++) chunk.push({ key: events.keys[i] as string, value: events.values[i] as string });
      log.append(topic, chunk);
    }
    const fillMs = performance.now() - f0;
    const ends = Array.from({ length: opts.partitions }, (_, p) => log.end(topic, p));

    replica = createReplica({ config, topology: () => userCounterTopology(), logger: opts.logger, embeddedLog: log }).replica;
    let fatal: Error | undefined;
    replica.onFatal((err) => (fatal = err));
    sampler = new RssSampler();
    const t0 = performance.now();
    await replica.start();
    const timeline = await waitUntilCommitted(replica, topic, ends, t0, { ...(opts.signal ? { signal: opts.signal } : {}), fatal: () => fatal });
    const rss = sampler.end();
    sampler = undefined;

    const footprint = await stateFootprint(replica);
    const outputs = Array.from({ length: opts.partitions }, (_, p) => log.end(topics.output('counts'), p)).reduce((a, b) => a + b, 0);
    const batch = await batchStats(replica.metrics.batchSeconds, replica.metrics.batchRecords);
    const n = events.keys.length;
    return {
      fillMs,
      elapsedMs: timeline.doneMs,
      eventsPerSec: rate(n, timeline.doneMs),
      readyMs: timeline.readyMs,
      steadyEventsPerSec: rate(n - timeline.committedAtReady, timeline.doneMs - timeline.readyMs),
      rssStartBytes: rss.startBytes,
      peakRssBytes: rss.peakBytes,
      peakRssSource: rss.source,
      cpuMs: rss.cpuMs,
      stateFileBytes: footprint.fileBytes,
      stateUsedBytes: footprint.usedBytes,
      usersStored: footprint.users,
      counted: footprint.counted,
      outputs,
      batch,
    };
  } finally {
    sampler?.end();
    // Stop before closing the log: the engine's loops read it until they are told to stop.
    await replica?.stop();
    await log.close();
  }
}
