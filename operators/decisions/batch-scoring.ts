import { withMoreRecent } from './feature-vector.js';
import { ScorerWrapper, type Scores } from './scorer.js';

/**
 * Scores a batch's rows in one call before the batch's candidates are decided one by one.
 *
 * Decisions are sequential: a candidate's caps, budget and slot capacity depend on the
 * candidates before it, so the operator cannot simply hand the scorer every row at once.
 * For a model whose per-call cost dwarfs its per-row cost (TF.js: ~280 µs for one row,
 * ~6 µs a row at 256), the operator first plans the batch's decisions up to the model
 * (DecisionEngine.plan), scores all their rows in one call, and then finishes them in turn.
 *
 * A candidate whose user has no other candidate in the batch is finished from its plan and
 * its scores (`direct` rows): nothing the candidates before it decide changes its rows, and
 * what they change (slot capacity, budget) is read when it is finished. The plan is as of the
 * instant the batch was planned; under a clock that moves, the window's end and, for a
 * message sent at once, the legal and quiet hours are checked again at the decision's own
 * instant. A user with several candidates in the batch has each planned again in turn, on the
 * state the ones before left, and its rows are served from this call (`keyed` rows) only if
 * they are byte-for-byte rows the call scored; others are scored afresh. Under a clock that
 * does not move during the batch, the decisions are those made without prefetching.
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

  /**
   * Scores `direct` and `keyed` rows in one call. The answers to `keyed` are kept, by the rows'
   * bytes, until the next prefetch or `clear`; those to `direct` are returned, in order, with
   * the version of the model that gave them.
   */
  async prefetch(keyed: readonly Float32Array[], direct: readonly Float32Array[] = []): Promise<{ scores: Scores[]; version: string }> {
    this.clear();
    const unique = new Map<string, Float32Array>();
    for (const row of keyed) unique.set(rowKey(row), row);
    const version = this.inner.version;
    if (unique.size === 0 && direct.length === 0) return { scores: [], version };
    const scores = await this.inner.score(direct.length === 0 ? [...unique.values()] : [...direct, ...unique.values()]);
    if (scores.length !== direct.length + unique.size) throw new RangeError(`${this.inner.version} gave ${scores.length} scores for ${direct.length + unique.size} rows`);
    let i = direct.length;
    for (const key of unique.keys()) this.#cache.set(key, scores[i++] as Scores);
    this.#cachedVersion = version;
    return { scores: scores.slice(0, direct.length), version };
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

/** Variants recorded per row at most: each is a row more in the batch's call. A candidate past it is scored afresh. */
const MAX_VARIANTS = 3;

/**
 * A planned decision's rows, and for a user with more candidates in the batch, the rows as they
 * will be when those are decided. `earlier` candidates of the same user come before this one in
 * the batch: each may leave a message scheduled before some of its slots, which then count it in
 * `messages_7d_before_slot`, the only change to its rows that a scheduled message makes. So the
 * rows are also given with that count raised by 1, 2, …. With a candidate of the same user
 * `later` in the batch, that one weighs the harm its slots would do to what this one schedules
 * (later-harm.ts): this one's row at the chosen slot, and that row with one more message before
 * it. So the rows are also given raised by one more.
 */
export function withVariants(rows: readonly Float32Array[], earlier: number, later: boolean): readonly Float32Array[] {
  const variants = Math.min(MAX_VARIANTS, Math.max(0, Math.floor(earlier)) + (later ? 1 : 0));
  if (variants === 0) return rows;
  const out: Float32Array[] = [];
  for (const row of rows) {
    out.push(row);
    for (let j = 1; j <= variants; j++) out.push(withMoreRecent(row, j));
  }
  return out;
}

/** Same bytes, same key: NaN payloads included, which a numeric compare would not match. */
function rowKey(row: Float32Array): string {
  return Buffer.from(row.buffer, row.byteOffset, row.byteLength).toString('latin1');
}
