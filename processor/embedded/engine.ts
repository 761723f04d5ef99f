import { errorMessage } from '../../errors/index.js';
import type { CommitOutcome, Engine, EngineHandler } from '../engine.js';
import type { Logger } from '../logger.js';
import type { BatchResult } from '../partition-task.js';
import type { EmbeddedLog } from './log.js';

export interface EmbeddedEngineOptions {
  log: EmbeddedLog;
  group: string;
  /**
   * Read in this order, a batch of each in turn (TopicNames.inputsInReadOrder). The first's
   * backlog at start, up to its end then, is read before any other (profiles first).
   */
  inputs: readonly string[];
  outputs: readonly string[];
  campaignsTopic: string;
  partitions: number;
  maxBatchRecords: number;
  logger: Logger;
}

/** How often a running embedded engine looks for records appended by other processes. */
const REFRESH_MS = 250;

/**
 * The embedded default: one member that owns every partition of the in-process log.
 * A loop per partition reads each input topic from the partition's own checkpoint
 * and hands batches to the replica, exactly as the Kafka engine does.
 */
export class EmbeddedEngine implements Engine {
  readonly kind = 'embedded' as const;
  readonly #opts: EmbeddedEngineOptions;
  readonly #paused = new Set<number>();
  readonly #wakers = new Map<number, () => void>();
  readonly #loops: Promise<void>[] = [];
  #handler: EngineHandler | undefined;
  #stopping = false;
  #tableNext = 0;
  #onAppend = (topic: string, partition: number) => this.#appended(topic, partition);
  /** Polls the log for records other processes appended (`nudge produce` beside `nudge run`). */
  #refresher: NodeJS.Timeout | undefined;

  constructor(opts: EmbeddedEngineOptions) {
    this.#opts = opts;
  }

  get partitionCount(): number {
    return this.#opts.partitions;
  }

  async start(handler: EngineHandler): Promise<void> {
    this.#handler = handler;
    const { log, inputs, campaignsTopic, partitions } = this.#opts;
    // Outputs get the inputs' partition count, so decisions stay co-partitioned with their users.
    for (const topic of inputs) log.createTopic(topic, partitions);
    for (const topic of this.#opts.outputs) log.createTopic(topic, partitions);
    log.createTopic(campaignsTopic, 1);
    this.#readTable();
    log.on('append', this.#onAppend);
    // Appends of this process wake the loops through 'append'; another process's show only in
    // LMDB, so the log is looked at again four times a second.
    this.#refresher = setInterval(() => log.refresh(), REFRESH_MS);
    this.#refresher.unref();
    const all = Array.from({ length: partitions }, (_, p) => p);
    await handler.assigned(all);
    for (const p of all) this.#loops.push(this.#loop(p));
  }

  async commit(result: BatchResult): Promise<CommitOutcome> {
    const offsets: Record<string, [number, number]> = {};
    for (const [topic, next] of Object.entries(result.offsets)) offsets[topic] = [result.partition, next];
    this.#opts.log.commit(
      this.#opts.group,
      result.outputs.map((o) => ({ topic: o.topic, record: { key: o.key, value: o.value, headers: o.headers } })),
      offsets,
    );
    return {};
  }

  async append(topic: string, records: ReadonlyArray<{ key: string; value: Buffer }>): Promise<void> {
    this.#opts.log.append(topic, records.map((r) => ({ key: r.key, value: r.value, headers: { 'content-type': 'application/json' } })));
  }

  pause(partition: number): void {
    this.#paused.add(partition);
  }

  resume(partition: number): void {
    this.#paused.delete(partition);
    this.#wakers.get(partition)?.();
  }

  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    clearInterval(this.#refresher);
    this.#opts.log.off('append', this.#onAppend);
    for (const wake of this.#wakers.values()) wake();
    await Promise.allSettled(this.#loops);
    const all = Array.from({ length: this.#opts.partitions }, (_, p) => p);
    await this.#handler?.revoked(all);
  }

  #appended(topic: string, partition: number): void {
    if (topic === this.#opts.campaignsTopic) this.#readTable();
    else this.#wakers.get(partition)?.();
  }

  #readTable(): void {
    const { log, campaignsTopic } = this.#opts;
    for (;;) {
      const records = log.read(campaignsTopic, 0, this.#tableNext, 1000);
      if (records.length === 0) return;
      this.#tableNext = (records[records.length - 1]?.offset ?? this.#tableNext) + 1;
      this.#handler?.table(records);
    }
  }

  async #loop(partition: number): Promise<void> {
    const { log, inputs, group, maxBatchRecords, logger } = this.#opts;
    const handler = this.#handler as EngineHandler;
    const heartbeat = async () => undefined;
    const first = inputs[0] as string;
    const positionOf = (topic: string) => handler.startOffset(partition, topic) ?? log.committed(group, topic, partition) ?? 0;
    // Profiles first: the backlog of the first input, as it stands at start, before the others.
    // Records appended later are read a batch of each topic in turn.
    let catchUpTo: number | undefined = log.end(first, partition);
    while (!this.#stopping) {
      let progressed = false;
      if (catchUpTo !== undefined && positionOf(first) >= catchUpTo) catchUpTo = undefined;
      if (!this.#paused.has(partition)) {
        for (const topic of inputs) {
          if (this.#stopping) break;
          if (catchUpTo !== undefined && topic !== first) break;
          const from = positionOf(topic);
          const records = log.read(topic, partition, from, maxBatchRecords);
          if (records.length === 0) {
            // Nothing left to read of the first input: the others need not wait, whatever its end said.
            if (topic === first) catchUpTo = undefined;
            continue;
          }
          try {
            await handler.batch({ topic, partition, records, highWatermark: log.end(topic, partition) }, heartbeat);
            progressed = true;
            // LMDB calls are synchronous and a drained promise chain never yields: without this,
            // timers, HTTP and signals would wait for the whole backlog.
            await new Promise<void>((resolve) => setImmediate(resolve));
          } catch (err) {
            // The batch was not committed; its records are read again after a pause.
            logger.error({ err: errorMessage(err), topic, partition }, 'batch failed; retrying');
            await new Promise((r) => setTimeout(r, 500));
            // Go round again rather than wait for the next append, which may never come.
            progressed = true;
          }
        }
      }
      if (!progressed && !this.#stopping) {
        await new Promise<void>((resolve) => {
          this.#wakers.set(partition, resolve);
        });
        this.#wakers.delete(partition);
      }
    }
  }
}
