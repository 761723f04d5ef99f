import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { Packr } from 'msgpackr';
import { ErrorCodes, NudgeError } from '../../errors/index.js';
import { partitionFor } from '../partitioner.js';
import type { RawRecord } from '../record.js';

export interface AppendRecord {
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, string>;
  timestamp?: number;
  /** Forces a partition; otherwise the key decides, as Kafka's default partitioner does. */
  partition?: number;
}

/** A record as a log written one record per entry (before batches) stored it. */
interface StoredRecord {
  k: Buffer | null;
  v: Buffer | null;
  h: Record<string, string>;
  t: number;
}

type LogKey = [string, number, number];

type BatchItem = Buffer | null | Record<string, string> | 0 | number;

/** A batch being filled by an append: its first offset and its items, four a record. */
interface OpenBatch {
  base: number;
  items: BatchItem[];
  bytes: number;
  /** The previous record's headers. */
  headers: Record<string, string> | undefined;
}

function sameHeaders(a: Record<string, string>, b: Record<string, string> | undefined): boolean {
  if (a === b) return true;
  if (b === undefined) return false;
  let n = 0;
  for (const name in a) {
    if (a[name] !== b[name] || !Object.hasOwn(b, name)) return false;
    n++;
  }
  for (const _ in b) n--;
  return n === 0;
}

const packr = new Packr({ useRecords: false });

/*
 * Records are kept in batches, one LMDB entry for up to BATCH_RECORDS consecutive records of
 * a partition (or BATCH_BYTES of keys and values), keyed by the first one's offset, as Kafka
 * keeps record batches with a base offset. An entry per record cost a B-tree insert and a
 * cursor step each: at the demo's load, half of what appending and reading a record costs.
 * A read from the middle of a batch unpacks the whole batch, so batches stay small against
 * a consumer's usual read (maxBatchRecords, 1,000 by default).
 *
 * A batch is one flat array, four items a record: key, value, headers and timestamp, with
 * headers 0 when they equal the previous record's. Maps of field names for every record took
 * twice as long to pack, and a producer's records nearly always carry the same headers.
 */
const BATCH_RECORDS = 256;

const BATCH_BYTES = 256 * 1024;

/**
 * The on-disk format this build writes, kept in the log's meta as ['format']: 2 is batches of
 * four items a record. Format 1 (an entry per record) is still read, and a log written before
 * the marker existed (either) gets it when opened. A log of a later format is refused, with
 * what to do, rather than misread by a build that predates it.
 */
export const EMBEDDED_LOG_FORMAT = 2;

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
    const format = this.#meta.get(['format']);
    if (format === undefined) this.#meta.putSync(['format'], EMBEDDED_LOG_FORMAT);
    else if (!(Number.isInteger(format) && format >= 1 && format <= EMBEDDED_LOG_FORMAT)) {
      void this.#root.close();
      throw new NudgeError(
        ErrorCodes.STATE,
        `the embedded log in ${dir} has format ${String(format)}, and this nudge reads formats 1 to ${EMBEDDED_LOG_FORMAT}: run the nudge that wrote it, or move the directory aside to start an empty log`,
      );
    }
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

  /**
   * A partition's end as stored, read in the caller's write transaction. Another process may
   * have appended since this one last looked (`nudge produce` beside a running `nudge run`);
   * LMDB serialises write transactions across processes, so inside one this is the true end,
   * and appending from the cached end would overwrite that process's records.
   */
  #storedEnd(topic: string, partition: number): number {
    return Math.max(this.end(topic, partition), this.#meta.get(['end', topic, partition]) ?? 0);
  }

  /**
   * Picks up what other processes appended (LMDB is shared between processes): partitions whose
   * stored end moved past this log's are advanced, and 'append' is emitted for them as for an
   * append of this process. Cheap (two range reads of the meta); the embedded engine calls it
   * four times a second.
   */
  refresh(): void {
    const moved = new Map<string, number>();
    for (const { key, value } of this.#meta.getRange({ start: ['end'], end: ['end', '\uffff'] })) {
      const id = `${key[1] as string}/${key[2] as number}`;
      if (value > (this.#ends.get(id) ?? 0)) moved.set(id, value);
    }
    for (const { key, value } of this.#meta.getRange({ start: ['partitions'], end: ['partitions', '\uffff'] })) {
      if (!this.#partitions.has(key[1] as string)) this.#partitions.set(key[1] as string, value);
    }
    if (moved.size > 0) this.#advance(moved);
  }

  /** Appends records atomically; returns each record's [partition, offset]. */
  append(topic: string, records: readonly AppendRecord[]): Array<[number, number]> {
    const ends = new Map<string, number>();
    const placed = this.#root.transactionSync(() => this.#appendInTxn(topic, records, ends));
    this.#advance(ends);
    return placed;
  }

  /**
   * Writes the records in the caller's transaction. The partitions' new ends go to `ends`, not
   * to the log's: they become its ends (#advance) only once the transaction has committed, so
   * an append that throws half-way leaves no offset taken that holds no record.
   */
  #appendInTxn(topic: string, records: readonly AppendRecord[], ends: Map<string, number>): Array<[number, number]> {
    const count = this.#partitions.get(topic);
    if (count === undefined) throw new Error(`embedded topic ${topic} does not exist`);
    const placed: Array<[number, number]> = [];
    // One timestamp for the whole append, as a broker stamps a produce request's batch.
    const now = this.#now();
    // Each touched partition's next offset, kept by number here: a partition's key string is
    // made once per append, not per record.
    const next = new Map<number, number>();
    const pending = new Map<number, OpenBatch>();
    const flush = (partition: number, open: OpenBatch) => {
      void this.#records.put([topic, partition, open.base], packr.pack(open.items));
    };
    for (const r of records) {
      const key = r.key === null ? null : Buffer.isBuffer(r.key) ? r.key : Buffer.from(r.key, 'utf8');
      const value = r.value === null ? null : Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value, 'utf8');
      const partition = r.partition ?? partitionFor(key, count);
      const offset = next.get(partition) ?? ends.get(`${topic}/${partition}`) ?? this.#storedEnd(topic, partition);
      let open = pending.get(partition);
      if (open === undefined) {
        open = { base: offset, items: [], bytes: 0, headers: undefined };
        pending.set(partition, open);
      }
      const headers = r.headers ?? {};
      open.items.push(key, value, sameHeaders(headers, open.headers) ? 0 : headers, r.timestamp ?? now);
      open.headers = headers;
      open.bytes += (key?.length ?? 0) + (value?.length ?? 0);
      if (open.items.length >= 4 * BATCH_RECORDS || open.bytes >= BATCH_BYTES) {
        flush(partition, open);
        pending.delete(partition);
      }
      next.set(partition, offset + 1);
      placed.push([partition, offset]);
    }
    for (const [partition, open] of pending) flush(partition, open);
    // One end marker per partition per transaction, not per record.
    for (const [partition, end] of next) {
      ends.set(`${topic}/${partition}`, end);
      void this.#meta.put(['end', topic, partition], end);
    }
    return placed;
  }

  // The committed transaction's ends become the log's; only then do listeners hear of the records.
  #advance(ends: ReadonlyMap<string, number>): void {
    for (const [id, end] of ends) this.#ends.set(id, end);
    for (const id of ends.keys()) {
      const slash = id.lastIndexOf('/');
      this.emit('append', id.slice(0, slash), Number(id.slice(slash + 1)));
    }
  }

  /**
   * Up to `max` records of one partition from `from` on. A record's key and value are views
   * into its batch's bytes: a caller that keeps a record long after reading it should copy them
   * (Buffer.from), or it keeps the whole batch in memory.
   */
  read(topic: string, partition: number, from: number, max: number): RawRecord[] {
    const out: RawRecord[] = [];
    const end = Math.min(this.end(topic, partition), from + max);
    if (end <= from) return out;
    // The batch holding `from` starts at it or before: the last key at or below it.
    let base = from;
    for (const key of this.#records.getKeys({ start: [topic, partition, from], end: [topic, partition], reverse: true, limit: 1 })) base = key[2];
    for (const { key, value } of this.#records.getRange({ start: [topic, partition, base], end: [topic, partition, end] })) {
      const stored = packr.unpack(value) as StoredRecord | BatchItem[];
      if (!Array.isArray(stored)) {
        // A log written before batches holds one record per key.
        const offset = key[2];
        if (offset >= from && offset < end) out.push({ topic, partition, offset, key: stored.k, value: stored.v, headers: { ...stored.h }, timestamp: stored.t });
        continue;
      }
      let headers: Record<string, string> = {};
      for (let i = 0, offset = key[2]; i + 3 < stored.length && offset < end; i += 4, offset++) {
        const h = stored[i + 2];
        if (h !== 0) headers = h as Record<string, string>;
        if (offset < from) continue;
        out.push({ topic, partition, offset, key: stored[i] as Buffer | null, value: stored[i + 1] as Buffer | null, headers: { ...headers }, timestamp: stored[i + 3] as number });
      }
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
    const ends = new Map<string, number>();
    this.#root.transactionSync(() => {
      for (const [topic, records] of byTopic) this.#appendInTxn(topic, records, ends);
      for (const [topic, [partition, offset]] of Object.entries(offsets)) void this.#meta.put(['committed', group, topic, partition], offset);
    });
    this.#advance(ends);
  }

  async close(): Promise<void> {
    this.removeAllListeners();
    await this.#root.close();
  }
}
