import { withMoreRecent } from './feature-vector.js';
import { ScorerWrapper, type Scores } from './scorer.js';

/**
 * Variants recorded per row at most: a user rarely has more than a few candidates in one batch,
 * and each variant is a row more in the batch's call. A candidate past it is scored afresh.
 */
const MAX_VARIANTS = 3;

/**
 * Scores a batch's rows in one call before the batch's candidates are decided one by one.
 *
 * Decisions are sequential: a candidate's caps, budget and slot capacity depend on the
 * candidates before it, so the operator cannot simply hand the scorer every row at once.
 * For a model whose per-call cost dwarfs its per-row cost (TF.js: ~280 µs for one row,
 * ~6 µs a row at 256), the operator first runs the batch's decisions dry, collecting the
 * rows they would score, scores those in one call, and then decides for real. A row is
 * served from that call only if it is byte-for-byte the row the real decision builds, so a
 * candidate whose state changed in between (an earlier candidate of the same user) is
 * scored afresh: the result is the same as without prefetching.
 */
export class PrefetchingScorer extends ScorerWrapper {
  #cache = new Map<string, Scores>();
  #cachedVersion: string | undefined;
  #hits = 0;
  #misses = 0;

  /** Rows answered from the prefetched call, and rows scored afresh, since construction. */
  get stats(): { hits: number; misses: number } {
    return { hits: this.#hits, misses: this.#misses };
  }

  /** Scores `rows` in one call and keeps the answers until the next prefetch or `clear`. */
  async prefetch(rows: readonly Float32Array[]): Promise<void> {
    this.clear();
    const unique = new Map<string, Float32Array>();
    for (const row of rows) unique.set(rowKey(row), row);
    if (unique.size === 0) return;
    const version = this.inner.version;
    const scores = await this.inner.score([...unique.values()]);
    let i = 0;
    for (const key of unique.keys()) this.#cache.set(key, scores[i++] as Scores);
    this.#cachedVersion = version;
  }

  clear(): void {
    this.#cache = new Map();
    this.#cachedVersion = undefined;
  }

  async score(rows: readonly Float32Array[]): Promise<Scores[]> {
    // A model swapped in since the prefetch answers everything itself: a decision logs the version that scored it.
    if (this.#cache.size === 0 || this.#cachedVersion !== this.inner.version) {
      this.#misses += rows.length;
      return this.inner.score(rows);
    }
    const out = new Array<Scores>(rows.length);
    const missed: number[] = [];
    rows.forEach((row, i) => {
      const hit = this.#cache.get(rowKey(row));
      if (hit === undefined) missed.push(i);
      else out[i] = hit;
    });
    this.#hits += rows.length - missed.length;
    this.#misses += missed.length;
    if (missed.length > 0) {
      const scored = await this.inner.score(missed.map((i) => rows[i] as Float32Array));
      missed.forEach((i, j) => (out[i] = scored[j] as Scores));
    }
    return out;
  }
}

/**
 * Collects the rows a dry run of the decisions asks for, answering each with zeros: the
 * rows a decision scores are fixed before any score is read, so the answers do not matter.
 */
export class RowRecorder extends ScorerWrapper {
  #rows: Float32Array[] = [];
  #earlier = 0;
  #later = false;

  /**
   * How many candidates of the same user come earlier in the batch. Each may leave a message
   * scheduled before some of this candidate's slots, which then count it in
   * `messages_7d_before_slot`: the only change to its rows that a scheduled message makes. So
   * the rows are also recorded with that count raised by 1, 2, …, and the user's second
   * candidate finds its rows in the batch's call instead of costing a call of its own.
   */
  set earlierOfUser(n: number) {
    this.#earlier = Math.max(0, Math.floor(n));
  }

  /**
   * Whether a candidate of the same user comes later in the batch. That one weighs the harm its
   * slots would do to what this one schedules (later-harm.ts): the scheduled message's row,
   * which is this candidate's row at the chosen slot, and that row with one more message before
   * it. So the rows are also recorded raised by one more than `earlierOfUser` asks.
   */
  set laterOfUser(later: boolean) {
    this.#later = later;
  }

  async score(rows: readonly Float32Array[]): Promise<Scores[]> {
    const variants = Math.min(MAX_VARIANTS, this.#earlier + (this.#later ? 1 : 0));
    for (const row of rows) {
      this.#rows.push(row);
      for (let j = 1; j <= variants; j++) this.#rows.push(withMoreRecent(row, j));
    }
    return rows.map(() => ({ click: 0, convert: 0, unsubscribe: 0 }));
  }

  /** The rows recorded since the last take. */
  take(): Float32Array[] {
    const rows = this.#rows;
    this.#rows = [];
    return rows;
  }
}

/** Same bytes, same key: NaN payloads included, which a numeric compare would not match. */
function rowKey(row: Float32Array): string {
  return Buffer.from(row.buffer, row.byteOffset, row.byteLength).toString('latin1');
}
