import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../config/load.js';
import type { NudgeConfig } from '../config/schema.js';
import type { KeyValueStore } from '../state/key-value-store.js';
import { LmdbStore } from '../state/lmdb-store.js';
import { PartitionState } from '../state/partition-state.js';
import { InMemoryCampaignTable } from './campaign-table.js';
import { VirtualClock } from './clock.js';
import { createLogger, type Logger } from './logger.js';
import type { Campaign } from './messages/index.js';
import { ProcessorMetrics } from './metrics.js';
import type { TopologyFactory } from './operator.js';
import type { Effect, EffectHandler, EffectOutcome } from './effects.js';
import { PartitionTask, type BatchResult } from './partition-task.js';
import { partitionFor } from './partitioner.js';
import type { InputRole, OutputRole, RawRecord } from './record.js';
import { TopicNames } from './topic-names.js';

export interface DriverOptions {
  topology: TopologyFactory;
  partitions?: number;
  /** Virtual time at the start, epoch ms. */
  startTime?: number;
  config?: Record<string, unknown>;
  logger?: Logger;
  /** Sinks; effects run right after the batch that asked for them commits, and their outcomes commit at once. */
  effects?: (clock: VirtualClock) => EffectHandler[];
  /** Reopen the stores in this directory (a restart); a fresh temporary one otherwise. */
  dir?: string;
}

export interface DriverOutput {
  role: OutputRole;
  key: string | null;
  value: unknown;
  partition: number;
}

/**
 * Runs a topology's operators on real LMDB stores with a virtual clock and no Kafka
 * (Kafka Streams' TopologyTestDriver). Every piped record is processed and committed at
 * once; `advanceTime` moves the clock and fires the timers that fall due, in time order.
 */
export class TopologyTestDriver {
  readonly clock: VirtualClock;
  readonly campaigns: InMemoryCampaignTable;
  readonly config: NudgeConfig;
  readonly topics: TopicNames;
  readonly #tasks: PartitionTask[];
  readonly #dir: string;
  readonly #outputs: DriverOutput[] = [];
  readonly #offsets = new Map<string, number>();
  readonly #handlers = new Map<string, EffectHandler>();
  /** Effects performed so far, in order (what a sink would have been asked to do). */
  readonly performed: Effect[] = [];
  /** The partitions' metrics (a registry of their own, not the process default). */
  readonly metrics: ProcessorMetrics;

  private constructor(clock: VirtualClock, campaigns: InMemoryCampaignTable, config: NudgeConfig, tasks: PartitionTask[], dir: string, metrics: ProcessorMetrics) {
    this.clock = clock;
    this.campaigns = campaigns;
    this.config = config;
    this.topics = new TopicNames(config.topics);
    this.#tasks = tasks;
    this.#dir = dir;
    this.metrics = metrics;
  }

  static async create(opts: DriverOptions): Promise<TopologyTestDriver> {
    const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'nudge-driver-'));
    const config = validateConfig({ ...(opts.config ?? {}), state: { dir } });
    const clock = new VirtualClock(opts.startTime ?? 0);
    const logger = opts.logger ?? createLogger('warn');
    const campaigns = new InMemoryCampaignTable(logger, config.processor.maxRecordBytes);
    const metrics = new ProcessorMetrics(undefined, { defaultMetrics: false });
    const topics = new TopicNames(config.topics);
    const tasks: PartitionTask[] = [];
    for (let p = 0; p < (opts.partitions ?? 1); p++) {
      const topology = opts.topology(p);
      const state = await PartitionState.open(p, LmdbStore.open(join(dir, `p${p}`)), topology.stores, config.state.cacheEntries);
      tasks.push(
        await PartitionTask.create({
          partition: p,
          partitionCount: opts.partitions ?? 1,
          state,
          topology,
          clock,
          log: logger.child({ partition: p }),
          campaigns,
          metrics,
          topics,
          limits: {
            maxRecordBytes: config.processor.maxRecordBytes,
            deadLetterValueBytes: config.processor.deadLetterValueBytes,
            outputFormat: 'json',
            maxTimersPerBatch: 10_000,
          },
        }),
      );
    }
    const driver = new TopologyTestDriver(clock, campaigns, config, tasks, dir, metrics);
    for (const h of opts.effects?.(clock) ?? []) driver.#handlers.set(h.kind, h);
    for (const task of tasks) {
      const recovered = await task.recoverEffects();
      if (recovered !== null) await driver.#commit(task, recovered);
    }
    return driver;
  }

  get partitions(): number {
    return this.#tasks.length;
  }

  partitionOf(key: string): number {
    return partitionFor(key, this.#tasks.length);
  }

  /** Pipes a value (encoded as JSON) keyed by `key`, stamped with the virtual clock. */
  async pipe(role: InputRole, key: string, value: unknown): Promise<void> {
    await this.pipeRaw(role, key, value === null ? null : Buffer.from(JSON.stringify(value), 'utf8'));
  }

  /**
   * Pipes values as one batch per partition (in the order given), the way a consumer hands
   * over what it fetched: operators see each partition's records together.
   */
  async pipeBatch(role: InputRole, entries: ReadonlyArray<{ key: string; value: unknown }>): Promise<void> {
    const topic = this.topics.input(role);
    const byPartition = new Map<number, RawRecord[]>();
    for (const { key, value } of entries) {
      const record = this.#nextRecord(topic, key, value === null ? null : Buffer.from(JSON.stringify(value), 'utf8'), {});
      const list = byPartition.get(record.partition) ?? [];
      list.push(record);
      byPartition.set(record.partition, list);
    }
    for (const [partition, records] of byPartition) {
      const task = this.#tasks[partition] as PartitionTask;
      const result = await task.processRecords(role, topic, records);
      if (result !== null) await this.#commit(task, result);
    }
  }

  /** Pipes raw bytes, e.g. to check what bad input does. */
  async pipeRaw(role: InputRole, key: string | null, value: Buffer | null, headers: Record<string, string> = {}): Promise<void> {
    const topic = this.topics.input(role);
    const record = this.#nextRecord(topic, key, value, headers);
    const task = this.#tasks[record.partition] as PartitionTask;
    const result = await task.processRecords(role, topic, [record]);
    if (result !== null) await this.#commit(task, result);
  }

  /** The next record of `topic` for `key`: its partition, the next offset there, the virtual clock's time. */
  #nextRecord(topic: string, key: string | null, value: Buffer | null, headers: Record<string, string>): RawRecord {
    const partition = key === null ? 0 : this.partitionOf(key);
    const id = `${topic}/${partition}`;
    const offset = this.#offsets.get(id) ?? 0;
    this.#offsets.set(id, offset + 1);
    return { topic, partition, offset, key: key === null ? null : Buffer.from(key, 'utf8'), value, headers, timestamp: this.clock.now() };
  }

  putCampaign(campaign: Campaign): void {
    this.campaigns.put(campaign);
  }

  /** Moves virtual time forward, firing every timer that falls due on the way, in order. */
  async advanceTime(ms: number): Promise<void> {
    const target = this.clock.now() + ms;
    for (;;) {
      const next = await this.#nextTimer();
      if (next === undefined || next > target) break;
      if (next > this.clock.now()) this.clock.set(next);
      await this.fireDue();
    }
    this.clock.set(target);
    await this.fireDue();
  }

  /** Fires what is due at the current virtual time. */
  async fireDue(): Promise<void> {
    for (const task of this.#tasks) {
      for (;;) {
        const result = await task.fireTimers();
        if (result === null) break;
        await this.#commit(task, result);
      }
    }
  }

  /** Outputs so far for a role (all roles when omitted); reading removes them. */
  readOutputs(role?: OutputRole): DriverOutput[] {
    const taken: DriverOutput[] = [];
    for (let i = 0; i < this.#outputs.length; ) {
      const o = this.#outputs[i] as DriverOutput;
      if (role === undefined || o.role === role) {
        taken.push(o);
        this.#outputs.splice(i, 1);
      } else i++;
    }
    return taken;
  }

  store<V>(name: string, partition = 0): KeyValueStore<V> {
    return (this.#tasks[partition] as PartitionTask).state.store<V>(name);
  }

  /** The store holding `key`'s state. */
  storeFor<V>(name: string, key: string): KeyValueStore<V> {
    return this.store<V>(name, this.partitionOf(key));
  }

  /** Closes the stores; `keep` leaves them on disk for a restart with `dir`. */
  async close(options: { keep?: boolean } = {}): Promise<void> {
    for (const task of this.#tasks) await task.close();
    if (options.keep !== true) rmSync(this.#dir, { recursive: true, force: true });
  }

  get dir(): string {
    return this.#dir;
  }

  async #nextTimer(): Promise<number | undefined> {
    let next: number | undefined;
    for (const task of this.#tasks) {
      const t = await task.nextTimer();
      if (t !== undefined && (next === undefined || t < next)) next = t;
    }
    return next;
  }

  async #commit(task: PartitionTask, result: BatchResult): Promise<void> {
    for (const o of result.outputs) {
      const role = (Object.keys(this.config.topics) as Array<keyof NudgeConfig['topics']>).find(
        (r) => r !== 'prefix' && this.config.topics.prefix + this.config.topics[r] === o.topic,
      ) as OutputRole;
      this.#outputs.push({ role, key: o.key?.toString('utf8') ?? null, value: JSON.parse(o.value.toString('utf8')), partition: task.partition });
    }
    await task.applyCommitted(result);
    for (const signal of result.signals) for (const h of this.#handlers.values()) h.observe?.(signal);
    if (result.effects.length === 0) return;
    const outcomes: Array<{ effect: Effect; outcome: EffectOutcome }> = [];
    for (const effect of result.effects) {
      this.performed.push(effect);
      const handler = this.#handlers.get(effect.kind);
      // Without a sink the effect stays in the outbox, unresolved, as after a crash.
      if (handler !== undefined) outcomes.push({ effect, outcome: await handler.run(effect, new AbortController().signal) });
    }
    if (outcomes.length === 0) return;
    const resolved = await task.processOutcomes(outcomes);
    if (resolved !== null) await this.#commit(task, resolved);
  }
}
