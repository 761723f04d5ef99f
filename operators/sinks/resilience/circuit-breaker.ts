import type { ProviderResult, Send } from '../providers/provider.js';
import { retry } from '../providers/provider.js';
import type { Timers } from './timers.js';

export type BreakerState = 'closed' | 'open' | 'half_open';
/**
 * What `acquire` granted: an ordinary call, or one of the half-open probes of a given cycle
 * (a probe still in flight when its cycle ended must not vote in the next one).
 */
export interface Permit {
  readonly kind: 'call' | 'probe';
  readonly cycle: number;
}

export interface CircuitBreakerOptions {
  timers: Timers;
  /** Sliding window for the error rate. @defaultValue 10000 */
  windowMs?: number;
  /** Calls in the window before the error rate may open the breaker. @defaultValue 20 */
  minCalls?: number;
  /** Failure share (failures + slow calls) that opens it. @defaultValue 0.5 */
  failureRate?: number;
  /** Consecutive failures that open it regardless of the window (fast reaction to an outage). @defaultValue 5 */
  consecutiveFailures?: number;
  /** A call slower than this counts as a failure. @defaultValue none */
  slowCallMs?: number;
  /** Open for this long before probing. @defaultValue 5000 */
  coolDownMs?: number;
  /** Concurrent probes in half-open; that many successes close it. @defaultValue 3 */
  halfOpenProbes?: number;
  onStateChange?: (state: BreakerState) => void;
}

/** Buckets of the sliding window: enough resolution, bounded memory whatever the traffic. */
const BUCKETS = 10;

/**
 * Closed → open on a failure rate over a sliding window, on consecutive failures, or on slow
 * calls; open → half-open after a cool-down, where a few probes decide between closed and open.
 * A failure is a `retry` result that is not throttling (the provider answered: AIMD's business)
 * or a slow call. Permanent failures are the message's fault, a healthy provider's answer.
 */
export class CircuitBreaker {
  readonly #o: Required<Omit<CircuitBreakerOptions, 'slowCallMs' | 'onStateChange'>> & Pick<CircuitBreakerOptions, 'slowCallMs' | 'onStateChange'>;
  #state: BreakerState = 'closed';
  #openedAt = 0;
  #consecutive = 0;
  #probesInFlight = 0;
  #probeSuccesses = 0;
  /** Incremented on every transition: permits from an earlier state are stale. */
  #cycle = 0;
  readonly #calls = new Array<number>(BUCKETS).fill(0);
  readonly #fails = new Array<number>(BUCKETS).fill(0);
  #bucketStart: number;
  #bucketIndex = 0;

  constructor(opts: CircuitBreakerOptions) {
    this.#o = {
      timers: opts.timers,
      windowMs: opts.windowMs ?? 10_000,
      minCalls: opts.minCalls ?? 20,
      failureRate: opts.failureRate ?? 0.5,
      consecutiveFailures: opts.consecutiveFailures ?? 5,
      slowCallMs: opts.slowCallMs,
      coolDownMs: opts.coolDownMs ?? 5_000,
      halfOpenProbes: opts.halfOpenProbes ?? 3,
      onStateChange: opts.onStateChange,
    };
    this.#bucketStart = opts.timers.now();
  }

  /** The state now (an open breaker past its cool-down reads as half-open). */
  get state(): BreakerState {
    if (this.#state === 'open' && this.#o.timers.now() - this.#openedAt >= this.#o.coolDownMs) this.#transition('half_open');
    return this.#state;
  }

  /** Milliseconds until an open breaker lets a probe through. */
  get retryInMs(): number {
    return this.state === 'open' ? Math.max(0, this.#openedAt + this.#o.coolDownMs - this.#o.timers.now()) : 0;
  }

  /**
   * Asks to make a call: `call` when closed, `probe` when half-open and a probe slot is free,
   * undefined when the call must not be made. Pair with `record` (or `release`).
   */
  acquire(): Permit | undefined {
    const s = this.state;
    if (s === 'closed') return { kind: 'call', cycle: this.#cycle };
    if (s === 'open' || this.#probesInFlight >= this.#o.halfOpenProbes) return undefined;
    this.#probesInFlight++;
    return { kind: 'probe', cycle: this.#cycle };
  }

  /** Reports the outcome of a call made under `permit`. */
  record(permit: Permit, result: ProviderResult, latencyMs: number): void {
    const failure = (result.status === 'retry' && result.throttled !== true) || (this.#o.slowCallMs !== undefined && latencyMs > this.#o.slowCallMs);
    // A call started in an earlier state tells nothing about this one.
    if (permit.cycle !== this.#cycle) return;
    if (permit.kind === 'probe') {
      this.#probesInFlight = Math.max(0, this.#probesInFlight - 1);
      if (failure) this.#open();
      else if (++this.#probeSuccesses >= this.#o.halfOpenProbes) this.#close();
      return;
    }
    this.#rotate();
    this.#calls[this.#bucketIndex] = (this.#calls[this.#bucketIndex] ?? 0) + 1;
    if (failure) {
      this.#fails[this.#bucketIndex] = (this.#fails[this.#bucketIndex] ?? 0) + 1;
      this.#consecutive++;
    } else this.#consecutive = 0;
    if (this.#consecutive >= this.#o.consecutiveFailures) return this.#open();
    const calls = sum(this.#calls);
    if (calls >= this.#o.minCalls && sum(this.#fails) / calls >= this.#o.failureRate) this.#open();
  }

  /** Gives back a permit whose call ended in an exception: no verdict on the provider. */
  release(permit: Permit): void {
    if (permit.kind === 'probe' && permit.cycle === this.#cycle) this.#probesInFlight = Math.max(0, this.#probesInFlight - 1);
  }

  #rotate(): void {
    const width = this.#o.windowMs / BUCKETS;
    const now = this.#o.timers.now();
    let steps = Math.floor((now - this.#bucketStart) / width);
    if (steps <= 0) return;
    this.#bucketStart += steps * width;
    steps = Math.min(steps, BUCKETS);
    for (let i = 0; i < steps; i++) {
      this.#bucketIndex = (this.#bucketIndex + 1) % BUCKETS;
      this.#calls[this.#bucketIndex] = 0;
      this.#fails[this.#bucketIndex] = 0;
    }
  }

  #open(): void {
    this.#openedAt = this.#o.timers.now();
    this.#probesInFlight = 0;
    this.#probeSuccesses = 0;
    this.#transition('open');
  }

  #close(): void {
    this.#calls.fill(0);
    this.#fails.fill(0);
    this.#consecutive = 0;
    this.#probesInFlight = 0;
    this.#probeSuccesses = 0;
    this.#transition('closed');
  }

  #transition(to: BreakerState): void {
    if (this.#state === to) return;
    this.#state = to;
    this.#cycle++;
    this.#o.onStateChange?.(to);
  }
}

function sum(a: readonly number[]): number {
  let s = 0;
  for (const v of a) s += v;
  return s;
}

/** Short-circuits sends while the breaker is open: a `retry` with code `circuit_open`, nothing sent. */
export function withBreaker(send: Send, breaker: CircuitBreaker, timers: Timers): Send {
  return async (intent, signal) => {
    const permit = breaker.acquire();
    if (permit === undefined) return retry('circuit_open', 'circuit breaker open', { retryAfterMs: breaker.retryInMs });
    const started = timers.now();
    let result: ProviderResult;
    try {
      result = await send(intent, signal);
    } catch (err) {
      breaker.release(permit);
      throw err;
    }
    breaker.record(permit, result, timers.now() - started);
    return result;
  };
}
