import type { BytesStore, KeyRange, WriteOp } from './bytes-store.js';

/**
 * An LRU of committed bytes in front of an engine. It caches bytes, not decoded
 * objects, so a caller that mutates what it read can never corrupt the cache.
 * Absence is cached too: most lookups of a fresh user find nothing.
 */
export class ReadCache implements BytesStore {
  readonly #inner: BytesStore;
  readonly #capacity: number;
  // Map iteration order is insertion order: re-inserting on hit makes the first key the least recently used.
  readonly #entries = new Map<string, Uint8Array | null>();
  hits = 0;
  misses = 0;

  constructor(inner: BytesStore, capacity: number) {
    this.#inner = inner;
    this.#capacity = capacity;
  }

  get backend() {
    return this.#inner.backend;
  }
  get path() {
    return this.#inner.path;
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    if (this.#capacity === 0) return this.#inner.get(key);
    const id = cacheKey(key);
    const cached = this.#entries.get(id);
    if (cached !== undefined) {
      this.hits++;
      this.#entries.delete(id);
      this.#entries.set(id, cached);
      return cached ?? undefined;
    }
    this.misses++;
    const value = await this.#inner.get(key);
    this.#remember(id, value ?? null);
    return value;
  }

  range(range?: KeyRange): AsyncIterable<[Uint8Array, Uint8Array]> {
    return this.#inner.range(range);
  }

  async write(ops: readonly WriteOp[]): Promise<void> {
    await this.#inner.write(ops);
    if (this.#capacity === 0) return;
    for (const op of ops) this.#remember(cacheKey(op.key), op.type === 'put' ? op.value : null);
  }

  sizeOnDisk(): Promise<number> {
    return this.#inner.sizeOnDisk();
  }

  /** Forgets everything, e.g. after a restore wrote underneath the cache. */
  clear(): void {
    this.#entries.clear();
  }

  close(): Promise<void> {
    this.#entries.clear();
    return this.#inner.close();
  }

  #remember(id: string, value: Uint8Array | null): void {
    this.#entries.delete(id);
    this.#entries.set(id, value);
    if (this.#entries.size > this.#capacity) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
  }
}

/** latin1 maps every byte to one UTF-16 unit, so distinct keys never collide. */
export function cacheKey(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}
