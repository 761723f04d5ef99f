import type { Clock } from '../../processor/clock.js';
import type { Effect, EffectHandler, Signal } from '../../processor/effects.js';
import type { ProcessorMetrics } from '../../processor/metrics.js';
import { DELIVERY_SIGNAL, SEND_EFFECT, type DeliverySignal, type SendAttempt, type SendIntent, type SendOutcome } from './dispatcher.js';
import type { ProviderResult } from './providers/provider.js';
import { perDevice } from './providers/targets.js';
import type { Router } from './routing.js';
import { CampaignThrottled, type CampaignThrottle } from './resilience/campaign-throttle.js';

/**
 * The sink for real (or fake) providers: routes each send by country, cost and health,
 * with the router's retries, rate limits, breakers and failover, and reports every
 * attempt. A push to several devices is one provider call per device.
 */
export class ProviderSink implements EffectHandler {
  readonly kind = SEND_EFFECT;
  readonly #router: Router;
  readonly #clock: Clock;
  readonly #metrics: ProcessorMetrics | undefined;

  readonly #throttle: CampaignThrottle | undefined;

  /** `throttle`: per-campaign rates (the landing page's capacity) that promotional sends wait for. */
  constructor(router: Router, clock: Clock, metrics?: ProcessorMetrics, throttle?: CampaignThrottle) {
    this.#router = router;
    this.#clock = clock;
    this.#metrics = metrics;
    this.#throttle = throttle;
  }

  /** Delivery receipts feed the provider's health in routing (a low delivery rate goes last). */
  observe(signal: Signal): void {
    if (signal.kind !== DELIVERY_SIGNAL) return;
    const { provider, delivered } = signal.payload as DeliverySignal;
    this.#router.recordDelivery(provider, delivered);
  }

  async run(effect: Effect, signal: AbortSignal): Promise<SendOutcome> {
    const intent = effect.payload as SendIntent;
    const attempts: SendAttempt[] = [];
    if (this.#throttle !== undefined) {
      try {
        // Waiting here holds one of the runner's send slots: a throttled campaign backs up
        // into its partitions (bounded, then paused) instead of into memory.
        await this.#throttle.take(intent, signal);
      } catch (err) {
        if (!(err instanceof CampaignThrottled)) throw err;
        return { final: 'dropped', attempts: [{ provider: 'none', status: 'dropped', providerMessageId: null, error: { code: err.code, message: err.message }, ts: this.#clock.now() }] };
      }
    }
    let sent = false;
    let permanent = false;
    let action: SendOutcome['action'];
    let token: string | undefined;
    for (const one of intent.channel === 'push' ? perDevice(intent) : [intent]) {
      const started = performance.now();
      const routed = await this.#router.send(one, signal);
      for (const a of routed.attempts) {
        this.#metrics?.providerLatency.observe({ provider: a.provider }, (performance.now() - started) / 1000 / Math.max(1, routed.attempts.length));
        attempts.push(attempt(a.provider, a.cost, a.result, a.ts));
      }
      const r = routed.result;
      if (r.status === 'sent') sent = true;
      if (r.status === 'failed') {
        permanent = true;
        if (r.action !== undefined) {
          action = r.action;
          if (r.action === 'remove_token') token = one.to.tokens?.[0]?.token;
        }
      }
      if (routed.attempts.length === 0) attempts.push({ provider: routed.provider ?? 'none', status: 'dropped', error: { code: r.status === 'sent' ? 'none' : r.code, message: r.status === 'sent' ? '' : r.message }, ts: this.#clock.now() });
    }
    const final: SendOutcome['final'] = sent ? 'sent' : permanent ? 'failed' : 'dropped';
    // The last attempt of a message that was given up on says so.
    const last = attempts[attempts.length - 1];
    if (final === 'dropped' && last !== undefined && last.status === 'retrying') last.status = 'dropped';
    return { final, attempts, ...(action !== undefined ? { action } : {}), ...(token !== undefined ? { token } : {}) };
  }
}

function attempt(provider: string, cost: number, result: ProviderResult, ts: number): SendAttempt {
  switch (result.status) {
    case 'sent':
      return { provider, status: 'sent', providerMessageId: result.providerMessageId, providerCost: cost, error: null, ts };
    case 'failed':
      return { provider, status: 'failed', providerMessageId: null, error: { code: result.code, message: result.message }, ts };
    case 'retry':
      return { provider, status: 'retrying', providerMessageId: null, error: { code: result.code, message: result.message }, ts };
  }
}
