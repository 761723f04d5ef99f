/**
 * The one interface a storage engine implements: ordered bytes in, bytes out.
 * Serialisation, caching, per-batch buffering and changelogging are layers above it,
 * so an engine never sees a typed value and the layers never see an engine.
 */
export interface KeyRange {
  gte?: Uint8Array;
  gt?: Uint8Array;
  lte?: Uint8Array;
  lt?: Uint8Array;
  reverse?: boolean;
  limit?: number;
}

export type WriteOp = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array };

export type BackendName = 'lmdb' | 'rocksdb';

export interface BytesStore {
  readonly backend: BackendName;
  readonly path: string;
  /** `undefined` when absent; an empty value is a present, zero-length value. */
  /** `id`: the key as a latin1 string (read-cache.ts cacheKey), when the caller has it; engines ignore it. */
  get(key: Uint8Array, id?: string): Promise<Uint8Array | undefined>;
  /** Ascending by unsigned byte order, or descending with `reverse`. */
  range(range?: KeyRange): AsyncIterable<[Uint8Array, Uint8Array]>;
  /** Applies every op, in order, atomically: all of them survive a crash or none do. */
  write(ops: readonly WriteOp[]): Promise<void>;
  /** Bytes the store occupies on disk (approximate for engines that compress). */
  sizeOnDisk(): Promise<number>;
  /** Idempotent. */
  close(): Promise<void>;
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

/** Whether `key` is inside `range`'s bounds (ignoring limit and direction). */
export function inRange(key: Uint8Array, range: KeyRange): boolean {
  if (range.gte !== undefined && compareBytes(key, range.gte) < 0) return false;
  if (range.gt !== undefined && compareBytes(key, range.gt) <= 0) return false;
  if (range.lte !== undefined && compareBytes(key, range.lte) > 0) return false;
  if (range.lt !== undefined && compareBytes(key, range.lt) >= 0) return false;
  return true;
}
