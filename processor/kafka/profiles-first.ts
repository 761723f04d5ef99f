/** A partition catching up on its profiles: read up to `reached` (exclusive), to reach `until`. */
export interface CatchUp {
  partition: number;
  until: number;
  reached: number;
}

/**
 * The profiles-first catch-up's bookkeeping, for the Kafka engine: which gained partitions are
 * still reading their profiles backlog, how far they are, and since when they have not moved.
 * Kafka has no order across topics, and on a backlog (a first start, a partition moved to this
 * replica, records that piled up during a stop) an event read before its user's profile lands in
 * the default time zone's hours, a candidate read before it finds no channel. The engine keeps a
 * held partition's other inputs paused until its profiles reach `until`, their end (the last
 * stable offset, as a read_committed consumer sees it) when the partition was gained.
 *
 * No clock and no consumer here: the engine passes the time in and does the pausing.
 */
export class ProfilesFirst {
  readonly #held = new Map<number, CatchUp & { movedAt: number }>();

  get size(): number {
    return this.#held.size;
  }

  has(partition: number): boolean {
    return this.#held.has(partition);
  }

  /** Holds `partition` if its profiles have a backlog, `from` (where its consumer starts) short of `until`; true if it does. */
  hold(partition: number, from: number, until: number, now: number): boolean {
    if (until <= from) return false;
    this.#held.set(partition, { partition, until, reached: from, movedAt: now });
    return true;
  }

  /** The partition's profiles were read up to `next` (exclusive): the catch-up it ends, if it ends one. */
  advance(partition: number, next: number, now: number): CatchUp | undefined {
    const held = this.#held.get(partition);
    if (held === undefined || next <= held.reached) return undefined;
    held.reached = next;
    held.movedAt = now;
    return held.reached >= held.until ? this.release(partition) : undefined;
  }

  /**
   * Ends and returns the catch-ups whose profiles have not moved for `idleMs`: records the
   * consumer can never read (a log truncated under it) must not hold a partition's other inputs
   * for good. Time a partition spends paused by its replica (`paused`) does not count.
   */
  idle(now: number, idleMs: number, paused: (partition: number) => boolean): CatchUp[] {
    const ended: CatchUp[] = [];
    for (const [p, held] of this.#held) {
      if (paused(p)) held.movedAt = now;
      else if (now - held.movedAt >= idleMs) ended.push(this.release(p) as CatchUp);
    }
    return ended;
  }

  /** Ends the partition's catch-up (it was lost, or is given up); what it was, if any. */
  release(partition: number): CatchUp | undefined {
    const held = this.#held.get(partition);
    if (held === undefined) return undefined;
    this.#held.delete(partition);
    return { partition, until: held.until, reached: held.reached };
  }

  partitions(): number[] {
    return [...this.#held.keys()];
  }
}
