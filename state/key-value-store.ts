import type { KeyRange } from './bytes-store.js';
import { decodeKey, encodeKey, isEncodableKeyPart, prefixBounds, type KeyTuple } from './key-codec.js';
import type { PendingWrites } from './pending-writes.js';
import { decodeValue, encodeValue } from './value-codec.js';

/** Maps a store's values to and from what is encoded (e.g. a compact positional form). */
export interface StoreCodec<V> {
  encode(value: V): unknown;
  decode(stored: unknown, key: KeyTuple): V;
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
 */
export class KeyValueStore<V> {
  readonly name: string;
  readonly #namespace: number;
  readonly #writes: PendingWrites;
  readonly #codec: StoreCodec<V> | undefined;

  constructor(name: string, namespace: number, writes: PendingWrites, codec?: StoreCodec<V>) {
    this.name = name;
    this.#namespace = namespace;
    this.#writes = writes;
    this.#codec = codec;
  }

  async get(key: KeyTuple): Promise<V | undefined> {
    const bytes = await this.#writes.get(this.#key(key));
    return bytes === undefined ? undefined : this.#decode(bytes, key);
  }

  put(key: KeyTuple, value: V): void {
    this.#writes.put(this.#key(key), encodeValue(this.#codec === undefined ? value : this.#codec.encode(value)));
  }

  #decode(bytes: Uint8Array, key: KeyTuple): V {
    const raw = decodeValue<unknown>(bytes);
    return this.#codec === undefined ? (raw as V) : this.#codec.decode(raw, key);
  }

  delete(key: KeyTuple): void {
    this.#writes.delete(this.#key(key));
  }

  async *scan(options: ScanOptions = {}): AsyncIterable<[KeyTuple, V]> {
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
