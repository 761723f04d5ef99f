import { PartitionError } from '../errors/index.js';
import type { BytesStore, WriteOp } from './bytes-store.js';
import { KeyValueStore, type StoreCodec } from './key-value-store.js';
import { PendingWrites } from './pending-writes.js';
import { ReadCache } from './read-cache.js';
import { decodeValue, encodeValue } from './value-codec.js';

/** Namespace bytes 0x00–0x0f belong to the runtime; operators' stores start at 0x10. */
export const SYSTEM_NAMESPACE = 0x00;
export const TIMERS_BY_TIME_NAMESPACE = 0x01;
export const TIMERS_BY_ID_NAMESPACE = 0x02;
export const OUTBOX_NAMESPACE = 0x03;
export const FIRST_USER_NAMESPACE = 0x10;

const CHECKPOINT_KEY = Uint8Array.of(SYSTEM_NAMESPACE, 0x63, 0x6b, 0x70, 0x74); // "ckpt"

/**
 * Where a partition's state stands: for every source topic, the next offset to
 * process. Written in the same atomic write as the state it describes, so a restart
 * resumes exactly where the state left off.
 */
export interface Checkpoint {
  sources: Record<string, number>;
  /** Next changelog offset not yet reflected in this store (Kafka mode). */
  changelogNext?: number;
  /** How many batches have been committed: a cheap change counter for tests and metrics. */
  commits: number;
}

export interface StoreDeclaration {
  name: string;
  /** Stable namespace byte, ≥ 0x10; never reuse one for a different store. */
  namespace: number;
  /** How values are stored, when not as they are. */
  codec?: StoreCodec<never>;
  /**
   * Keep values put during a batch of input records as objects and encode each once, at
   * commit (KeyValueStore's write-behind): for a store that a batch reads and writes many
   * times per key. Its callers must put back whatever they change.
   */
  writeBehind?: boolean;
}

/** One partition's state: one engine store, a read cache, the batch's pending writes and named typed views. */
export class PartitionState {
  readonly partition: number;
  readonly engine: BytesStore;
  readonly #cache: ReadCache;
  readonly writes: PendingWrites;
  readonly #stores = new Map<string, KeyValueStore<unknown>>();
  #checkpoint: Checkpoint = { sources: {}, commits: 0 };

  private constructor(partition: number, engine: BytesStore, cacheEntries: number) {
    this.partition = partition;
    this.engine = engine;
    this.#cache = new ReadCache(engine, cacheEntries);
    this.writes = new PendingWrites(this.#cache);
  }

  static async open(partition: number, engine: BytesStore, declarations: readonly StoreDeclaration[], cacheEntries: number): Promise<PartitionState> {
    const state = new PartitionState(partition, engine, cacheEntries);
    const used = new Map<number, string>();
    for (const d of declarations) {
      if (!Number.isInteger(d.namespace) || d.namespace < FIRST_USER_NAMESPACE || d.namespace > 0xff) {
        throw new PartitionError('NUDGE_ERR_STATE', `store ${d.name}: namespace ${d.namespace} is outside 0x10–0xff`, partition);
      }
      const clash = used.get(d.namespace);
      if (clash !== undefined) {
        throw new PartitionError('NUDGE_ERR_STATE', `stores ${clash} and ${d.name} share namespace ${d.namespace}`, partition);
      }
      used.set(d.namespace, d.name);
      state.#stores.set(d.name, new KeyValueStore(d.name, d.namespace, state.writes, d.codec as StoreCodec<unknown> | undefined, { writeBehind: d.writeBehind === true }));
    }
    await state.reloadCheckpoint();
    return state;
  }

  get checkpoint(): Readonly<Checkpoint> {
    return this.#checkpoint;
  }

  store<V>(name: string): KeyValueStore<V> {
    const store = this.#stores.get(name);
    if (store === undefined) {
      throw new PartitionError('NUDGE_ERR_STATE', `no store named ${name}; declared: ${[...this.#stores.keys()].join(', ')}`, this.partition);
    }
    return store as KeyValueStore<V>;
  }

  /**
   * Starts write-behind on the stores declared with it, for the batch about to run; returns
   * whether any store holds. Only a batch that starts with nothing pending may: throwing
   * the batch away (`dropHeld` and a discard) must then lose nothing older.
   */
  holdWrites(): boolean {
    if (this.writes.size > 0) return false;
    let any = false;
    for (const store of this.#stores.values()) any = store.hold() || any;
    return any;
  }

  /** Whether values are held, unencoded: a record that fails now cannot be undone alone. */
  get holding(): boolean {
    for (const store of this.#stores.values()) if (store.heldCount > 0) return true;
    return false;
  }

  /** Encodes what the stores hold into the batch's writes and stops holding. */
  releaseHeld(): void {
    for (const store of this.#stores.values()) store.flush(true);
  }

  /** Forgets what the stores hold and stops holding, with the batch it belonged to. */
  dropHeld(): void {
    for (const store of this.#stores.values()) store.dropHeld();
  }

  /** Timer stores share the batch's writes like any other store. */
  systemStore<V>(name: string, namespace: number): KeyValueStore<V> {
    return new KeyValueStore<V>(name, namespace, this.writes);
  }

  /** Re-reads the checkpoint from the engine, e.g. after a restore wrote underneath. */
  async reloadCheckpoint(): Promise<void> {
    this.#cache.clear();
    this.writes.touchAll();
    const bytes = await this.engine.get(CHECKPOINT_KEY);
    this.#checkpoint = bytes === undefined ? { sources: {}, commits: 0 } : decodeValue<Checkpoint>(bytes);
  }

  /**
   * Takes the batch's writes and the checkpoint that will follow them. The caller
   * publishes `ops` (changelog) with the outputs, then calls `apply`.
   */
  prepareCommit(sources: Record<string, number>, changelogNext?: number): { ops: WriteOp[]; checkpoint: Checkpoint } {
    this.releaseHeld();
    const ops = this.writes.drain();
    const checkpoint: Checkpoint = {
      sources: { ...this.#checkpoint.sources, ...sources },
      commits: this.#checkpoint.commits + 1,
      ...(changelogNext !== undefined ? { changelogNext } : this.#checkpoint.changelogNext !== undefined ? { changelogNext: this.#checkpoint.changelogNext } : {}),
    };
    return { ops, checkpoint };
  }

  /** Writes the batch and its checkpoint in one atomic engine write. */
  async apply(ops: readonly WriteOp[], checkpoint: Checkpoint): Promise<void> {
    await this.#cache.write([...ops, { type: 'put', key: CHECKPOINT_KEY, value: encodeValue(checkpoint) }]);
    this.#checkpoint = checkpoint;
  }

  /**
   * Raw writes from a changelog restore, with the checkpoint they lead to. They go to the
   * engine directly: a restore touches every key once, so caching it would only evict.
   */
  async applyRestored(ops: readonly WriteOp[], checkpoint: Checkpoint): Promise<void> {
    await this.engine.write([...ops, { type: 'put', key: CHECKPOINT_KEY, value: encodeValue(checkpoint) }]);
    this.#cache.clear();
    this.writes.touchAll();
    this.#checkpoint = checkpoint;
  }

  static isCheckpointKey(key: Uint8Array): boolean {
    return Buffer.compare(key, CHECKPOINT_KEY) === 0;
  }

  static get checkpointKey(): Uint8Array {
    return CHECKPOINT_KEY;
  }

  async close(): Promise<void> {
    this.dropHeld();
    this.writes.discard();
    await this.#cache.close();
  }
}
