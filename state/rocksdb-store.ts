import { mkdirSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { PartitionError } from '../errors/index.js';
import type { BytesStore, KeyRange, WriteOp } from './bytes-store.js';

/*
 * Why this binding: the npm `rocksdb` package (Level) was discontinued on 2024-12-01
 * (Level/community#141). `@nxtedition/rocksdb` is a maintained fork (RocksDB 9.7 inside)
 * with a prebuilt linux-x64 binary, so its install script (node-gyp-build) is not needed.
 * It ships no TypeScript types and its README is still Level's, so the surface we use is
 * declared below from its index.js / iterator.js / binding.cc (checked against 12.2.12).
 */
const require = createRequire(import.meta.url);

/** Range options exactly as the binding reads them: a missing bound must be absent, not undefined. */
interface RocksIteratorOptions {
  gte?: Buffer;
  lt?: Buffer;
  reverse: boolean;
  limit: number;
  keyEncoding: 'buffer';
  valueEncoding: 'buffer';
}

interface RocksIterator {
  nextv(size: number): Promise<Array<[Buffer, Buffer]>>;
  close(): Promise<void>;
}

interface RocksChainedBatch {
  put(key: Buffer, value: Buffer): RocksChainedBatch;
  del(key: Buffer): RocksChainedBatch;
  write(options: { sync: boolean }): Promise<void>;
  close(): Promise<void>;
}

interface RocksLevel {
  readonly status: 'opening' | 'open' | 'closing' | 'closed';
  open(options: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
  batch(): RocksChainedBatch;
  getMany(keys: Buffer[], options: { keyEncoding: 'buffer'; valueEncoding: 'buffer' }): Promise<Array<Buffer | undefined>>;
  /**
   * The fork's synchronous MultiGet (abstract-level 1 has no sync get). It bypasses
   * abstract-level's status checks and encodings: only call it on an open db, with Buffers.
   * Returns fresh copies (napi_create_buffer_copy), `undefined` for a missing key.
   */
  _getManySync?(keys: Buffer[], options: { valueEncoding: 'buffer' }): Array<Buffer | undefined | null>;
  iterator(options: RocksIteratorOptions): RocksIterator;
  getProperty(name: string): string;
}

const { RocksLevel } = require('@nxtedition/rocksdb') as {
  RocksLevel: new (location: string, options: { keyEncoding: 'buffer'; valueEncoding: 'buffer' }) => RocksLevel;
};

export interface RocksDbOptions {
  /** Fsync the WAL on each commit. Off by default: a killed process loses nothing (the WAL is in the OS cache). */
  fsync?: boolean;
  partition?: number;
}

const MiB = 1024 * 1024;

/** Rows fetched per native call while scanning: one thread-pool hop per this many entries. */
const SCAN_CHUNK = 1000;

/**
 * Engine options for one partition's store of many small values, several partitions per process.
 * Names are the binding's (binding.cc InitOptions / db_open); unset ones keep its defaults.
 */
const ENGINE_OPTIONS = {
  createIfMissing: true,
  errorIfExists: false,
  // Bounded memtables: the binding's 'level' preset makes 4 × 8 MiB write buffers of a 32 MiB budget (RocksDB's default is 2 × 64 MiB per db).
  compaction: 'level',
  memtableMemoryBudget: 32 * MiB,
  // 'level' leaves L0/L1 uncompressed (hot, rewritten often) and ZSTD-compresses L2+, where most bytes of a big store end up.
  compression: true,
  // A modest per-partition block cache: decoded hot values already sit in the ReadCache above this store.
  cacheSize: 16 * MiB,
  // Point-lookup tuning (hash index in data blocks, ribbon filter, memtable bloom): every record does get-before-put.
  optimize: 'point-lookup',
  // Small msgpack values compress poorly one batch at a time: skip the per-write ZSTD cost on the WAL.
  walCompression: false,
  // infoLogLevel stays unset on purpose: the binding then installs a null logger, so no LOG files pile up per partition.
} as const;

/** RocksDB engine: one database (one directory) per partition. */
export class RocksDbStore implements BytesStore {
  readonly backend = 'rocksdb' as const;
  readonly path: string;
  readonly #db: RocksLevel;
  readonly #sync: boolean;
  readonly #partition: number;
  #closing: Promise<void> | undefined;

  private constructor(path: string, db: RocksLevel, sync: boolean, partition: number) {
    this.path = path;
    this.#db = db;
    this.#sync = sync;
    this.#partition = partition;
  }

  static async open(dir: string, options: RocksDbOptions = {}): Promise<RocksDbStore> {
    const partition = options.partition ?? -1;
    let db: RocksLevel | undefined;
    try {
      mkdirSync(dir, { recursive: true });
      // Raw bytes both ways: the layers above own encoding, and binary keys keep unsigned byte order
      // (RocksDB's default bytewise comparator). 'buffer' is also the binding's native format: no transcoding.
      db = new RocksLevel(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
      await db.open(ENGINE_OPTIONS);
    } catch (err) {
      // A failed open leaves the handle in 'closed': nothing to release. abstract-level wraps the engine's
      // reason (e.g. "lock hold by current process" for a directory already open) as LEVEL_DATABASE_NOT_OPEN,
      // so the innermost message is lifted into ours; the whole chain stays in `cause`.
      throw new PartitionError('NUDGE_ERR_STATE', `cannot open RocksDB store in ${dir}: ${rootMessage(err)}`, partition, undefined, { cause: err });
    }
    return new RocksDbStore(dir, db, options.fsync === true, partition);
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    this.#assertOpen();
    const keys = [toBuffer(key)];
    // The sync MultiGet answers from the memtable/block cache in microseconds; the async one pays a
    // thread-pool round trip per call, which dominates a get-before-put loop (see the report).
    const [value] = this.#db._getManySync !== undefined ? this.#db._getManySync(keys, { valueEncoding: 'buffer' }) : await this.#db.getMany(keys, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    // null would mean a timed-out or aborted read: we never set a deadline, so it is a bug, not absence.
    if (value === null) throw new PartitionError('NUDGE_ERR_STATE', `read in ${this.path} was aborted`, this.#partition);
    // The binding copies every value into a fresh Buffer (an empty value is a zero-length one): safe to hand out.
    return value;
  }

  async *range(range: KeyRange = {}): AsyncIterable<[Uint8Array, Uint8Array]> {
    this.#assertOpen();
    const limit = range.limit ?? Number.POSITIVE_INFINITY;
    if (limit <= 0) return;
    // The binding keeps only one bound per side (gte over gt, lte over lt): fold all four into the
    // tightest [lower inclusive, upper exclusive) pair. gt k ≡ gte k+0x00 and lte k ≡ lt k+0x00 in byte order.
    const lower = maxBound(range.gte, range.gt === undefined ? undefined : successor(range.gt));
    const upper = minBound(range.lt, range.lte === undefined ? undefined : successor(range.lte));
    if (lower !== undefined && upper !== undefined && Buffer.compare(lower, upper) >= 0) return;
    const iterator = this.#db.iterator({
      ...(lower !== undefined ? { gte: lower } : {}),
      ...(upper !== undefined ? { lt: upper } : {}),
      reverse: range.reverse === true,
      // The binding's limit is an int32 where -1 means none.
      limit: Number.isFinite(limit) && limit <= 0x7fffffff ? limit : -1,
      keyEncoding: 'buffer',
      valueEncoding: 'buffer',
    });
    let remaining = limit;
    try {
      for (;;) {
        let chunk: Array<[Buffer, Buffer]>;
        try {
          chunk = await iterator.nextv(Math.min(SCAN_CHUNK, remaining));
        } catch (err) {
          // close() closes open iterators first (abstract-level), so a scan cut short by it fails with
          // LEVEL_ITERATOR_NOT_OPEN: report it as the store being closed, like every other operation.
          if (this.#closing !== undefined) throw new PartitionError('NUDGE_ERR_CLOSED', `store ${this.path} was closed during a scan`, this.#partition, undefined, { cause: err });
          throw err;
        }
        if (chunk.length === 0) return;
        // Keys and values are fresh copies per chunk, so yielding them as they are is safe.
        for (const entry of chunk) {
          yield entry;
          if (--remaining <= 0) return;
        }
      }
    } finally {
      // Also on an early break by the consumer: an open iterator pins a RocksDB version and delays close().
      await iterator.close();
    }
  }

  async write(ops: readonly WriteOp[]): Promise<void> {
    this.#assertOpen();
    if (ops.length === 0) return;
    // One RocksDB WriteBatch: applied atomically (one WAL record) and in order, so the last op on a key wins.
    // The binding copies keys and values into the batch as they are added.
    const batch = this.#db.batch();
    try {
      for (const op of ops) {
        if (op.type === 'put') batch.put(toBuffer(op.key), toBuffer(op.value));
        else batch.del(toBuffer(op.key));
      }
    } catch (err) {
      await batch.close();
      throw err;
    }
    // sync: fsync the WAL before resolving. Without it the WAL write still reaches the OS before resolving.
    await batch.write({ sync: this.#sync });
  }

  /** Every file in the directory: SSTs, the WAL (where fresh writes live until a flush), MANIFEST and OPTIONS. */
  async sizeOnDisk(): Promise<number> {
    let total = 0;
    let names: string[];
    try {
      names = await readdir(this.path);
    } catch {
      return 0;
    }
    for (const name of names) {
      try {
        const s = await stat(join(this.path, name));
        if (s.isFile()) total += s.size;
      } catch {
        // A compaction or WAL rotation removed it between readdir and stat.
      }
    }
    return total;
  }

  /** RocksDB's own estimate of the live data in SST files (memtables excluded; 0 before the first flush). */
  estimatedLiveBytes(): number {
    this.#assertOpen();
    return Number(this.#db.getProperty('rocksdb.estimate-live-data-size')) || 0;
  }

  close(): Promise<void> {
    // Concurrent and repeated closes share one close of the engine (abstract-level waits for open iterators).
    this.#closing ??= this.#db.close();
    return this.#closing;
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) throw new PartitionError('NUDGE_ERR_CLOSED', `store ${this.path} is closed`, this.#partition);
  }
}

function rootMessage(err: unknown): string {
  let current = err;
  for (let depth = 0; depth < 8 && current instanceof Error && current.cause !== undefined; depth++) current = current.cause;
  return current instanceof Error ? current.message : String(current);
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The smallest key above `key` in byte order: `key` followed by 0x00. */
function successor(key: Uint8Array): Buffer {
  const out = Buffer.alloc(key.byteLength + 1);
  out.set(key);
  return out;
}

function maxBound(a: Uint8Array | undefined, b: Uint8Array | undefined): Buffer | undefined {
  if (a === undefined) return b === undefined ? undefined : toBuffer(b);
  if (b === undefined) return toBuffer(a);
  return Buffer.compare(a, b) >= 0 ? toBuffer(a) : toBuffer(b);
}

function minBound(a: Uint8Array | undefined, b: Uint8Array | undefined): Buffer | undefined {
  if (a === undefined) return b === undefined ? undefined : toBuffer(b);
  if (b === undefined) return toBuffer(a);
  return Buffer.compare(a, b) <= 0 ? toBuffer(a) : toBuffer(b);
}
