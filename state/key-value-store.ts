import type { KeyRange } from './bytes-store.js';
import { decodeKey, encodeKey, isEncodableKeyPart, prefixBounds, type KeyTuple } from './key-codec.js';
import type { PendingWrites } from './pending-writes.js';
import { cacheKey } from './read-cache.js';
import { decodeValue, encodeValue } from './value-codec.js';

/** Maps a store's values to and from what is encoded (e.g. a compact positional form). */
export interface StoreCodec<V> {
  encode(value: V): unknown;
  decode(stored: unknown, key: KeyTuple): V;
  /**
   * decode(encode(value)), done more cheaply, for write-behind; may change `value`. Without
   * it a write-behind store runs the codec both ways on each put.
   */
  canonical?(value: V, key: KeyTuple): V;
}

export interface ScanOptions {
  /** Tuple prefix: every key starting with these elements. */
  prefix?: KeyTuple;
  gte?: KeyTuple;
  lt?: KeyTuple;
  reverse?: boolean;
  limit?: number;
}

/**
 * A typed view of one logical store of a partition. Reads see the batch's own writes;
 * writes are buffered until the batch commits. Every `get` decodes afresh, so callers
 * may mutate what they read and put it back.
 *
 * Write-behind (a store declared with `writeBehind`, while the partition holds writes):
 * a put keeps the value as an object, and a later get of that key in the same batch returns
 * that object; it becomes bytes once, when the batch commits or the store is scanned. A
 * user's state takes one put per event, a dozen per user in a batch of a busy topic: this
 * spares all but one MessagePack pack and unpack of each, and the batch's byte buffers.
 * Kafka Streams' record cache does the same in front of RocksDB.
 * - A get of a held value returns the codec's round trip of what was put (`decode(encode(v))`),
 *   not `v`: a lossy codec (the user codec rounds counts and times) then leaves the state
 *   exactly as if it had been stored and read back after each put, so the state never depends
 *   on where batches happen to start and end (a replay after a crash cuts them elsewhere).
 * - A failed record cannot be undone alone (held objects may have been changed in place), so
 *   the partition task runs such a batch again without holding (PartitionTask.processRecords).
 * - A caller that changes what it read must put it back: the change is not dropped as it
 *   would be without holding. And a value put belongs to the store: changing it after the put
 *   changes what is stored.
 */
export class KeyValueStore<V> {
  readonly name: string;
  readonly #namespace: number;
  readonly #writes: PendingWrites;
  readonly #codec: StoreCodec<V> | undefined;
  readonly #writeBehind: boolean;
  /** Values put while holding, by key id; undefined while not holding. */
  #held: Map<string, { key: Uint8Array; tuple: KeyTuple; value: V; canonical: boolean }> | undefined;
  #readView: KeyValueStore<V> | undefined;

  constructor(name: string, namespace: number, writes: PendingWrites, codec?: StoreCodec<V>, options: { writeBehind?: boolean } = {}) {
    this.name = name;
    this.#namespace = namespace;
    this.#writes = writes;
    this.#codec = codec;
    this.#writeBehind = options.writeBehind === true;
  }

  async get(key: KeyTuple): Promise<V | undefined> {
    const k = this.#key(key);
    const held = this.#held;
    if (held === undefined) {
      const bytes = await this.#writes.get(k);
      return bytes === undefined ? undefined : this.#decode(bytes, key);
    }
    const id = cacheKey(k);
    if (held.size > 0) {
      const h = held.get(id);
      if (h !== undefined) {
        // Made what a store round trip leaves only now, when it is read again: a value put
        // once in the batch (most, when a batch seldom holds a key twice) is just encoded
        // at the flush, as without write-behind, and reads back as that same round trip
        // (test/state-write-behind.test.ts).
        if (!h.canonical) {
          h.value = this.#roundTrip(h.value, h.tuple);
          h.canonical = true;
        }
        return h.value;
      }
    }
    const bytes = await this.#writes.get(k, id);
    return bytes === undefined ? undefined : this.#decode(bytes, key);
  }

  put(key: KeyTuple, value: V): void {
    const k = this.#key(key);
    if (this.#held !== undefined) {
      this.#held.set(cacheKey(k), { key: k, tuple: key, value, canonical: false });
      this.#writes.touch(this.#namespace);
    } else this.#writes.put(k, this.#encode(value));
  }

  /** Changes whenever what this store's reads see may have changed (PendingWrites.stamp). */
  get stamp(): number {
    return this.#writes.stamp(this.#namespace);
  }

  /** Starts holding puts (write-behind stores only); returns whether it did. */
  hold(): boolean {
    if (!this.#writeBehind) return false;
    this.#held ??= new Map();
    return true;
  }

  /** Values put since `hold` and not yet encoded. */
  get heldCount(): number {
    return this.#held?.size ?? 0;
  }

  /** Encodes what is held into the batch's writes; holding goes on unless `stop`. */
  flush(stop = false): void {
    const held = this.#held;
    if (held !== undefined) {
      for (const [id, h] of held) this.#writes.put(h.key, this.#encode(h.value), id);
      held.clear();
    }
    if (stop) this.#held = undefined;
  }

  /** Forgets what is held, unencoded (the batch is being thrown away), and stops holding. */
  dropHeld(): void {
    if (this.#held !== undefined && this.#held.size > 0) this.#writes.touch(this.#namespace);
    this.#held = undefined;
  }

  /**
   * The same store without write-behind, reading only encoded bytes: for queries that run
   * beside a batch, which must never share (or see half-changed) the batch's objects.
   */
  readView(): KeyValueStore<V> {
    if (!this.#writeBehind) return this;
    this.#readView ??= new KeyValueStore<V>(this.name, this.#namespace, this.#writes, this.#codec);
    return this.#readView;
  }

  #roundTrip(value: V, key: KeyTuple): V {
    const codec = this.#codec;
    // Without a codec, MessagePack's own round trip (plain data, nothing lost) is a copy.
    if (codec === undefined) return decodeValue<V>(encodeValue(value));
    return codec.canonical !== undefined ? codec.canonical(value, key) : codec.decode(codec.encode(value), key);
  }

  #encode(value: V): Uint8Array {
    return encodeValue(this.#codec === undefined ? value : this.#codec.encode(value));
  }

  #decode(bytes: Uint8Array, key: KeyTuple): V {
    const raw = decodeValue<unknown>(bytes);
    return this.#codec === undefined ? (raw as V) : this.#codec.decode(raw, key);
  }

  delete(key: KeyTuple): void {
    const k = this.#key(key);
    this.#held?.delete(cacheKey(k));
    this.#writes.delete(k);
  }

  async *scan(options: ScanOptions = {}): AsyncIterable<[KeyTuple, V]> {
    // A range reads encoded bytes, so what is held must be among them first.
    this.flush();
    const range: KeyRange = {};
    if (options.prefix !== undefined) {
      const bounds = prefixBounds(this.#namespace, options.prefix);
      range.gte = options.prefix.length === 0 ? bounds.gte : this.#key(options.prefix);
      if (bounds.lt !== undefined) range.lt = bounds.lt;
    } else {
      range.gte = options.gte !== undefined ? this.#key(options.gte) : Uint8Array.of(this.#namespace);
      if (options.lt !== undefined) range.lt = this.#key(options.lt);
      else if (this.#namespace < 0xff) range.lt = Uint8Array.of(this.#namespace + 1);
    }
    if (options.reverse === true) range.reverse = true;
    if (options.limit !== undefined) range.limit = options.limit;
    for await (const [key, value] of this.#writes.range(range)) {
      const tuple = decodeKey(key);
      yield [tuple, this.#decode(value, tuple)];
    }
  }

  /** Deletes every key starting with `prefix`; returns how many. */
  async deletePrefix(prefix: KeyTuple): Promise<number> {
    const keys: KeyTuple[] = [];
    for await (const [key] of this.scan({ prefix })) keys.push(key);
    for (const key of keys) this.delete(key);
    return keys.length;
  }

  #key(key: KeyTuple): Uint8Array {
    for (const part of key) {
      if (!isEncodableKeyPart(part)) throw new TypeError(`store ${this.name}: key part ${JSON.stringify(part)} cannot be encoded`);
    }
    return encodeKey(this.#namespace, key);
  }
}
