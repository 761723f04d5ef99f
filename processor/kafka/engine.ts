import type { Admin, Consumer, ConsumerRunConfig, Kafka, Producer, RecordMetadata, TopicMessages, Transaction } from 'kafkajs';
import type { NudgeConfig } from '../../config/schema.js';
import { errorMessage, NudgeError } from '../../errors/index.js';
import type { PartitionState } from '../../state/partition-state.js';
import type { CommitOutcome, Engine, EngineHandler } from '../engine.js';
import type { Logger } from '../logger.js';
import type { ProcessorMetrics } from '../metrics.js';
import type { BatchResult } from '../partition-task.js';
import type { HeaderValue, RawRecord } from '../record.js';
import type { TopicNames } from '../topic-names.js';
import { coPartitionedAssigner } from './assigner.js';
import { changelogMessages } from './changelog.js';
import { restoreFromChangelog } from './restore.js';
import { TableReader } from './table-reader.js';
import { prepareTopics } from './topics.js';
import { ProfilesFirst, type CatchUp } from './profiles-first.js';
import { partitionFor } from '../partitioner.js';

export interface KafkaEngineOptions {
  kafka: Kafka;
  config: NudgeConfig;
  topics: TopicNames;
  replicaId: string;
  log: Logger;
  metrics: ProcessorMetrics;
}

/**
 * The Kafka engine: a kafkajs consumer group over the user-keyed inputs, a changelog
 * per partition and, in exactly-once mode, one transactional producer per partition.
 *
 * Transactional ids are per partition (`<prefix><group>-p<N>`), not per replica: kafkajs
 * cannot send the consumer group generation with offsets (KIP-447), so fencing must come
 * from the producer epoch. Whoever owns partition N next initialises the same id, which
 * aborts the previous owner's open transaction and makes its later commits fail.
 */
export class KafkaEngine implements Engine {
  readonly kind = 'kafka' as const;
  readonly #opts: KafkaEngineOptions;
  readonly #exactlyOnce: boolean;
  readonly #producers = new Map<number, Producer>();
  #sharedProducer: Producer | undefined;
  #appender: Producer | undefined;
  #consumer: Consumer | undefined;
  #table: TableReader | undefined;
  #handler: EngineHandler | undefined;
  #assignment = new Set<number>();
  /** Resolves when the latest assignment change has been applied; batches wait on it. Never rejects. */
  #settled: Promise<void> = Promise.resolve();
  /**
   * Owned partitions whose task must be rebuilt before their next batch: a commit failed (its
   * transaction may or may not have committed, and the producer may be stuck), or opening them
   * failed. Rebuilding re-initialises the transactional id, which settles the old transaction,
   * then restores the changelog tail, so the local store matches what Kafka committed.
   */
  readonly #resync = new Set<number>();
  /** Gained partitions still reading their profiles backlog; their other inputs are paused meanwhile. */
  readonly #catchUp = new ProfilesFirst();
  /** Partitions the replica paused (effects high water): they stay paused whatever the catch-up does. */
  readonly #backpressured = new Set<number>();
  #catchUpTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  partitionCount = 0;
  /** Partition counts of output topics that differ from the inputs' (pre-existing topics). */
  readonly outputPartitions = new Map<string, number>();

  constructor(opts: KafkaEngineOptions) {
    this.#opts = opts;
    this.#exactlyOnce = opts.config.processor.guarantee === 'exactly_once';
  }

  async start(handler: EngineHandler): Promise<void> {
    this.#handler = handler;
    const { kafka, config, topics, log } = this.#opts;
    const admin: Admin = kafka.admin();
    await admin.connect();
    try {
      const prepared = await prepareTopics(admin, config, topics, log);
      this.partitionCount = prepared.partitions;
      for (const [topic, count] of prepared.counts) this.outputPartitions.set(topic, count);
    } finally {
      await admin.disconnect();
    }
    // Campaigns first: a candidate must never be judged against a table still loading.
    this.#table = new TableReader({ kafka, topic: topics.campaigns, groupId: `${config.kafka.groupId}.table.${this.#opts.replicaId}`, log, onRecords: (r) => handler.table(r) });
    await this.#table.start();
    if (!this.#exactlyOnce) {
      this.#sharedProducer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await this.#sharedProducer.connect();
    }
    const consumer = kafka.consumer({
      groupId: config.kafka.groupId,
      sessionTimeout: config.kafka.sessionTimeoutMs,
      heartbeatInterval: config.kafka.heartbeatIntervalMs,
      rebalanceTimeout: config.kafka.rebalanceTimeoutMs,
      maxBytesPerPartition: config.kafka.maxBytesPerPartition,
      maxWaitTimeInMs: config.kafka.maxWaitTimeMs,
      readUncommitted: false,
      partitionAssigners: [coPartitionedAssigner(() => ({ owned: [...this.#assignment] }))],
      // A crash while stopping must not restart the consumer behind disconnect()'s back (kafkajs
      // does when the restart is still joining the group): it would rejoin and reconnect forever.
      retry: { retries: 5, restartOnFailure: async () => !this.#stopped },
    });
    this.#consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      const next = new Set<number>(e.payload.memberAssignment[topics.inputs[0] as string] ?? []);
      // A failed assignment must not leave #settled rejected: every later batch and every later
      // assignment would fail on it for good. The partitions it could not open are retried instead.
      this.#settled = this.#settled.then(() => this.#reassign(next));
    });
    await consumer.connect();
    await consumer.subscribe({ topics: topics.inputs, fromBeginning: true });
    const runConfig: ConsumerRunConfig = {
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: config.kafka.partitionsConsumedConcurrently,
      eachBatch: async ({ batch, heartbeat, isRunning, isStale, resolveOffset }) => {
        await this.#settled;
        if (!isRunning() || isStale() || !this.#assignment.has(batch.partition)) return;
        if (this.#resync.has(batch.partition)) {
          // Serialised with assignment changes; throws (and kafkajs redelivers) while the broker is unreachable.
          await (this.#settled = this.#settled.then(() => this.#rebuild(batch.partition)));
          if (this.#resync.has(batch.partition)) throw new NudgeError('NUDGE_ERR_KAFKA', `partition ${batch.partition} could not be rebuilt yet`, { retriable: true });
          if (!isRunning() || isStale() || !this.#assignment.has(batch.partition)) return;
        }
        const profiles = batch.topic === topics.input('profiles');
        if (!profiles && this.#catchUp.has(batch.partition)) {
          // Fetched before the pause: not resolved, so fetched again from here once the profiles have caught up.
          log.debug({ topic: batch.topic, partition: batch.partition, records: batch.messages.length }, 'batch held until the profiles catch up');
          return;
        }
        const records: RawRecord[] = batch.messages.map((m) => ({
          topic: batch.topic,
          partition: batch.partition,
          offset: Number(m.offset),
          key: m.key,
          value: m.value,
          headers: flattenHeaders(m.headers),
          timestamp: Number(m.timestamp),
        }));
        await handler.batch({ topic: batch.topic, partition: batch.partition, records, highWatermark: Number(batch.highWatermark) }, heartbeat);
        resolveOffset(batch.lastOffset());
        if (profiles) this.#profilesAt(batch.partition, Number(batch.lastOffset()) + 1);
      },
    };
    // A fetch of transaction markers (or aborted records) alone never reaches eachBatch; kafkajs
    // still moves past it, and so do the profiles of a partition catching up.
    consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
      if (e.payload.batchSize === 0 && e.payload.topic === topics.input('profiles')) this.#profilesAt(e.payload.partition, Number(e.payload.lastOffset) + 1);
    });
    consumer.on(consumer.events.CRASH, (e) => {
      log.error({ err: errorMessage(e.payload.error), restart: e.payload.restart }, 'consumer crashed');
      // kafkajs restarts a consumer only after a retriable error. A broker down for longer than
      // its retries ends in a non-retriable one (KafkaJSGroupCoordinatorNotFound, kafkajs#1445),
      // and the replica would stay up consuming nothing: it is run again here, with backoff.
      if (!e.payload.restart && !this.#stopped) this.#runAgain(consumer, runConfig, 1_000);
    });
    await consumer.run(runConfig);
  }

  /** Connects and runs a consumer that kafkajs gave up on (it has disconnected it), until it runs or the engine stops. */
  #runAgain(consumer: Consumer, runConfig: ConsumerRunConfig, delayMs: number): void {
    const timer = setTimeout(() => {
      if (this.#stopped || this.#consumer !== consumer) return;
      this.#opts.log.warn({ afterMs: delayMs }, 'running the crashed consumer again');
      consumer
        .connect()
        .then(() => consumer.run(runConfig))
        .catch((err: unknown) => {
          this.#opts.log.warn({ err: errorMessage(err) }, 'the crashed consumer could not run again; retrying');
          void consumer.disconnect().catch(() => undefined);
          this.#runAgain(consumer, runConfig, Math.min(delayMs * 2, 30_000));
        });
    }, delayMs);
    timer.unref();
  }

  async prepare(targets: ReadonlyArray<{ partition: number; state: PartitionState }>): Promise<void> {
    const { kafka, config, topics, log, metrics } = this.#opts;
    if (this.#exactlyOnce) {
      await Promise.all(targets.map((t) => this.#producerFor(t.partition)));
    }
    await restoreFromChangelog([...targets], { kafka, topic: topics.changelog, groupId: config.kafka.groupId, log, metrics, timeoutMs: 10 * 60_000 });
  }

  async release(partitions: readonly number[]): Promise<void> {
    await Promise.all(
      partitions.map(async (p) => {
        const producer = this.#producers.get(p);
        this.#producers.delete(p);
        await producer?.disconnect().catch(() => undefined);
      }),
    );
  }

  async commit(result: BatchResult): Promise<CommitOutcome> {
    const { topics, config } = this.#opts;
    const byTopic = new Map<string, TopicMessages>();
    for (const o of result.outputs) {
      let tm = byTopic.get(o.topic);
      if (tm === undefined) byTopic.set(o.topic, (tm = { topic: o.topic, messages: [] }));
      // Outputs are keyed by the same user as the input, and output topics share its partition
      // count: the partition is known, so the producer need not hash every key again.
      const partition = this.#outputPartition(o.topic, o.key, result.partition);
      tm.messages.push({ key: o.key, value: o.value, headers: o.headers, partition });
    }
    const changelog = changelogMessages(result);
    byTopic.set(topics.changelog, { topic: topics.changelog, messages: changelog });
    const requests = splitRequests([...byTopic.values()], config.processor.maxRequestBytes);
    const offsets = Object.entries(result.offsets).map(([topic, next]) => ({ topic, partitions: [{ partition: result.partition, offset: String(next) }] }));

    let metadata: RecordMetadata[];
    if (this.#exactlyOnce) {
      if (this.#resync.has(result.partition)) {
        // E.g. a timer batch computed on a store that may be behind the last (failed) commit.
        throw new NudgeError('NUDGE_ERR_KAFKA', `partition ${result.partition} must be restored before it commits again`, { retriable: true });
      }
      const producer = await this.#producerFor(result.partition);
      let txn: Transaction | undefined;
      try {
        txn = await producer.transaction();
        metadata = [];
        for (const topicMessages of requests) metadata.push(...(await txn.sendBatch({ topicMessages, acks: -1 })));
        if (offsets.length > 0) await txn.sendOffsets({ consumerGroupId: config.kafka.groupId, topics: offsets });
        await txn.commit();
      } catch (err) {
        await txn?.abort().catch(() => undefined);
        // The outcome may be unknown (a commit whose answer was lost) and kafkajs' transaction state
        // may be stuck (COMMITTING/ABORTING after the broker went away): this producer is done for, and
        // the partition is rebuilt before its next batch.
        this.#resync.add(result.partition);
        if (this.#producers.get(result.partition) === producer) this.#producers.delete(result.partition);
        await producer.disconnect().catch(() => undefined);
        throw new NudgeError('NUDGE_ERR_KAFKA', `transaction for partition ${result.partition} failed: ${errorMessage(err)}`, { cause: err, retriable: true });
      }
    } else {
      metadata = [];
      for (const topicMessages of requests) metadata.push(...(await (this.#sharedProducer as Producer).sendBatch({ topicMessages, acks: -1 })));
      if (offsets.length > 0) await (this.#consumer as Consumer).commitOffsets(offsets.map((o) => ({ topic: o.topic, ...(o.partitions[0] as { partition: number; offset: string }) })));
    }
    // The checkpoint record is the changelog's last; its request's base offset plus its position gives the end.
    const last = metadata.filter((m) => m.topicName === topics.changelog && m.partition === result.partition).pop();
    const inLast = requests.at(-1)?.find((t) => t.topic === topics.changelog)?.messages.length ?? 0;
    return last?.baseOffset === undefined ? {} : { changelogNext: Number(last.baseOffset) + inLast };
  }

  async append(topic: string, records: ReadonlyArray<{ key: string; value: Buffer }>): Promise<void> {
    if (this.#appender === undefined) {
      this.#appender = this.#opts.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await this.#appender.connect();
    }
    await this.#appender.send({ topic, acks: -1, messages: records.map((r) => ({ key: r.key, value: r.value, headers: { 'content-type': 'application/json' } })) });
  }

  #outputPartition(topic: string, key: Buffer | null, source: number): number {
    const count = this.outputPartitions.get(topic) ?? this.partitionCount;
    if (count === this.partitionCount) return source;
    return key === null ? source % count : partitionFor(key, count);
  }

  pause(partition: number): void {
    this.#backpressured.add(partition);
    this.#setPaused(this.#opts.topics.inputs, [partition], true);
  }

  resume(partition: number): void {
    this.#backpressured.delete(partition);
    // A partition still catching up gets its profiles back only.
    this.#setPaused(this.#catchUp.has(partition) ? [this.#opts.topics.input('profiles')] : this.#opts.topics.inputs, [partition], false);
  }

  /**
   * Pauses or resumes fetching. The engine's sets (#backpressured, #catchUp) say what should be
   * paused; kafkajs forgets it when its consumer restarts after a crash, and refuses it while
   * the consumer is down, so #reassign applies them again at every join.
   */
  #setPaused(topics: readonly string[], partitions: number[], paused: boolean): void {
    if (partitions.length === 0) return;
    const list = topics.map((topic) => ({ topic, partitions }));
    try {
      if (paused) this.#consumer?.pause(list);
      else this.#consumer?.resume(list);
    } catch (err) {
      this.#opts.log.warn({ err: errorMessage(err), partitions, paused }, 'could not pause or resume fetching now; done again when the consumer rejoins');
    }
  }

  /** The inputs a partition catching up on its profiles does not read meanwhile. */
  get #otherInputs(): string[] {
    const profiles = this.#opts.topics.input('profiles');
    return this.#opts.topics.inputs.filter((t) => t !== profiles);
  }

  /** What the engine holds paused, applied to kafkajs again (after a restart of its consumer it holds nothing). */
  #applyPauses(): void {
    const { topics } = this.#opts;
    this.#setPaused(topics.inputs, [...this.#backpressured], true);
    this.#setPaused(this.#otherInputs, this.#catchUp.partitions(), true);
  }

  /**
   * Profiles first: pauses the other inputs of each gained partition whose profiles have a
   * backlog, from the group's committed offset (or the beginning) to their end now, the last
   * stable offset. Kafka has no order across topics; this gives a backlog the order that
   * matters, each user's profile before their activity. Records that arrive later are read as
   * they come, in any order across topics.
   */
  async #profilesFirst(gained: readonly number[]): Promise<void> {
    const { kafka, config, topics, log } = this.#opts;
    const idleMs = config.kafka.profilesFirstIdleMs;
    if (idleMs === 0 || gained.length === 0) return;
    const profiles = topics.input('profiles');
    const admin = kafka.admin();
    try {
      await admin.connect();
      // kafkajs lists offsets read_committed: `high` is the last stable offset, so an open
      // transaction's records, which this consumer cannot read yet, are not waited for.
      const ends = await admin.fetchTopicOffsets(profiles);
      const [committed] = await admin.fetchOffsets({ groupId: config.kafka.groupId, topics: [profiles] });
      const now = Date.now();
      for (const p of gained) {
        const end = ends.find((e) => e.partition === p);
        const offset = Number(committed?.partitions.find((c) => c.partition === p)?.offset ?? -1);
        const from = offset >= 0 ? offset : Number(end?.low ?? 0);
        const until = Number(end?.high ?? 0);
        if (!this.#catchUp.hold(p, from, until, now)) continue;
        this.#setPaused(this.#otherInputs, [p], true);
        this.#opts.metrics.profilesCatchUp.set({ partition: String(p) }, 1);
        log.info({ partition: p, from, until }, "reading the partition's profiles before its other inputs");
      }
    } catch (err) {
      // Not worth failing the assignment for: the partitions are read as before, in fetch order.
      log.warn({ err: errorMessage(err), gained }, "could not read the profiles' offsets; gained partitions are read without the profiles-first catch-up");
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    if (this.#catchUp.size > 0 && this.#catchUpTimer === undefined) {
      this.#catchUpTimer = setInterval(() => {
        for (const c of this.#catchUp.idle(Date.now(), idleMs, (p) => this.#backpressured.has(p))) {
          log.warn({ partition: c.partition, reached: c.reached, until: c.until, idleMs }, "the partition's profiles stopped advancing short of their end; reading its other inputs anyway");
          this.#endCatchUp(c);
        }
        // Partitions lost while catching up leave nothing to watch.
        if (this.#catchUp.size === 0) {
          clearInterval(this.#catchUpTimer);
          this.#catchUpTimer = undefined;
        }
      }, Math.min(1_000, idleMs));
      this.#catchUpTimer.unref();
    }
  }

  /** The profiles of `partition` were read up to `next` (exclusive). */
  #profilesAt(partition: number, next: number): void {
    const done = this.#catchUp.advance(partition, next, Date.now());
    if (done === undefined) return;
    this.#opts.log.info({ partition, profiles: done.until }, "profiles caught up; reading the partition's other inputs");
    this.#endCatchUp(done);
  }

  /** Resumes the other inputs of a partition whose catch-up has ended (unless its replica paused it). */
  #endCatchUp(ended: CatchUp): void {
    this.#opts.metrics.profilesCatchUp.set({ partition: String(ended.partition) }, 0);
    if (this.#catchUp.size === 0) {
      clearInterval(this.#catchUpTimer);
      this.#catchUpTimer = undefined;
    }
    if (this.#backpressured.has(ended.partition)) return;
    this.#setPaused(this.#otherInputs, [ended.partition], false);
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#catchUpTimer);
    // kafkajs waits for the batches in flight, then leaves the group so others take over at once.
    await this.#consumer?.disconnect().catch((err: unknown) => this.#opts.log.warn({ err: errorMessage(err) }, 'consumer disconnect failed'));
    await this.#settled.catch(() => undefined);
    const owned = [...this.#assignment];
    this.#assignment.clear();
    await this.#handler?.revoked(owned);
    await this.release([...this.#producers.keys()]);
    await this.#sharedProducer?.disconnect().catch(() => undefined);
    await this.#appender?.disconnect().catch(() => undefined);
    await this.#table?.stop();
  }

  async #reassign(next: Set<number>): Promise<void> {
    const handler = this.#handler as EngineHandler;
    const lost = [...this.#assignment].filter((p) => !next.has(p));
    const gained = [...next].filter((p) => !this.#assignment.has(p));
    this.#assignment = next;
    for (const p of lost) {
      this.#resync.delete(p);
      this.#backpressured.delete(p);
      if (this.#catchUp.release(p) !== undefined) this.#opts.metrics.profilesCatchUp.remove({ partition: String(p) });
    }
    // kafkajs keeps a partition paused across rebalances: one that comes back must not come back paused.
    this.#setPaused(this.#opts.topics.inputs, lost, false);
    // A join after a restart of the consumer (CRASH) comes with a new kafkajs group state, nothing paused.
    this.#applyPauses();
    try {
      if (lost.length > 0) await handler.revoked(lost);
      if (gained.length > 0) await handler.assigned(gained);
      await this.#profilesFirst(gained);
    } catch (err) {
      // E.g. the restore could not reach the broker: open them again before their first batch.
      for (const p of gained) this.#resync.add(p);
      this.#opts.log.error({ err: errorMessage(err), gained }, 'partition assignment failed; retried before their next batch');
      return;
    }
    this.#opts.log.info({ lost, gained, owned: [...next].sort((a, b) => a - b) }, 'partitions assigned');
  }

  /** Closes and reopens one owned partition: new transactional producer (fencing), changelog tail restore, new task. */
  async #rebuild(partition: number): Promise<void> {
    if (!this.#resync.has(partition) || !this.#assignment.has(partition)) return;
    const handler = this.#handler as EngineHandler;
    try {
      await handler.revoked([partition]);
      await handler.assigned([partition]);
      this.#resync.delete(partition);
      this.#opts.log.warn({ partition }, 'partition rebuilt from the changelog after a failed commit');
    } catch (err) {
      this.#opts.log.error({ err: errorMessage(err), partition }, 'partition rebuild failed; retried before its next batch');
    }
  }

  async #producerFor(partition: number): Promise<Producer> {
    let producer = this.#producers.get(partition);
    if (producer !== undefined) return producer;
    const { kafka, config } = this.#opts;
    producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      transactionalId: `${config.topics.prefix}${config.kafka.groupId}-p${partition}`,
      transactionTimeout: 60_000,
    });
    this.#producers.set(partition, producer);
    // connect() initialises the transactional id: from here on the previous owner is fenced.
    try {
      await producer.connect();
    } catch (err) {
      // Not kept: a producer whose id was never initialised cannot begin a transaction.
      if (this.#producers.get(partition) === producer) this.#producers.delete(partition);
      await producer.disconnect().catch(() => undefined);
      throw err;
    }
    return producer;
  }
}

/**
 * Cuts a commit's messages into requests below the broker's message size limit (a request
 * holds one record batch per partition). Order within each topic is kept, so the changelog's
 * checkpoint record stays last.
 */
export function splitRequests(topics: TopicMessages[], maxBytes: number): TopicMessages[][] {
  const requests: TopicMessages[][] = [];
  let current = new Map<string, TopicMessages>();
  let bytes = 0;
  for (const tm of topics) {
    for (const m of tm.messages) {
      const size = 64 + (m.key?.length ?? 0) + (m.value === null ? 0 : (m.value as Buffer).length);
      if (bytes + size > maxBytes && bytes > 0) {
        requests.push([...current.values()]);
        current = new Map();
        bytes = 0;
      }
      let target = current.get(tm.topic);
      if (target === undefined) current.set(tm.topic, (target = { topic: tm.topic, messages: [] }));
      target.messages.push(m);
      bytes += size;
    }
  }
  if (current.size > 0) requests.push([...current.values()]);
  return requests;
}

function flattenHeaders(headers: Record<string, Buffer | string | (Buffer | string)[] | undefined> | undefined): Record<string, HeaderValue> {
  const out: Record<string, HeaderValue> = {};
  if (headers === undefined) return out;
  for (const [name, value] of Object.entries(headers)) out[name.toLowerCase()] = Array.isArray(value) ? value[0] : value;
  return out;
}
