import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { Packr } from 'msgpackr';
import { partitionFor } from '../partitioner.js';
import type { HeaderValue, RawRecord } from '../record.js';

export interface AppendRecord {
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, string>;
  timestamp?: number;
  /** Forces a partition; otherwise the key decides, as Kafka's default partitioner does. */
  partition?: number;
}

interface StoredRecord {
  k: Buffer | null;
  v: Buffer | null;
  h: Record<string, string>;
  t: number;
}

type LogKey = [string, number, number];

const packr = new Packr({ useRecords: false });

/**
 * The embedded default's partitioned log: topics of a fixed partition count,
 * append-only, with offsets and committed positions, kept in an LMDB environment so
 * that a restarted `nudge run` resumes where it stopped, exactly as it would on Kafka.
 */
export class EmbeddedLog extends EventEmitter {
  readonly #root: RootDatabase;
  readonly #records: Database<Buffer, LogKey>;
  readonly #meta: Database<number, (string | number)[]>;
  readonly #partitions = new Map<string, number>();
  readonly #ends = new Map<string, number>();
  readonly #now: () => number;

  constructor(dir: string, options: { now?: () => number } = {}) {
    super();
    this.setMaxListeners(0);
    mkdirSync(dir, { recursive: true });
    this.#root = open({ path: join(dir, 'log.mdb'), noSync: true, compression: false });
    this.#records = this.#root.openDB<Buffer, LogKey>({ name: 'records', encoding: 'binary' });
    this.#meta = this.#root.openDB<number, (string | number)[]>({ name: 'meta', encoding: 'msgpack' });
    // Appends are stamped with the log's clock, as a broker stamps LogAppendTime.
    this.#now = options.now ?? (() => Date.now());
    for (const { key, value } of this.#meta.getRange({ start: ['partitions'], end: ['partitions', '\uffff'] })) {
      this.#partitions.set(key[1] as string, value);
    }
    for (const { key, value } of this.#meta.getRange({ start: ['end'], end: ['end', '\uffff'] })) {
      this.#ends.set(`${key[1] as string}/${key[2] as number}`, value);
    }
  }

  /** Creates a topic, or checks that an existing one has the same partition count. */
  createTopic(topic: string, partitions: number): void {
    const existing = this.#partitions.get(topic);
    if (existing !== undefined) {
      if (existing !== partitions) throw new Error(`embedded topic ${topic} has ${existing} partitions, not ${partitions}`);
      return;
    }
    this.#meta.putSync(['partitions', topic], partitions);
    this.#partitions.set(topic, partitions);
  }

  partitions(topic: string): number | undefined {
    return this.#partitions.get(topic);
  }

  topics(): string[] {
    return [...this.#partitions.keys()];
  }

  end(topic: string, partition: number): number {
    return this.#ends.get(`${topic}/${partition}`) ?? 0;
  }

  /** Appends records atomically; returns each record's [partition, offset]. */
  append(topic: string, records: readonly AppendRecord[]): Array<[number, number]> {
    const touched = new Set<string>();
    const placed = this.#root.transactionSync(() => this.#appendInTxn(topic, records, touched));
    this.#announce(touched);
    return placed;
  }

  #appendInTxn(topic: string, records: readonly AppendRecord[], touched: Set<string>): Array<[number, number]> {
    const count = this.#partitions.get(topic);
    if (count === undefined) throw new Error(`embedded topic ${topic} does not exist`);
    const placed: Array<[number, number]> = [];
    for (const r of records) {
      const key = r.key === null ? null : Buffer.isBuffer(r.key) ? r.key : Buffer.from(r.key, 'utf8');
      const value = r.value === null ? null : Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value, 'utf8');
      const partition = r.partition ?? partitionFor(key, count);
      const id = `${topic}/${partition}`;
      const offset = this.#ends.get(id) ?? 0;
      const stored: StoredRecord = { k: key, v: value, h: r.headers ?? {}, t: r.timestamp ?? this.#now() };
      void this.#records.put([topic, partition, offset], packr.pack(stored));
      this.#ends.set(id, offset + 1);
      placed.push([partition, offset]);
      touched.add(id);
    }
    // One end marker per partition per transaction, not per record.
    for (const id of touched) {
      const slash = id.lastIndexOf('/');
      if (id.slice(0, slash) === topic) void this.#meta.put(['end', topic, Number(id.slice(slash + 1))], this.#ends.get(id) as number);
    }
    return placed;
  }

  // Listeners hear of new records only after the transaction holding them has committed.
  #announce(touched: Set<string>): void {
    for (const id of touched) {
      const slash = id.lastIndexOf('/');
      this.emit('append', id.slice(0, slash), Number(id.slice(slash + 1)));
    }
  }

  /** Up to `max` records of one partition from `from` on. */
  read(topic: string, partition: number, from: number, max: number): RawRecord[] {
    const out: RawRecord[] = [];
    const end = Math.min(this.end(topic, partition), from + max);
    for (const { key, value } of this.#records.getRange({ start: [topic, partition, from], end: [topic, partition, end] })) {
      const r = packr.unpack(value) as StoredRecord;
      const headers: Record<string, HeaderValue> = {};
      for (const [name, v] of Object.entries(r.h)) headers[name] = v;
      out.push({ topic, partition, offset: key[2], key: r.k, value: r.v, headers, timestamp: r.t });
    }
    return out;
  }

  committed(group: string, topic: string, partition: number): number | undefined {
    return this.#meta.get(['committed', group, topic, partition]);
  }

  /** Output records and consumed offsets in one transaction: the embedded equivalent of a Kafka transaction. */
  commit(group: string, outputs: ReadonlyArray<{ topic: string; record: AppendRecord }>, offsets: Record<string, [number, number]>): void {
    const byTopic = new Map<string, AppendRecord[]>();
    for (const o of outputs) {
      const list = byTopic.get(o.topic) ?? [];
      list.push(o.record);
      byTopic.set(o.topic, list);
    }
    const touched = new Set<string>();
    this.#root.transactionSync(() => {
      for (const [topic, records] of byTopic) this.#appendInTxn(topic, records, touched);
      for (const [topic, [partition, offset]] of Object.entries(offsets)) void this.#meta.put(['committed', group, topic, partition], offset);
    });
    this.#announce(touched);
  }

  async close(): Promise<void> {
    this.removeAllListeners();
    await this.#root.close();
  }
}
