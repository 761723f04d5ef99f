import type { SendIntent } from './dispatcher.js';
import type { ProviderAdapter, ProviderResult } from './providers/provider.js';
import { retry } from './providers/provider.js';
import { AimdController } from './resilience/aimd.js';
import { CircuitBreaker, type BreakerState, type CircuitBreakerOptions } from './resilience/circuit-breaker.js';
import { TokenBucket } from './resilience/token-bucket.js';
import type { Timers } from './resilience/timers.js';

/** One provider in a country's list. */
export interface ProviderRoute {
  adapter: ProviderAdapter;
  /** Price per billed SMS segment, or per push message, in the budget currency. */
  pricePerSegment: number;
  /** Contracted rate for this provider in this country (notes/messaging.md: model each provider × country as its own budget). */
  ratePerSec: number;
  /** @defaultValue max(1, ratePerSec / 10): a tenth of a second of sends */
  burst?: number;
  /** Adapt the rate to the provider's 429s and latency, between `minRate` and `ratePerSec`. */
  adaptive?: { minRate: number; increasePerSec?: number; decreaseFactor?: number; latencyTargetMs?: number };
}

export interface RouteTable {
  /** ISO 3166 alpha-2, or '*' for any country without its own table (push usually). */
  country: string;
  channel: 'sms' | 'push';
  /** In order of preference: ties in price go to the earlier one. */
  providers: ProviderRoute[];
}

export interface RouterOptions {
  routes: readonly RouteTable[];
  timers: Timers;
  /** One breaker per provider (an outage is the endpoint's, whatever the country). */
  breaker?: Omit<CircuitBreakerOptions, 'timers'>;
  /** Below this recent delivery rate a provider is only used when no healthy one is left. @defaultValue 0.5 */
  minDeliveryRate?: number;
  /** Receipts before the delivery rate counts. @defaultValue 50 */
  minDeliverySamples?: number;
  /** Country of an intent when the caller does not say; default: by the phone number's calling code. */
  countryOf?: (intent: SendIntent) => string | undefined;
  onAttempt?: (attempt: RouteAttempt, intent: SendIntent) => void;
}

export interface ProviderChoice {
  provider: string;
  country: string;
  cost: number;
  adapter: ProviderAdapter;
}

export interface RouteAttempt {
  provider: string;
  /** What this provider charges for the message: its route's price per segment × segments (one unit for push). */
  cost: number;
  result: ProviderResult;
  /** `timers.now()` when the attempt ended. */
  ts: number;
}

export interface RoutedResult {
  /** The provider of the last attempt, or undefined when none could be tried. */
  provider: string | undefined;
  result: ProviderResult;
  attempts: RouteAttempt[];
}

export interface ProviderHealth {
  provider: string;
  breaker: BreakerState;
  /** Exponentially weighted share of receipts that were delivered; undefined until enough receipts. */
  deliveryRate: number | undefined;
  healthy: boolean;
}

/** Calling codes of the shipped countries (config/default-countries.ts), longest match first. */
const CALLING_CODES: ReadonlyArray<[string, string]> = [
  ['91', 'IN'],
  ['62', 'ID'],
  ['55', 'BR'],
  ['44', 'GB'],
  ['1', 'US'],
];

export function countryByCallingCode(intent: SendIntent): string | undefined {
  const digits = intent.to.phone?.replace(/^\+/, '');
  if (digits === undefined) return undefined;
  for (const [code, country] of CALLING_CODES) if (digits.startsWith(code)) return country;
  return undefined;
}

interface Lane {
  route: ProviderRoute;
  country: string;
  bucket: TokenBucket;
  aimd: AimdController | undefined;
}

interface ProviderState {
  breaker: CircuitBreaker;
  delivered: number;
  samples: number;
}

/** EWMA weight of one receipt: about the last 100 receipts matter. */
const DELIVERY_ALPHA = 0.01;

/**
 * Chooses a provider per country and channel: the cheapest healthy one (ties by list order),
 * skipping open breakers, and fails over to the next on an outage. Each provider × country
 * has its own token bucket (optionally AIMD-adapted); each provider one circuit breaker.
 */
export class Router {
  readonly #o: RouterOptions;
  readonly #tables = new Map<string, Lane[]>();
  readonly #providers = new Map<string, ProviderState>();

  constructor(opts: RouterOptions) {
    this.#o = opts;
    for (const table of opts.routes) {
      const lanes: Lane[] = [];
      for (const route of table.providers) {
        const name = route.adapter.name;
        if (route.adapter.channel !== table.channel) throw new RangeError(`provider ${name} is ${route.adapter.channel}, listed under ${table.channel} for ${table.country}`);
        const bucket = new TokenBucket({ ratePerSec: route.ratePerSec, burst: route.burst ?? Math.max(1, route.ratePerSec / 10), timers: opts.timers });
        const a = route.adaptive;
        const aimd = a === undefined ? undefined : new AimdController({ bucket, timers: opts.timers, minRate: a.minRate, maxRate: route.ratePerSec, initialRate: route.ratePerSec, ...(a.increasePerSec !== undefined ? { increasePerSec: a.increasePerSec } : {}), ...(a.decreaseFactor !== undefined ? { decreaseFactor: a.decreaseFactor } : {}), ...(a.latencyTargetMs !== undefined ? { latencyTargetMs: a.latencyTargetMs } : {}) });
        lanes.push({ route, country: table.country, bucket, aimd });
        if (!this.#providers.has(name)) this.#providers.set(name, { breaker: new CircuitBreaker({ ...opts.breaker, timers: opts.timers }), delivered: 0, samples: 0 });
      }
      this.#tables.set(`${table.country}|${table.channel}`, lanes);
    }
  }

  /** Providers to try for this intent, best first: healthy by cost, then degraded by cost; open breakers left out. */
  candidates(intent: SendIntent, country?: string): ProviderChoice[] {
    const c = country ?? this.#o.countryOf?.(intent) ?? countryByCallingCode(intent) ?? '*';
    return this.#ranked(intent, c).map(({ lane, cost }) => ({ provider: lane.route.adapter.name, country: lane.country, cost, adapter: lane.route.adapter }));
  }

  /** The cheapest healthy provider, or undefined when every breaker is open or none serves the country. */
  choose(intent: SendIntent, country?: string): ProviderChoice | undefined {
    return this.candidates(intent, country)[0];
  }

  /**
   * Sends through the best provider, failing over to the next on an outage or throttling.
   * Never fails over an `ambiguous` result: the first provider may have the message, and a
   * second send could deliver it twice.
   */
  async send(intent: SendIntent, signal?: AbortSignal, country?: string): Promise<RoutedResult> {
    const c = country ?? this.#o.countryOf?.(intent) ?? countryByCallingCode(intent) ?? '*';
    const attempts: RouteAttempt[] = [];
    let last: ProviderResult | undefined;
    let provider: string | undefined;
    for (const { lane, cost } of this.#ranked(intent, c)) {
      const name = lane.route.adapter.name;
      const state = this.#providers.get(name) as ProviderState;
      const permit = state.breaker.acquire();
      if (permit === undefined) continue;
      let result: ProviderResult;
      let started: number;
      try {
        await lane.bucket.take(signal);
        started = this.#o.timers.now();
        result = await lane.route.adapter.send(intent, signal);
      } catch (err) {
        state.breaker.release(permit);
        throw err;
      }
      const now = this.#o.timers.now();
      state.breaker.record(permit, result, now - started);
      lane.aimd?.observe(started, result);
      const attempt: RouteAttempt = { provider: name, cost, result, ts: now };
      attempts.push(attempt);
      this.#o.onAttempt?.(attempt, intent);
      last = result;
      provider = name;
      if (result.status !== 'retry' || result.ambiguous === true) break;
    }
    if (last === undefined) return { provider: undefined, result: retry('no_provider', `no healthy ${intent.channel} provider for ${c}`, { retryAfterMs: this.#soonestProbeMs() }), attempts };
    return { provider, result: last, attempts };
  }

  /** A delivery receipt (nudge.receipts) for a message this provider accepted. */
  recordDelivery(provider: string, delivered: boolean): void {
    const s = this.#providers.get(provider);
    if (s === undefined) return;
    s.samples++;
    // A plain mean until there are 1/α receipts (so the first one does not dominate), then an EWMA.
    const w = Math.max(DELIVERY_ALPHA, 1 / s.samples);
    s.delivered += w * ((delivered ? 1 : 0) - s.delivered);
  }

  health(): ProviderHealth[] {
    return [...this.#providers].map(([provider, s]) => {
      const deliveryRate = s.samples >= (this.#o.minDeliverySamples ?? 50) ? s.delivered : undefined;
      const breaker = s.breaker.state;
      return { provider, breaker, deliveryRate, healthy: breaker !== 'open' && (deliveryRate === undefined || deliveryRate >= (this.#o.minDeliveryRate ?? 0.5)) };
    });
  }

  /** The token bucket of a provider × country (its rate is live when adaptive). */
  bucket(provider: string, country: string, channel: 'sms' | 'push' = 'sms'): TokenBucket | undefined {
    return this.#tables.get(`${country}|${channel}`)?.find((l) => l.route.adapter.name === provider)?.bucket;
  }

  breaker(provider: string): CircuitBreaker | undefined {
    return this.#providers.get(provider)?.breaker;
  }

  #ranked(intent: SendIntent, country: string): Array<{ lane: Lane; cost: number }> {
    const lanes = this.#tables.get(`${country}|${intent.channel}`) ?? this.#tables.get(`*|${intent.channel}`) ?? [];
    const health = new Map(this.health().map((h) => [h.provider, h]));
    const units = intent.channel === 'sms' ? Math.max(1, intent.segments) : 1;
    const scored = lanes
      .map((lane, order) => ({ lane, order, cost: lane.route.pricePerSegment * units, h: health.get(lane.route.adapter.name) }))
      .filter((x) => x.h !== undefined && x.h.breaker !== 'open');
    // Healthy before degraded, then cheapest, then the configured order (sort is stable).
    scored.sort((a, b) => Number(b.h?.healthy) - Number(a.h?.healthy) || a.cost - b.cost || a.order - b.order);
    return scored.map(({ lane, cost }) => ({ lane, cost }));
  }

  #soonestProbeMs(): number | undefined {
    let soonest: number | undefined;
    for (const s of this.#providers.values()) {
      const ms = s.breaker.retryInMs;
      if (soonest === undefined || ms < soonest) soonest = ms;
    }
    return soonest;
  }
}
