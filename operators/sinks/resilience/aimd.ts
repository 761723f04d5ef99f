import type { ProviderResult, Send } from '../providers/provider.js';
import type { TokenBucket } from './token-bucket.js';
import type { Timers } from './timers.js';

export interface AimdOptions {
  bucket: TokenBucket;
  timers: Timers;
  /** Never below this (a floor keeps probing a provider that throttled us hard). */
  minRate: number;
  /** The contracted rate: never above it. */
  maxRate: number;
  /** @defaultValue the bucket's current rate */
  initialRate?: number;
  /** Additive increase, in messages/s gained per second of saturated sending. @defaultValue maxRate / 20 */
  increasePerSec?: number;
  /**
   * Multiplicative decrease factor. 0.9 rather than TCP's 0.5: the provider's limit is a fixed
   * rate, not a shared queue, and a shallow sawtooth keeps the average within ~5% of it
   * (a halving would average 75%). @defaultValue 0.9
   */
  decreaseFactor?: number;
  /** Responses slower than this count as congestion. @defaultValue none */
  latencyTargetMs?: number;
  /** Observer for metrics and logs. */
  onChange?: (rate: number, why: 'increase' | 'throttled' | 'latency') => void;
}

/**
 * Additive-increase / multiplicative-decrease of a token bucket's rate from what the provider
 * answers. One decrease per congestion episode: a 429 for a request sent before the last
 * decrease reports the old rate, so it is ignored (as TCP reacts once per window).
 */
export class AimdController {
  readonly #o: Required<Omit<AimdOptions, 'latencyTargetMs' | 'onChange' | 'initialRate'>> & Pick<AimdOptions, 'latencyTargetMs' | 'onChange'>;
  #rate: number;
  #lastDecreaseAt = Number.NEGATIVE_INFINITY;
  #lastIncreaseAt: number;
  decreases = 0;

  constructor(opts: AimdOptions) {
    if (!(opts.minRate > 0 && opts.maxRate >= opts.minRate)) throw new RangeError(`need 0 < minRate <= maxRate, got ${opts.minRate}, ${opts.maxRate}`);
    const decreaseFactor = opts.decreaseFactor ?? 0.9;
    if (!(decreaseFactor > 0 && decreaseFactor < 1)) throw new RangeError(`decreaseFactor must be in (0, 1), got ${decreaseFactor}`);
    this.#o = {
      bucket: opts.bucket,
      timers: opts.timers,
      minRate: opts.minRate,
      maxRate: opts.maxRate,
      increasePerSec: opts.increasePerSec ?? opts.maxRate / 20,
      decreaseFactor,
      latencyTargetMs: opts.latencyTargetMs,
      onChange: opts.onChange,
    };
    this.#rate = Math.min(opts.maxRate, Math.max(opts.minRate, opts.initialRate ?? opts.bucket.rate));
    opts.bucket.setRate(this.#rate);
    this.#lastIncreaseAt = opts.timers.now();
  }

  get rate(): number {
    return this.#rate;
  }

  /** Feeds one response: when its request started, and what came back. */
  observe(startedAt: number, result: ProviderResult): void {
    const now = this.#o.timers.now();
    const slow = this.#o.latencyTargetMs !== undefined && now - startedAt > this.#o.latencyTargetMs;
    const throttled = result.status === 'retry' && result.throttled === true;
    if (throttled || slow) {
      if (startedAt < this.#lastDecreaseAt) return;
      this.#set(Math.max(this.#o.minRate, this.#rate * this.#o.decreaseFactor), throttled ? 'throttled' : 'latency');
      this.#lastDecreaseAt = now;
      this.#lastIncreaseAt = now;
      this.decreases++;
      return;
    }
    if (result.status === 'retry') return;
    // Only a rate in use grows; an idle provider would otherwise creep to maxRate and be hit by a burst.
    if (!this.#o.bucket.saturated) {
      this.#lastIncreaseAt = now;
      return;
    }
    // Clamped so a pause in traffic does not turn into one big jump.
    const dt = Math.min(1000, Math.max(0, now - this.#lastIncreaseAt));
    this.#lastIncreaseAt = now;
    if (this.#rate < this.#o.maxRate) this.#set(Math.min(this.#o.maxRate, this.#rate + (this.#o.increasePerSec * dt) / 1000), 'increase');
  }

  #set(rate: number, why: 'increase' | 'throttled' | 'latency'): void {
    this.#rate = rate;
    this.#o.bucket.setRate(rate);
    this.#o.onChange?.(rate, why);
  }
}

/** Takes a token, sends, and feeds the outcome back to the controller. */
export function withAimd(send: Send, aimd: AimdController, bucket: TokenBucket, timers: Timers): Send {
  return async (intent, signal) => {
    await bucket.take(signal);
    const startedAt = timers.now();
    const result = await send(intent, signal);
    aimd.observe(startedAt, result);
    return result;
  };
}
