import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { NudgeConfig } from '../config/schema.js';
import { errorMessage } from '../errors/index.js';
import { openPartitionStore } from '../state/open-store.js';
import { PartitionState } from '../state/partition-state.js';
import { InMemoryCampaignTable } from './campaign-table.js';
import { systemClock, type Clock } from './clock.js';
import type { Engine, EngineHandler, SourceBatch } from './engine.js';
import { EffectRunner, type Effect, type EffectHandler, type EffectOutcome } from './effects.js';
import type { Logger } from './logger.js';
import { ProcessorMetrics } from './metrics.js';
import type { Topology, TopologyFactory } from './operator.js';
import { PartitionTask, type BatchResult } from './partition-task.js';
import type { RawRecord } from './record.js';
import { TopicNames } from './topic-names.js';

export interface ReplicaOptions {
  config: NudgeConfig;
  topology: TopologyFactory;
  engine: (replica: Replica) => Engine;
  logger: Logger;
  clock?: Clock;
  metrics?: ProcessorMetrics;
  /** Sinks: what performs the effects operators ask for (provider calls). */
  effects?: readonly EffectHandler[];
}

type Phase = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

/**
 * One replica: the partition tasks it owns, the campaigns table, the timer loop and
 * the lifecycle. The engine (Kafka or embedded) calls it through EngineHandler.
 */
/** Tries to commit one batch of send outcomes before leaving them to recovery. */
const OUTCOME_COMMIT_ATTEMPTS = 5;

export class Replica extends EventEmitter implements EngineHandler {
  readonly id: string;
  readonly config: NudgeConfig;
  readonly topics: TopicNames;
  readonly metrics: ProcessorMetrics;
  readonly campaigns: InMemoryCampaignTable;
  readonly clock: Clock;
  readonly log: Logger;
  readonly tasks = new Map<number, PartitionTask>();
  readonly #opts: ReplicaOptions;
  readonly #restoring = new Set<number>();
  #engine: Engine | undefined;
  #phase: Phase = 'created';
  #timerHandle: NodeJS.Timeout | undefined;
  #timerRun: Promise<void> = Promise.resolve();
  #fatal: ((err: Error) => void) | undefined;
  readonly effects: EffectRunner;
  readonly #outcomes = new Map<number, Array<{ effect: Effect; outcome: EffectOutcome }>>();
  /** Partitions whose waiting outcomes are lingering for more to join them. */
  readonly #outcomeTimers = new Map<number, NodeJS.Timeout>();
  /** Batches the engine refused to commit: nothing of them was written. */
  readonly #refused = new WeakSet<BatchResult>();

  constructor(opts: ReplicaOptions) {
    super();
    this.setMaxListeners(0);
    this.#opts = opts;
    this.config = opts.config;
    this.id = opts.config.kafka.replicaId || `replica-${randomUUID().slice(0, 8)}`;
    this.topics = new TopicNames(opts.config.topics);
    this.metrics = opts.metrics ?? new ProcessorMetrics();
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger.child({ replica: this.id });
    this.campaigns = new InMemoryCampaignTable(this.log.child({ table: 'campaigns' }), opts.config.processor.maxRecordBytes, (code) => this.metrics.campaignsRejected.inc({ code }));
    const p = opts.config.processor;
    this.effects = new EffectRunner({
      handlers: opts.effects ?? [],
      highWater: p.effectsHighWater,
      lowWater: p.effectsLowWater,
      concurrency: p.effectsConcurrency,
      log: this.log.child({ component: 'effects' }),
      onOutcome: (partition, effect, outcome) => this.#outcome(partition, effect, outcome),
      onPressure: (partition, paused) => {
        this.metrics.paused.set({ partition: String(partition) }, paused ? 1 : 0);
        if (paused) this.#engine?.pause(partition);
        else this.#engine?.resume(partition);
      },
    });
  }

  get engine(): Engine | undefined {
    return this.#engine;
  }

  get phase(): Phase {
    return this.#phase;
  }

  /** Partitions being restored right now. */
  get restoring(): ReadonlySet<number> {
    return this.#restoring;
  }

  /** Ready when running and every assigned partition is restored. */
  get ready(): boolean {
    return this.#phase === 'running' && this.#restoring.size === 0;
  }

  /** Called when the replica cannot go on (e.g. fenced); the CLI exits. */
  onFatal(listener: (err: Error) => void): void {
    this.#fatal = listener;
  }

  fail(err: Error): void {
    this.log.fatal({ err: errorMessage(err) }, 'replica cannot continue');
    this.#fatal?.(err);
  }

  async start(): Promise<void> {
    if (this.#phase !== 'created') throw new Error(`replica already ${this.#phase}`);
    this.#phase = 'starting';
    this.#engine = this.#opts.engine(this);
    await this.#engine.start(this);
    this.#phase = 'running';
    this.#scheduleTimers();
    this.log.info({ engine: this.#engine.kind, partitions: [...this.tasks.keys()] }, 'replica running');
  }

  /**
   * Commits the outcomes waiting out their linger now, and resolves once that commit is done:
   * their sends are then in `nudge.sends`, unless the engine refused the batch, whose retry
   * comes later with backoff. A driver on a virtual clock needs it: its steps can run faster
   * than the linger's real milliseconds, and a step would not see the sends it just made.
   */
  async commitOutcomes(): Promise<void> {
    await Promise.all(
      [...this.#outcomeTimers.keys()].map((p) => {
        const task = this.tasks.get(p);
        return task === undefined ? undefined : this.#flushOutcomes(p, task);
      }),
    );
  }

  /** Graceful: stop fetching, finish the batch in flight, commit, close stores, leave the group. */
  async stop(): Promise<void> {
    if (this.#phase === 'stopping' || this.#phase === 'stopped') return;
    this.#phase = 'stopping';
    if (this.#timerHandle !== undefined) clearTimeout(this.#timerHandle);
    await this.#timerRun;
    // Let provider calls in flight finish and their outcomes commit, within half the shutdown budget.
    await Promise.race([this.effects.drained(), new Promise((r) => setTimeout(r, this.config.processor.shutdownTimeoutMs / 2).unref())]);
    // Outcomes still lingering are committed now, while the engine can still commit (revoked() flushes
    // too, but on Kafka it runs as the consumer leaves): left behind, their sends would be found unresolved.
    await this.commitOutcomes();
    await Promise.all([...this.tasks.values()].map((t) => t.lock.idle()));
    await this.#engine?.stop();
    this.effects.close();
    // The engine revokes everything on stop; close whatever is left (e.g. start failed half-way).
    await this.revoked([...this.tasks.keys()]);
    this.#phase = 'stopped';
    this.log.info('replica stopped');
  }

  // ---- EngineHandler ----

  async assigned(partitions: number[]): Promise<void> {
    const fresh = partitions.filter((p) => !this.tasks.has(p));
    if (fresh.length === 0) return;
    for (const p of fresh) this.#restoring.add(p);
    const opened: Array<{ partition: number; state: PartitionState; topology: Topology }> = [];
    try {
      for (const partition of fresh) {
        const topology = this.#opts.topology(partition);
        const engineStore = await openPartitionStore(this.config.state, partition);
        const state = await PartitionState.open(partition, engineStore, topology.stores, this.config.state.cacheEntries);
        opened.push({ partition, state, topology });
      }
      await this.#engine?.prepare?.(opened);
      for (const o of opened) await this.#startTask(o.partition, o.state, o.topology);
    } catch (err) {
      for (const o of opened) if (!this.tasks.has(o.partition)) await o.state.close();
      throw err;
    } finally {
      for (const p of fresh) this.#restoring.delete(p);
      this.metrics.assignedPartitions.set(this.tasks.size);
      this.emit('assignment', [...this.tasks.keys()]);
    }
  }

  async revoked(partitions: number[]): Promise<void> {
    await Promise.all(
      partitions.map(async (p) => {
        const task = this.tasks.get(p);
        if (task === undefined) return;
        this.tasks.delete(p);
        // The outcomes already heard go to the ledger before the partition leaves, as if their linger had ended.
        if (this.#outcomeTimers.has(p)) await this.#flushOutcomes(p, task);
        await task.lock.run(() => task.close());
        this.metrics.partitionReady.remove({ partition: String(p) });
      }),
    );
    await this.#engine?.release?.(partitions);
    this.metrics.assignedPartitions.set(this.tasks.size);
    this.emit('assignment', [...this.tasks.keys()]);
  }

  async batch(batch: SourceBatch, heartbeat: () => Promise<void>): Promise<void> {
    const task = this.tasks.get(batch.partition);
    if (task === undefined) throw new Error(`partition ${batch.partition} is not assigned to this replica`);
    const role = this.topics.roleOf(batch.topic);
    if (role === undefined || role === 'campaigns') throw new Error(`topic ${batch.topic} is not a user-keyed input`);
    // Large fetches are cut into bounded commits: a transaction's size and a batch's latency stay bounded.
    const size = this.config.processor.maxBatchRecords;
    for (let i = 0; i < batch.records.length; i += size) {
      await task.lock.run(async () => {
        if (task.closed) return;
        const result = await task.processRecords(role, batch.topic, batch.records.slice(i, i + size));
        if (result !== null) await this.#commit(task, result);
      });
      if (i + size < batch.records.length) await heartbeat();
    }
    if (batch.highWatermark !== undefined) {
      const next = task.position(batch.topic) ?? 0;
      this.metrics.consumerLag.set({ topic: batch.topic, partition: String(batch.partition) }, Math.max(0, batch.highWatermark - next));
    }
    await heartbeat();
  }

  startOffset(partition: number, topic: string): number | undefined {
    return this.tasks.get(partition)?.position(topic);
  }

  table(records: RawRecord[]): void {
    this.campaigns.apply(records);
  }

  // ---- internals ----

  async #startTask(partition: number, state: PartitionState, topology: Topology): Promise<void> {
    const { config } = this;
    const task = await PartitionTask.create({
      partition,
      partitionCount: this.#engine?.partitionCount ?? 1,
      state,
      topology,
      clock: this.clock,
      log: this.log.child({ partition }),
      campaigns: this.campaigns,
      metrics: this.metrics,
      topics: this.topics,
      limits: {
        maxRecordBytes: config.processor.maxRecordBytes,
        deadLetterValueBytes: config.processor.deadLetterValueBytes,
        outputFormat: config.processor.outputFormat,
        maxTimersPerBatch: 1000,
      },
    });
    this.tasks.set(partition, task);
    // Sends a previous owner (or this replica before a crash) asked for but never heard back about.
    await task.lock.run(async () => {
      const recovered = await task.recoverEffects();
      if (recovered !== null) await this.#commit(task, recovered);
    });
    this.metrics.partitionReady.set({ partition: String(partition) }, 1);
    this.metrics.stateBytes.set({ partition: String(partition) }, await state.engine.sizeOnDisk());
  }

  async #commit(task: PartitionTask, result: BatchResult): Promise<void> {
    const engine = this.#engine as Engine;
    let outcome;
    try {
      outcome = await engine.commit(result);
    } catch (err) {
      task.abort();
      this.#refused.add(result);
      this.metrics.commits.inc({ kind: result.kind, outcome: 'failed' });
      throw err;
    }
    await task.applyCommitted(result, outcome.changelogNext);
    this.metrics.commits.inc({ kind: result.kind, outcome: 'ok' });
    for (const o of result.outputs) this.metrics.outputs.inc({ topic: o.topic });
    // Listeners (the live stream, the dashboard) see only what is committed.
    if (this.listenerCount('commit') > 0) this.emit('commit', result);
    // Only now, with the intent durable, may the provider be called (send ledger).
    if (result.effects.length > 0) this.effects.submit(task.partition, result.effects);
    if (result.signals.length > 0) this.effects.observe(result.signals);
  }

  /**
   * Outcomes arrive one by one, one provider answer at a time; they are committed in batches
   * per partition. The first of a batch waits `processor.outcomeLingerMs` for others to join
   * it: without the wait, a partition whose lock is free commits every outcome alone, which
   * costs a whole commit (a Kafka transaction on Kafka) per send.
   */
  #outcome(partition: number, effect: Effect, outcome: EffectOutcome): void {
    const task = this.tasks.get(partition);
    // The partition moved away: its new owner finds the effect unresolved and decides.
    if (task === undefined || task.closed) return;
    const pending = this.#outcomes.get(partition);
    if (pending !== undefined) {
      pending.push({ effect, outcome });
      return;
    }
    this.#outcomes.set(partition, [{ effect, outcome }]);
    const linger = this.config.processor.outcomeLingerMs;
    if (linger <= 0) {
      void this.#flushOutcomes(partition, task);
      return;
    }
    this.#outcomeTimers.set(
      partition,
      setTimeout(() => void this.#flushOutcomes(partition, task), linger),
    );
  }

  /** Commits the partition's waiting outcomes now (its linger ended, or the partition is closing). */
  #flushOutcomes(partition: number, task: PartitionTask): Promise<void> {
    const timer = this.#outcomeTimers.get(partition);
    if (timer !== undefined) {
      clearTimeout(timer);
      this.#outcomeTimers.delete(partition);
    }
    return task.lock.run(async () => {
      const batch = this.#outcomes.get(partition) ?? [];
      this.#outcomes.delete(partition);
      await this.#commitOutcomes(task, batch, 0);
    });
  }

  /**
   * The provider has already been called: its outcome must reach the ledger and nudge.sends.
   * When the engine refuses the batch (nothing of it was written, and the task dropped it),
   * it is tried again a few times with backoff; after that the effects stay unresolved in
   * the outbox, where the partition's next start finds them.
   */
  async #commitOutcomes(task: PartitionTask, batch: Array<{ effect: Effect; outcome: EffectOutcome }>, attempt: number): Promise<void> {
    if (task.closed || batch.length === 0) return;
    let result: BatchResult | null = null;
    try {
      result = await task.processOutcomes(batch);
      if (result !== null) await this.#commit(task, result);
    } catch (err) {
      const retry = result !== null && this.#refused.has(result) && attempt < OUTCOME_COMMIT_ATTEMPTS - 1;
      this.log.error({ err: errorMessage(err), partition: task.partition, outcomes: batch.length, attempt: attempt + 1, retry }, 'committing send outcomes failed');
      if (!retry) return;
      const delay = 100 * 2 ** attempt;
      setTimeout(() => void task.lock.run(() => this.#commitOutcomes(task, batch, attempt + 1)), delay).unref();
    }
  }

  /** Fires due timers of every task; wall-clock driven, one pass at a time. */
  async fireTimers(): Promise<void> {
    for (const task of [...this.tasks.values()]) {
      // A partition whose sends are backed up fires no more until they drain.
      if (this.effects.isPaused(task.partition)) continue;
      await task.lock.run(async () => {
        if (task.closed) return;
        for (;;) {
          const result = await task.fireTimers();
          if (result === null) return;
          await this.#commit(task, result);
        }
      });
    }
  }

  #scheduleTimers(): void {
    const interval = this.config.processor.timerIntervalMs;
    const tick = () => {
      if (this.#phase !== 'running') return;
      this.#timerRun = this.fireTimers()
        .catch((err: unknown) => this.log.error({ err: errorMessage(err) }, 'timer pass failed'))
        .finally(() => {
          if (this.#phase === 'running') this.#timerHandle = setTimeout(tick, interval);
        });
    };
    this.#timerHandle = setTimeout(tick, interval);
  }
}
