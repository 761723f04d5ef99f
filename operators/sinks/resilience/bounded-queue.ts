export interface BoundedQueueOptions<T> {
  /** Items held at most, waiting and in flight together: the memory bound. */
  capacity: number;
  /** Items worked on at once. */
  concurrency: number;
  /**
   * After `full`, `drained` fires once the queue is down to this many: hysteresis, so the
   * runtime does not pause and resume a partition on every message. @defaultValue capacity / 2
   */
  lowWater?: number;
  /** Does the work. It handles its own outcomes; a throw goes to `onError`, never unhandled. */
  worker: (item: T) => Promise<void>;
  onError: (err: unknown, item: T) => void;
}

type Listener = () => void;

/**
 * A bounded async work queue with a concurrency limit. `push` refuses beyond capacity (the
 * caller ignored `full`: a bug, so it throws), `full` tells the runtime to pause its
 * partitions and `drained` to resume them; `put` waits for room instead. Memory never grows
 * past `capacity` items whatever the provider's speed (gorush#144).
 */
export class BoundedQueue<T> {
  readonly #o: Required<BoundedQueueOptions<T>>;
  readonly #items: T[] = [];
  #head = 0;
  #inFlight = 0;
  #isFull = false;
  #closed = false;
  readonly #full = new Set<Listener>();
  readonly #drained = new Set<Listener>();
  readonly #room: Array<() => void> = [];
  readonly #idle: Array<() => void> = [];
  /** Highest `size` ever seen: tests and metrics check the bound with it. */
  highWater = 0;

  constructor(opts: BoundedQueueOptions<T>) {
    if (!(Number.isInteger(opts.capacity) && opts.capacity >= 1)) throw new RangeError(`capacity must be a positive integer, got ${opts.capacity}`);
    if (!(Number.isInteger(opts.concurrency) && opts.concurrency >= 1)) throw new RangeError(`concurrency must be a positive integer, got ${opts.concurrency}`);
    const lowWater = opts.lowWater ?? Math.floor(opts.capacity / 2);
    if (!(lowWater >= 0 && lowWater < opts.capacity)) throw new RangeError(`lowWater must be in [0, capacity), got ${lowWater}`);
    this.#o = { ...opts, lowWater };
  }

  /** Waiting plus in flight. */
  get size(): number {
    return this.#items.length - this.#head + this.#inFlight;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get isFull(): boolean {
    return this.#isFull;
  }

  onFull(fn: Listener): () => void {
    this.#full.add(fn);
    return () => this.#full.delete(fn);
  }

  onDrained(fn: Listener): () => void {
    this.#drained.add(fn);
    return () => this.#drained.delete(fn);
  }

  /**
   * Adds an item. Returns false when the queue is now full (stop pushing until `drained`);
   * throws when it already was, because the item would break the memory bound.
   */
  push(item: T): boolean {
    if (this.#closed) throw new Error('queue is closed');
    if (this.size >= this.#o.capacity) throw new RangeError(`queue is full (${this.#o.capacity}); wait for drained or use put()`);
    this.#items.push(item);
    this.highWater = Math.max(this.highWater, this.size);
    this.#pump();
    if (this.size >= this.#o.capacity && !this.#isFull) {
      this.#isFull = true;
      for (const fn of this.#full) fn();
    }
    return !this.#isFull;
  }

  /** Adds an item, waiting for room first. */
  async put(item: T): Promise<void> {
    while (this.size >= this.#o.capacity) await new Promise<void>((r) => this.#room.push(r));
    this.push(item);
  }

  /** Resolves when nothing waits and nothing is in flight. */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise<void>((r) => this.#idle.push(r));
  }

  /** Refuses new items; what is queued still runs. Resolves when it has. Idempotent. */
  close(): Promise<void> {
    this.#closed = true;
    return this.idle();
  }

  #pump(): void {
    while (this.#inFlight < this.#o.concurrency && this.#head < this.#items.length) {
      const item = this.#items[this.#head] as T;
      this.#head++;
      // Compact now and then so the array does not keep consumed slots alive.
      if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
        this.#items.splice(0, this.#head);
        this.#head = 0;
      }
      this.#inFlight++;
      void this.#run(item);
    }
  }

  async #run(item: T): Promise<void> {
    try {
      await this.#o.worker(item);
    } catch (err) {
      this.#o.onError(err, item);
    } finally {
      this.#inFlight--;
      this.#after();
    }
  }

  #after(): void {
    this.#pump();
    if (this.#isFull && this.size <= this.#o.lowWater) {
      this.#isFull = false;
      for (const fn of this.#drained) fn();
    }
    // One waiter per free slot; each re-checks for room when it resumes.
    for (let free = this.#o.capacity - this.size; free > 0 && this.#room.length > 0; free--) (this.#room.shift() as () => void)();
    if (this.size === 0) for (const r of this.#idle.splice(0)) r();
  }
}
