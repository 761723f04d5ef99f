import { statSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { Packr } from 'msgpackr';
import { writeKey } from 'ordered-binary';
import { COUNTS_STORE, type UserCount } from '../operators/user-counter.js';
import { partitionFor } from '../processor/partitioner.js';
import type { BenchEvents } from './events.js';
import { rate } from './measure.js';

export interface RawLmdbResult {
  elapsedMs: number;
  /** Sum of every user's count after the run: must equal the events, or the reference did not do the work. */
  counted: number;
  users: number;
  opsPerSec: number;
  transactions: number;
  fileBytes: number;
  usedBytes: number;
}

/*
 * Same value codec settings as state/value-codec.ts, but our own instance: the reference
 * is "what LMDB and msgpack can do", and must not speed up or slow down with the runtime.
 */
const packr = new Packr({ useRecords: false, moreTypes: false, int64AsType: 'number', mapsAsObjects: true });

/**
 * The floor under the embedded figure: the same read-modify-write per event, on the
 * same key and value encodings, in one LMDB environment per partition opened as
 * LmdbStore opens it, one `transactionSync` per batch of `batchRecords` events of one
 * partition. No JSON, no validation, no read cache, no pending-write buffer, no
 * outputs, no log: what remains between the two figures is the runtime's own cost.
 */
export async function runRawLmdb(events: BenchEvents, partitions: number, batchRecords: number, dir: string): Promise<RawLmdbResult> {
  const count = events.keys.length;
  // Route events as the log does (Kafka's partitioner on the key), keeping each partition's order.
  const byPartition: number[][] = Array.from({ length: partitions }, () => []);
  for (let i = 0; i < count; i++) (byPartition[partitionFor(events.keys[i] as string, partitions)] as number[]).push(i);

  const envs: Array<{ root: RootDatabase<Buffer, Buffer>; db: Database<Buffer, Buffer> }> = [];
  try {
    for (let p = 0; p < partitions; p++) {
      const root = open<Buffer, Buffer>({
        path: join(dir, `p${p}`, 'data.mdb'),
        keyEncoding: 'binary',
        encoding: 'binary',
        noSync: true,
        mapSize: 4096 * 1024 * 1024,
        compression: false,
      });
      envs.push({ root, db: root.openDB<Buffer, Buffer>({ name: 'kv', keyEncoding: 'binary', encoding: 'binary' }) });
    }

    // Batches are taken round-robin over partitions, as the engine's per-partition loops interleave.
    const cursors = new Array<number>(partitions).fill(0);
    let transactions = 0;
    const t0 = performance.now();
    for (let remaining = count; remaining > 0; ) {
      for (let p = 0; p < partitions; p++) {
        const list = byPartition[p] as number[];
        const from = cursors[p] as number;
        if (from >= list.length) continue;
        const to = Math.min(list.length, from + batchRecords);
        cursors[p] = to;
        remaining -= to - from;
        const { db } = envs[p] as { db: Database<Buffer, Buffer> };
        db.transactionSync(() => {
          for (let j = from; j < to; j++) {
            const i = list[j] as number;
            const key = storeKey(events.keys[i] as string);
            // getBinary is a view into a reused buffer: decode it before the next read.
            const bytes = db.getBinary(key);
            const type = events.types[events.type[i] as number] as string;
            const ts = events.ts[i] as number;
            const c: UserCount = bytes === undefined ? { n: 0, byType: {}, first: ts, last: ts } : (packr.unpack(bytes) as UserCount);
            c.n++;
            c.byType[type] = (c.byType[type] ?? 0) + 1;
            c.last = Math.max(c.last, ts);
            void db.put(key, packr.pack(c));
          }
        });
        transactions++;
      }
    }
    const elapsedMs = performance.now() - t0;

    let counted = 0;
    let users = 0;
    for (const { db } of envs) {
      for (const { value } of db.getRange()) {
        counted += (packr.unpack(value) as UserCount).n;
        users++;
      }
    }
    let usedBytes = 0;
    for (const { root, db } of envs) {
      const s = db.getStats() as { treeBranchPageCount: number; treeLeafPageCount: number; overflowPages: number };
      const pageSize = (root.getStats() as { pageSize: number }).pageSize;
      usedBytes += pageSize * (s.treeBranchPageCount + s.treeLeafPageCount + s.overflowPages);
    }
    await Promise.all(envs.splice(0).map(({ root }) => root.close()));
    let fileBytes = 0;
    for (let p = 0; p < partitions; p++) fileBytes += statSync(join(dir, `p${p}`, 'data.mdb')).size;
    return { elapsedMs, counted, users, opsPerSec: rate(count, elapsedMs), transactions, fileBytes, usedBytes };
  } finally {
    await Promise.allSettled(envs.map(({ root }) => root.close()));
  }
}

const keyBuffer = Buffer.alloc(4096);

/**
 * The key the runtime writes for a user in the counts store: namespace byte, then
 * ordered-binary of [userId] (a one-element tuple encodes as its element). Written into
 * one reused buffer, as a tuned caller would: lmdb-js copies the key on every call, and
 * inside transactionSync a put is done before it returns.
 */
function storeKey(user: string): Buffer {
  keyBuffer[0] = COUNTS_STORE.namespace;
  const end = writeKey(user, keyBuffer, 1);
  return keyBuffer.subarray(0, end);
}
