import type { Send } from '../providers/provider.js';
import type { Timers } from './timers.js';

export interface TokenBucketOptions {
  /** Tokens per second. */
  ratePerSec: number;
  /** Tokens that may accumulate while idle. @defaultValue 1 (no bursts) */
  burst?: number;
  timers: Timers;
  /**
   * Senders allowed to wait; `take()` beyond it rejects, so a stalled provider cannot pile up
   * waiters without bound (the bounded queue upstream is what should pause instead).
   * @defaultValue 100000
   */
  maxWaiters?: number;
}

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** A token bucket with FIFO waiters, on injected time. The rate can change live (AIMD drives it). */
export class TokenBucket {
  readonly #timers: Timers;
  readonly #maxWaiters: number;
  #rate: number;
  #burst: number;
  #tokens: number;
  #last: number;
  readonly #waiters: Waiter[] = [];
  #cancelTimer: (() => void) | undefined;

  constructor(opts: TokenBucketOptions) {
    if (!(opts.ratePerSec > 0)) throw new RangeError(`ratePerSec must be > 0, got ${opts.ratePerSec}`);
    this.#timers = opts.timers;
    this.#rate = opts.ratePerSec;
    this.#burst = Math.max(1, opts.burst ?? 1);
    this.#maxWaiters = opts.maxWaiters ?? 100_000;
    this.#tokens = this.#burst;
    this.#last = opts.timers.now();
  }

  get rate(): number {
    return this.#rate;
  }

  get burst(): number {
    return this.#burst;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  /** Whether demand exceeds the rate right now: AIMD only raises a rate that is being used. */
  get saturated(): boolean {
    this.#refill();
    return this.#waiters.length > 0 || this.#tokens < 1;
  }

  /** Takes a token now if one is free and nobody waits before us. */
  tryTake(): boolean {
    this.#refill();
    if (this.#waiters.length > 0 || this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Resolves when a token is ours (FIFO); rejects if `signal` aborts first or too many wait. */
  take(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
    if (this.tryTake()) return Promise.resolve();
    if (this.#waiters.length >= this.#maxWaiters) return Promise.reject(new RangeError(`token bucket has ${this.#waiters.length} waiters (maxWaiters)`));
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { resolve, reject, signal, onAbort: undefined };
      if (signal !== undefined) {
        w.onAbort = () => {
          const i = this.#waiters.indexOf(w);
          if (i >= 0) this.#waiters.splice(i, 1);
          reject(signal.reason as Error);
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.#waiters.push(w);
      this.#schedule();
    });
  }

  /** Changes the rate from now on; tokens earned so far were earned at the old rate. */
  setRate(ratePerSec: number): void {
    if (!(ratePerSec > 0)) throw new RangeError(`ratePerSec must be > 0, got ${ratePerSec}`);
    this.#refill();
    this.#rate = ratePerSec;
    this.#reschedule();
  }

  setBurst(burst: number): void {
    this.#refill();
    this.#burst = Math.max(1, burst);
    this.#tokens = Math.min(this.#tokens, this.#burst);
  }

  /**
   * Adds what elapsed time earned and hands tokens to waiters before capping at `burst`:
   * timers fire late (≥ 1 ms), and capping first would lose the tokens a late timer owes the
   * waiters, making high rates systematically slow.
   */
  #refill(): void {
    const now = this.#timers.now();
    const elapsed = Math.max(0, now - this.#last);
    this.#last = now;
    this.#tokens += (elapsed * this.#rate) / 1000;
    while (this.#tokens >= 1 && this.#waiters.length > 0) {
      this.#tokens -= 1;
      const w = this.#waiters.shift() as Waiter;
      if (w.onAbort !== undefined) w.signal?.removeEventListener('abort', w.onAbort);
      w.resolve();
    }
    if (this.#tokens > this.#burst) this.#tokens = this.#burst;
  }

  #schedule(): void {
    if (this.#cancelTimer !== undefined || this.#waiters.length === 0) return;
    const ms = Math.max(0, ((1 - this.#tokens) * 1000) / this.#rate);
    this.#cancelTimer = this.#timers.setTimeout(() => {
      this.#cancelTimer = undefined;
      this.#refill();
      this.#schedule();
    }, ms);
  }

  #reschedule(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    this.#schedule();
  }
}

/** Waits for a token before each send. */
export function withRateLimit(send: Send, bucket: TokenBucket): Send {
  return async (intent, signal) => {
    await bucket.take(signal);
    return send(intent, signal);
  };
}
