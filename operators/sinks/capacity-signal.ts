import { request, type Dispatcher } from 'undici';
import { errorMessage } from '../../errors/index.js';
import type { Logger } from '../../processor/logger.js';
import type { CampaignThrottle } from './resilience/campaign-throttle.js';
import type { Timers } from './resilience/timers.js';

export interface CapacitySignalOptions {
  /** GET answers `{"campaigns": {"<campaignId>": <sends per second>, …}}` (JSON). */
  url: string;
  /** Bearer token for the endpoint, if it wants one. */
  token?: string | undefined;
  intervalMs: number;
  timeoutMs: number;
  throttle: CampaignThrottle;
  /** Rates from config: what a campaign falls back to when the signal stops naming it. */
  configured: Readonly<Record<string, number>>;
  timers: Timers;
  log: Logger;
  dispatcher?: Dispatcher;
}

/** A capacity answer is a small JSON object; anything larger is refused unread. */
const MAX_ANSWER_BYTES = 1_048_576;

/**
 * Polls a downstream capacity endpoint (the landing page's, a CDN's) and sets the per-campaign
 * rates from it. The last good answer stays in force when the endpoint fails or answers
 * nonsense: a capacity signal that goes quiet should not unleash a flash sale at full rate.
 */
export class CapacitySignal {
  readonly #o: CapacitySignalOptions;
  /** Campaigns the last good answer named. */
  #named = new Set<string>();
  #cancel: (() => void) | undefined;
  #stopped = false;
  #abort = new AbortController();

  constructor(opts: CapacitySignalOptions) {
    this.#o = opts;
  }

  /** Polls once now, then every `intervalMs`, until stop(). */
  start(): void {
    void this.#tick();
  }

  stop(): void {
    this.#stopped = true;
    this.#cancel?.();
    this.#abort.abort(new Error('capacity signal stopped'));
  }

  /** Applies one answer (exported for the poller's tests): campaigns it names take its rate, the rest their configured one. */
  apply(body: unknown): void {
    const rates = parseCapacity(body);
    const before = this.#named;
    this.#named = new Set(Object.keys(rates));
    for (const [campaignId, rate] of Object.entries(rates)) this.#o.throttle.setRate(campaignId, rate);
    for (const campaignId of before) if (!this.#named.has(campaignId)) this.#o.throttle.setRate(campaignId, this.#o.configured[campaignId]);
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    try {
      const res = await request(this.#o.url, {
        method: 'GET',
        headers: { accept: 'application/json', ...(this.#o.token ? { authorization: `Bearer ${this.#o.token}` } : {}) },
        headersTimeout: this.#o.timeoutMs,
        bodyTimeout: this.#o.timeoutMs,
        signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#o.timeoutMs)]),
        ...(this.#o.dispatcher !== undefined ? { dispatcher: this.#o.dispatcher } : {}),
      });
      if (res.statusCode !== 200) {
        await res.body.dump();
        throw new Error(`answered ${res.statusCode}`);
      }
      this.apply(JSON.parse(await readCapped(res.body, MAX_ANSWER_BYTES)));
    } catch (err) {
      if (this.#stopped) return;
      this.#o.log.warn({ err: errorMessage(err) }, 'capacity signal: poll failed; the last rates stay in force');
    }
    if (!this.#stopped) this.#cancel = this.#o.timers.setTimeout(() => void this.#tick(), this.#o.intervalMs);
  }
}

/** `{"campaigns": {"id": rate ≥ 0}}`; anything else is an error naming what is wrong. */
export function parseCapacity(body: unknown): Record<string, number> {
  const campaigns = (body as { campaigns?: unknown } | null)?.campaigns;
  if (typeof campaigns !== 'object' || campaigns === null || Array.isArray(campaigns)) throw new Error('expected {"campaigns": {"<campaignId>": <sends per second>}}');
  const out: Record<string, number> = {};
  for (const [id, rate] of Object.entries(campaigns)) {
    if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0) throw new Error(`campaigns.${id}: expected a number ≥ 0, got ${JSON.stringify(rate)}`);
    out[id] = rate;
  }
  return out;
}

/** The body as text, or an error once it passes `max` bytes (the rest is not read). */
async function readCapped(body: AsyncIterable<Buffer>, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) throw new Error(`answer larger than ${max} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
