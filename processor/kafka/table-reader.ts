import type { Consumer, Kafka } from 'kafkajs';
import { errorMessage } from '../../errors/index.js';
import type { Logger } from '../logger.js';
import type { RawRecord } from '../record.js';
import { fetchOffsets } from './offsets.js';

export interface TableReaderOptions {
  kafka: Kafka;
  topic: string;
  /** Unique per replica: every replica reads the whole table. */
  groupId: string;
  log: Logger;
  onRecords: (records: RawRecord[]) => void;
  catchUpTimeoutMs?: number;
}

/** Reads a compacted topic from its beginning and follows it; `start` resolves once caught up. */
export class TableReader {
  readonly #opts: TableReaderOptions;
  #consumer: Consumer | undefined;
  #stopped = false;

  constructor(opts: TableReaderOptions) {
    this.#opts = opts;
  }

  async start(): Promise<void> {
    const { kafka, topic, groupId, log, onRecords } = this.#opts;
    const ends = new Map<number, number>();
    for (const o of await fetchOffsets(kafka, topic)) ends.set(o.partition, o.high);
    const behind = new Set([...ends].filter(([, high]) => high > 0).map(([p]) => p));
    let caughtUp: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => {
      caughtUp = resolve;
    });
    const advance = (partition: number, lastOffset: number) => {
      if (behind.has(partition) && lastOffset + 1 >= (ends.get(partition) ?? 0)) behind.delete(partition);
      if (behind.size === 0) caughtUp();
    };
    if (behind.size === 0) caughtUp();
    const consumer = kafka.consumer({
      groupId,
      maxWaitTimeInMs: 250,
      readUncommitted: false,
      // kafkajs restarts a crashed consumer even when disconnect() came while the restart was still
      // joining (e.g. after a broker restart): without this the stopped reader reconnects forever.
      retry: { retries: 5, restartOnFailure: async () => !this.#stopped },
    });
    this.#consumer = consumer;
    consumer.on(consumer.events.END_BATCH_PROCESS, (e) => advance(e.payload.partition, Number(e.payload.lastOffset)));
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        try {
          onRecords(
            batch.messages.map((m) => ({
              topic,
              partition: batch.partition,
              offset: Number(m.offset),
              key: m.key,
              value: m.value,
              headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v[0] : v])),
              timestamp: Number(m.timestamp),
            })),
          );
        } catch (err) {
          log.error({ err: errorMessage(err), topic }, 'table update failed');
        }
      },
    });
    const timeout = this.#opts.catchUpTimeoutMs ?? 120_000;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      ready,
      new Promise<void>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`table ${topic} did not load within ${timeout} ms`)), timeout);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#consumer?.disconnect().catch(() => undefined);
  }
}
