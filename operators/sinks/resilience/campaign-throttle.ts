import type { SendIntent } from '../dispatcher.js';
import { TokenBucket } from './token-bucket.js';
import type { Timers } from './timers.js';

export interface CampaignThrottleOptions {
  timers: Timers;
  /** Sends per second per campaign for the whole deployment, from config; a signal overrides them. */
  rates?: Readonly<Record<string, number>>;
  /**
   * This replica's share of the deployment's sends (owned partitions ÷ all partitions): each
   * replica paces its own share, so the replicas together keep to the rate. @defaultValue () => 1
   */
  share?: () => number;
  /** Seconds of sends that may go at once after an idle spell. @defaultValue 0.1 */
  burstSeconds?: number;
}

/** Why a send did not go: its campaign's window closed while it waited for capacity. */
export class CampaignThrottled extends Error {
  readonly code = 'campaign_throttled';
}

interface Lane {
  /** The deployment-wide rate; 0 holds the campaign's sends until it rises. */
  rate: number;
  bucket: TokenBucket | undefined;
  held: Array<() => void>;
  /** Aborted when the bucket is replaced or removed, so its waiters look again. */
  generation: AbortController;
}

/** The abort reason that sends a waiter round again rather than failing it. */
const RETHINK = Symbol('campaign rate changed');

/**
 * Per-campaign send rates that follow a downstream capacity signal: a flash sale must not
 * send faster than its landing page can take visitors. Promotional and reminder messages
 * wait for their campaign's token; transactional and service messages (an OTP has no
 * landing page) never do. A rate of 0 holds the campaign's sends until the signal raises
 * it, and a send still waiting when its window closes is given up rather than sent late.
 */
export class CampaignThrottle {
  readonly #o: CampaignThrottleOptions;
  readonly #lanes = new Map<string, Lane>();

  constructor(opts: CampaignThrottleOptions) {
    this.#o = opts;
    for (const [campaignId, rate] of Object.entries(opts.rates ?? {})) this.setRate(campaignId, rate);
  }

  /** The deployment-wide rate in force for a campaign, or undefined when it is not limited. */
  rateOf(campaignId: string): number | undefined {
    return this.#lanes.get(campaignId)?.rate;
  }

  /** Sends waiting for their campaign's capacity, all campaigns. */
  get waiting(): number {
    let n = 0;
    for (const lane of this.#lanes.values()) n += lane.held.length + (lane.bucket?.waiting ?? 0);
    return n;
  }

  /** Sets a campaign's deployment-wide rate (sends/s); 0 holds its sends, undefined lifts the limit. */
  setRate(campaignId: string, rate: number | undefined): void {
    if (rate !== undefined && !(Number.isFinite(rate) && rate >= 0)) throw new RangeError(`rate for ${campaignId} must be a number ≥ 0, got ${rate}`);
    const lane = this.#lanes.get(campaignId);
    if (rate === undefined) {
      if (lane === undefined) return;
      this.#lanes.delete(campaignId);
      lane.generation.abort(RETHINK);
      for (const release of lane.held.splice(0)) release();
      return;
    }
    const next = lane ?? { rate, bucket: undefined, held: [], generation: new AbortController() };
    next.rate = rate;
    this.#lanes.set(campaignId, next);
    this.#apply(next);
  }

  /** Re-applies every rate after this replica's share changed (a rebalance). */
  reshare(): void {
    for (const lane of this.#lanes.values()) this.#apply(lane);
  }

  /**
   * Resolves when the intent may go. Rejects with CampaignThrottled when its window closes
   * first, or with the signal's reason on abort.
   */
  async take(intent: SendIntent, signal?: AbortSignal): Promise<void> {
    if (intent.kind === 'transactional' || intent.kind === 'service') return;
    const lane = this.#lanes.get(intent.campaignId);
    if (lane === undefined) return;
    if (lane.bucket?.tryTake() === true) return;
    const deadline = new AbortController();
    const cancel = this.#o.timers.setTimeout(() => deadline.abort(new CampaignThrottled(`campaign ${intent.campaignId}: its window closed while waiting for capacity`)), Math.max(0, intent.expiresAt - this.#o.timers.now()));
    try {
      for (;;) {
        const current = this.#lanes.get(intent.campaignId);
        if (current === undefined) return;
        const generation = current.generation.signal;
        const any = AbortSignal.any(signal === undefined ? [deadline.signal, generation] : [signal, deadline.signal, generation]);
        try {
          if (current.bucket !== undefined) {
            await current.bucket.take(any);
            return;
          }
          await hold(current, any);
        } catch (err) {
          // The rate went to 0 or the limit was lifted while we waited: look again.
          if (generation.aborted && !deadline.signal.aborted && signal?.aborted !== true) continue;
          throw err;
        }
      }
    } finally {
      cancel();
    }
  }

  #apply(lane: Lane): void {
    const share = Math.min(1, Math.max(0, this.#o.share?.() ?? 1));
    const local = lane.rate * share;
    if (!(local > 0)) {
      // Waiters on the old bucket would go on getting its tokens: send them round to be held.
      if (lane.bucket !== undefined) {
        lane.bucket = undefined;
        lane.generation.abort(RETHINK);
        lane.generation = new AbortController();
      }
      return;
    }
    const burst = Math.max(1, local * (this.#o.burstSeconds ?? 0.1));
    if (lane.bucket === undefined) lane.bucket = new TokenBucket({ ratePerSec: local, burst, timers: this.#o.timers });
    else {
      lane.bucket.setRate(local);
      lane.bucket.setBurst(burst);
    }
    // Sends held while the campaign was at 0 go back to waiting for tokens.
    for (const release of lane.held.splice(0)) release();
  }
}

/** Waits until the lane changes (a new rate), or rejects when `signal` aborts. */
function hold(lane: Lane, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      const i = lane.held.indexOf(release);
      if (i >= 0) lane.held.splice(i, 1);
      reject(signal.reason as Error);
    };
    const release = () => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    };
    lane.held.push(release);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
