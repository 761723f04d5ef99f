import type { Kafka, Producer } from 'kafkajs';
import { errorMessage } from '../../errors/index.js';
import type { Logger } from '../logger.js';
import { TableReader } from './table-reader.js';

export interface DirectoryEntry {
  replicaId: string;
  url: string;
  partitions: number[];
  /** Wall-clock ms of the announcement: the newest claim on a partition wins. */
  ts: number;
}

/** Who owns which partition, and where to reach them. */
export interface Directory {
  ownerOf(partition: number): DirectoryEntry | undefined;
  announce(partitions: readonly number[]): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Replicas announce their partitions and HTTP address on a small compacted topic that
 * every replica reads whole. (kafkajs does not hand the group assignment's user data to
 * members other than the leader, so the assignment itself cannot carry the addresses.)
 */
export class KafkaDirectory implements Directory {
  readonly #entries = new Map<string, DirectoryEntry>();
  readonly #opts: { kafka: Kafka; topic: string; groupId: string; replicaId: string; url: string; log: Logger };
  #reader: TableReader | undefined;
  #producer: Producer | undefined;

  constructor(opts: { kafka: Kafka; topic: string; groupId: string; replicaId: string; url: string; log: Logger }) {
    this.#opts = opts;
  }

  async start(): Promise<void> {
    const { kafka, topic, groupId, replicaId, log } = this.#opts;
    this.#producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await this.#producer.connect();
    this.#reader = new TableReader({
      kafka,
      topic,
      groupId: `${groupId}.directory.${replicaId}`,
      log,
      onRecords: (records) => {
        for (const r of records) {
          if (r.key === null) continue;
          if (r.value === null) {
            this.#entries.delete(r.key.toString('utf8'));
            continue;
          }
          try {
            const entry = JSON.parse(r.value.toString('utf8')) as DirectoryEntry;
            if (typeof entry.url === 'string' && Array.isArray(entry.partitions)) this.#entries.set(entry.replicaId, entry);
          } catch (err) {
            log.warn({ err: errorMessage(err) }, 'unreadable directory entry ignored');
          }
        }
      },
    });
    await this.#reader.start();
  }

  ownerOf(partition: number): DirectoryEntry | undefined {
    let best: DirectoryEntry | undefined;
    for (const e of this.#entries.values()) if (e.partitions.includes(partition) && (best === undefined || e.ts > best.ts)) best = e;
    return best;
  }

  async announce(partitions: readonly number[]): Promise<void> {
    const { topic, replicaId, url } = this.#opts;
    const entry: DirectoryEntry = { replicaId, url, partitions: [...partitions].sort((a, b) => a - b), ts: Date.now() };
    this.#entries.set(replicaId, entry);
    await this.#producer?.send({ topic, acks: -1, messages: [{ key: replicaId, value: JSON.stringify(entry) }] });
  }

  async stop(): Promise<void> {
    // A clean exit withdraws its claims at once instead of waiting for a newer one.
    await this.#producer?.send({ topic: this.#opts.topic, messages: [{ key: this.#opts.replicaId, value: null }] }).catch(() => undefined);
    await this.#producer?.disconnect().catch(() => undefined);
    await this.#reader?.stop();
  }
}

/** Embedded mode: one replica owns everything. */
export class LocalDirectory implements Directory {
  ownerOf(): DirectoryEntry | undefined {
    return undefined;
  }
  async announce(): Promise<void> {}
  async stop(): Promise<void> {}
}
