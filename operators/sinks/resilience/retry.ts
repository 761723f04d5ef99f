import type { SendIntent } from '../dispatcher.js';
import type { ProviderResult, Send } from '../providers/provider.js';
import { sleep, type Timers } from './timers.js';

export interface RetryOptions {
  timers: Timers;
  /** Attempts in all, the first included. @defaultValue 4 */
  maxAttempts?: number;
  /** @defaultValue 200 */
  baseDelayMs?: number;
  /** Cap of the exponential term (not of a provider's Retry-After). @defaultValue 10000 */
  maxDelayMs?: number;
  /**
   * Waits longer than this are not slept here: the result goes back to the caller, which can
   * park the message in a durable timer instead of holding it in memory (FCM quota asks ≥ 60 s).
   * @defaultValue 30000
   */
  maxWaitMs?: number;
  /**
   * Retry results marked `ambiguous` (the provider may have the message). Only for messages
   * that may be delivered twice (transactional, collapse-keyed push). @defaultValue false
   */
  retryAmbiguous?: boolean;
  /** In [0, 1). @defaultValue Math.random */
  random?: () => number;
  /** Every attempt's outcome, for `nudge.sends` (one record per attempt) and metrics. */
  onAttempt?: (info: { intent: SendIntent; attempt: number; result: ProviderResult; nextDelayMs: number | undefined }) => void;
}

/**
 * Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And
 * Jitter"): the delay is uniform in [0, min(max, base·2^(n-1))], which spreads a burst of
 * failed sends instead of retrying them in lockstep; a provider's Retry-After is a floor.
 */
export function backoffDelay(attempt: number, retryAfterMs: number | undefined, o: { baseDelayMs: number; maxDelayMs: number; random: () => number }): number {
  const exp = Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** (attempt - 1));
  return Math.max(retryAfterMs ?? 0, Math.floor(o.random() * exp));
}

/**
 * Retries `send` while it returns `retry`. Permanent failures and successes return at once;
 * exceptions (programming errors, aborts) propagate untouched, never retried.
 */
export function withRetry(send: Send, opts: RetryOptions): Send {
  const o = {
    maxAttempts: opts.maxAttempts ?? 4,
    baseDelayMs: opts.baseDelayMs ?? 200,
    maxDelayMs: opts.maxDelayMs ?? 10_000,
    maxWaitMs: opts.maxWaitMs ?? 30_000,
    random: opts.random ?? Math.random,
  };
  return async (intent, signal) => {
    for (let attempt = 1; ; attempt++) {
      const result = await send(intent, signal);
      let delay: number | undefined;
      if (result.status === 'retry' && attempt < o.maxAttempts && (result.ambiguous !== true || opts.retryAmbiguous === true)) {
        delay = backoffDelay(attempt, result.retryAfterMs, o);
        // Past the intent's window the provider would only expire it; beyond maxWaitMs the caller parks it.
        if (delay > o.maxWaitMs || opts.timers.now() + delay >= intent.expiresAt) delay = undefined;
      }
      opts.onAttempt?.({ intent, attempt, result, nextDelayMs: delay });
      if (delay === undefined) return result;
      await sleep(opts.timers, delay, signal);
    }
  };
}
