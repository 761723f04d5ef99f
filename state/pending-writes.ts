import { compareBytes, type BytesStore, type KeyRange, type WriteOp } from './bytes-store.js';
import { cacheKey } from './read-cache.js';

interface Pending {
  key: Uint8Array;
  value: Uint8Array | null;
}

/**
 * The writes of the batch in flight, over the committed store. Reads see them
 * (read-your-writes); nothing reaches the engine until the batch's outputs and
 * offsets have been committed, and then all of it goes in one atomic write with the
 * checkpoint. A savepoint per record lets a failing record be undone alone.
 */
export class PendingWrites {
  readonly #base: BytesStore;
  #pending = new Map<string, Pending>();
  /**
   * The pending ids in key order, as of the last scan or drain; ids added since wait in
   * `#fresh` and are merged in when next needed. A latin1 id has one UTF-16 unit per byte,
   * so string order is unsigned byte order. A range scan then costs a binary search plus a
   * merge of what was added since the last one, not a sort of the whole batch: the decision
   * operator scans a small store once per candidate while the batch's user writes pile up
   * beside it, and a batch that never scans (events) only sorts once, at drain.
   */
  #order: string[] = [];
  #fresh = new Set<string>();
  #undo: Array<[string, Pending | undefined]> | null = null;
  /** Change stamps: one counter for all, the last value it had per namespace byte (see `stamp`). */
  #changes = 0;
  readonly #changedAt = new Float64Array(256);
  #allChangedAt = 0;

  constructor(base: BytesStore) {
    this.#base = base;
  }

  get size(): number {
    return this.#pending.size;
  }

  /**
   * A number that changes whenever what a read of the namespace would see may have changed
   * (a write to it, a rollback, a discarded batch, a restore underneath): a caller may keep
   * what it derived from a scan for as long as the stamp is the same. A commit moves bytes
   * from here to the engine without changing what reads see, so it keeps the stamp.
   */
  stamp(namespace: number): number {
    return Math.max(this.#changedAt[namespace] as number, this.#allChangedAt);
  }

  /** Marks the namespace changed (by a writer that keeps values outside, i.e. write-behind). */
  touch(namespace: number): void {
    this.#changedAt[namespace] = ++this.#changes;
  }

  /** Marks everything changed, e.g. after a restore wrote underneath. */
  touchAll(): void {
    this.#allChangedAt = ++this.#changes;
  }

  /** `id`: the key's cacheKey when the caller already has it. */
  async get(key: Uint8Array, id: string = cacheKey(key)): Promise<Uint8Array | undefined> {
    const pending = this.#pending.get(id);
    if (pending !== undefined) return pending.value ?? undefined;
    return this.#base.get(key, id);
  }

  /** `id`: the key's cacheKey when the caller already has it. */
  put(key: Uint8Array, value: Uint8Array, id?: string): void {
    this.#set(key, value, id);
  }

  delete(key: Uint8Array): void {
    this.#set(key, null);
  }

  /** The committed range merged with pending writes, pending ones winning. */
  async *range(range: KeyRange = {}): AsyncIterable<[Uint8Array, Uint8Array]> {
    const reverse = range.reverse === true;
    const ids = this.#idsIn(range);
    if (reverse) ids.reverse();
    const overlay = ids.map((id) => this.#pending.get(id) as Pending);
    const shadowed = new Set(ids);
    let remaining = range.limit ?? Number.POSITIVE_INFINITY;
    if (remaining <= 0) return;
    let i = 0;
    const before = (a: Uint8Array, b: Uint8Array) => (reverse ? compareBytes(a, b) > 0 : compareBytes(a, b) < 0);
    // The engine's limit would count keys that pending deletes hide, so it is applied here instead.
    const { limit: _limit, ...unlimited } = range;
    for await (const [key, value] of this.#base.range(unlimited)) {
      while (i < overlay.length && before((overlay[i] as Pending).key, key)) {
        const p = overlay[i++] as Pending;
        if (p.value !== null) {
          yield [p.key, p.value];
          if (--remaining <= 0) return;
        }
      }
      if (shadowed.has(cacheKey(key))) continue;
      yield [key, value];
      if (--remaining <= 0) return;
    }
    for (; i < overlay.length; i++) {
      const p = overlay[i] as Pending;
      if (p.value !== null) {
        yield [p.key, p.value];
        if (--remaining <= 0) return;
      }
    }
  }

  /** Starts recording what the next record changes, so that `rollback` can undo exactly that. */
  savepoint(): void {
    this.#undo = [];
  }

  rollback(): void {
    const undo = this.#undo;
    this.#undo = null;
    if (undo === null) return;
    if (undo.length > 0) this.touchAll();
    for (let i = undo.length - 1; i >= 0; i--) {
      const [id, previous] = undo[i] as [string, Pending | undefined];
      if (previous === undefined) {
        if (this.#pending.delete(id) && !this.#fresh.delete(id)) this.#order.splice(lowerBound(this.#order, id), 1);
      } else this.#pending.set(id, previous);
    }
  }

  release(): void {
    this.#undo = null;
  }

  /** Takes the batch's writes, in key order, and starts a new batch. */
  drain(): WriteOp[] {
    const ops: WriteOp[] = [];
    for (const id of this.#sorted()) {
      const p = this.#pending.get(id) as Pending;
      ops.push(p.value === null ? { type: 'del', key: p.key } : { type: 'put', key: p.key, value: p.value });
    }
    this.#pending = new Map();
    this.#order = [];
    this.#fresh = new Set();
    this.#undo = null;
    return ops;
  }

  /** Drops the batch's writes (its commit failed or was aborted). */
  discard(): void {
    if (this.#pending.size > 0) this.touchAll();
    this.#pending = new Map();
    this.#order = [];
    this.#fresh = new Set();
    this.#undo = null;
  }

  #set(key: Uint8Array, value: Uint8Array | null, id: string = cacheKey(key)): void {
    this.#changedAt[key[0] as number] = ++this.#changes;
    const previous = this.#pending.get(id);
    if (this.#undo !== null) this.#undo.push([id, previous]);
    if (previous === undefined) this.#fresh.add(id);
    this.#pending.set(id, { key: Uint8Array.prototype.slice.call(key), value });
  }

  /** Every pending id, ascending: the ids added since last time merged in. */
  #sorted(): string[] {
    if (this.#fresh.size === 0) return this.#order;
    const added = [...this.#fresh].sort();
    this.#fresh.clear();
    const old = this.#order;
    if (old.length === 0) return (this.#order = added);
    const merged = new Array<string>(old.length + added.length);
    let i = 0;
    let j = 0;
    let k = 0;
    while (i < old.length && j < added.length) merged[k++] = (old[i] as string) < (added[j] as string) ? (old[i++] as string) : (added[j++] as string);
    while (i < old.length) merged[k++] = old[i++] as string;
    while (j < added.length) merged[k++] = added[j++] as string;
    return (this.#order = merged);
  }

  /** The pending ids inside `range`'s bounds, ascending. */
  #idsIn(range: KeyRange): string[] {
    const order = this.#sorted();
    let lo = 0;
    let hi = order.length;
    if (range.gte !== undefined) lo = Math.max(lo, lowerBound(order, cacheKey(range.gte)));
    if (range.gt !== undefined) lo = Math.max(lo, upperBound(order, cacheKey(range.gt)));
    if (range.lt !== undefined) hi = Math.min(hi, lowerBound(order, cacheKey(range.lt)));
    if (range.lte !== undefined) hi = Math.min(hi, upperBound(order, cacheKey(range.lte)));
    return lo < hi ? order.slice(lo, hi) : [];
  }
}

/** The first index whose id is ≥ `id`. */
function lowerBound(order: readonly string[], id: string): number {
  let lo = 0;
  let hi = order.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((order[mid] as string) < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The first index whose id is > `id`. */
function upperBound(order: readonly string[], id: string): number {
  let lo = 0;
  let hi = order.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((order[mid] as string) <= id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
