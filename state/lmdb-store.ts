import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { PartitionError } from '../errors/index.js';
import type { BytesStore, KeyRange, WriteOp } from './bytes-store.js';
import { retryBadTxn } from './lmdb-retry.js';

export interface LmdbOptions {
  /** Fsync each commit. Off by default: a killed process loses nothing (the pages are in the OS cache). */
  fsync?: boolean;
  mapSizeMb?: number;
  partition?: number;
}

/** LMDB engine: one environment (one directory) per partition. */
export class LmdbStore implements BytesStore {
  readonly backend = 'lmdb' as const;
  readonly path: string;
  readonly #root: RootDatabase<Buffer, Buffer>;
  readonly #db: Database<Buffer, Buffer>;
  #closed = false;

  private constructor(path: string, root: RootDatabase<Buffer, Buffer>, db: Database<Buffer, Buffer>) {
    this.path = path;
    this.#root = root;
    this.#db = db;
  }

  static open(dir: string, options: LmdbOptions = {}): LmdbStore {
    mkdirSync(dir, { recursive: true });
    try {
      const root = open<Buffer, Buffer>({
        path: join(dir, 'data.mdb'),
        // Raw bytes both ways: the layers above own encoding, and binary keys keep unsigned byte order.
        keyEncoding: 'binary',
        encoding: 'binary',
        noSync: options.fsync !== true,
        mapSize: (options.mapSizeMb ?? 4096) * 1024 * 1024,
        compression: false,
      });
      const db = root.openDB<Buffer, Buffer>({ name: 'kv', keyEncoding: 'binary', encoding: 'binary' });
      return new LmdbStore(dir, root, db);
    } catch (err) {
      throw new PartitionError('NUDGE_ERR_STATE', `cannot open LMDB store in ${dir}`, options.partition ?? -1, undefined, {
        cause: err,
      });
    }
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    this.#assertOpen();
    const value = this.#db.getBinary(toBuffer(key));
    // getBinary returns a view into a reused buffer: copy so that the caller may keep it.
    return value === undefined ? undefined : Uint8Array.prototype.slice.call(value);
  }

  async *range(range: KeyRange = {}): AsyncIterable<[Uint8Array, Uint8Array]> {
    this.#assertOpen();
    const reverse = range.reverse === true;
    // lmdb-js takes start (inclusive) and end (exclusive): only an exclusive bound may be its end;
    // an inclusive far bound (lte forward, gte in reverse) is enforced by the checks below.
    const start = reverse ? (range.lte ?? range.lt) : (range.gte ?? range.gt);
    const end = reverse ? range.gt : range.lt;
    let remaining = range.limit ?? Number.POSITIVE_INFINITY;
    if (remaining <= 0) return;
    const iterable = this.#db.getRange({
      ...(start !== undefined ? { start: toBuffer(start) } : {}),
      ...(end !== undefined ? { end: toBuffer(end) } : {}),
      reverse,
    });
    for (const { key, value } of iterable) {
      const k = key as Buffer;
      // Past the far bound the scan is over; short of the near bound a key is only skipped.
      const belowLow = (range.gt !== undefined && Buffer.compare(k, range.gt) <= 0) || (range.gte !== undefined && Buffer.compare(k, range.gte) < 0);
      const aboveHigh = (range.lt !== undefined && Buffer.compare(k, range.lt) >= 0) || (range.lte !== undefined && Buffer.compare(k, range.lte) > 0);
      if (reverse ? belowLow : aboveHigh) break;
      if (belowLow || aboveHigh) continue;
      yield [Uint8Array.prototype.slice.call(k), Uint8Array.prototype.slice.call(value as Buffer)];
      if (--remaining <= 0) return;
    }
  }

  async write(ops: readonly WriteOp[]): Promise<void> {
    this.#assertOpen();
    if (ops.length === 0) return;
    // One synchronous transaction: all ops or none, and no other writer can interleave. Retried
    // whole on lmdb-js's rare MDB_BAD_TXN commit failure (lmdb-retry.ts).
    retryBadTxn(() =>
      this.#db.transactionSync(() => {
        for (const op of ops) {
          if (op.type === 'put') void this.#db.put(toBuffer(op.key), toBuffer(op.value));
          else void this.#db.remove(toBuffer(op.key));
        }
      }),
    );
  }

  async sizeOnDisk(): Promise<number> {
    try {
      return statSync(join(this.path, 'data.mdb')).size;
    } catch {
      return 0;
    }
  }

  /** Bytes used by live pages, not the file's allocated size (LMDB files only grow). */
  usedBytes(): number {
    const stat = this.#root.getStats() as { pageSize: number; treeBranchPageCount?: number; treeLeafPageCount?: number; overflowPages?: number };
    const db = this.#db.getStats() as { pageSize: number; treeBranchPageCount: number; treeLeafPageCount: number; overflowPages: number };
    return stat.pageSize * (db.treeBranchPageCount + db.treeLeafPageCount + db.overflowPages);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#root.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new PartitionError('NUDGE_ERR_CLOSED', `store ${this.path} is closed`, -1);
  }
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
