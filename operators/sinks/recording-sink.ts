import type { Clock } from '../../processor/clock.js';
import type { Effect, EffectHandler } from '../../processor/effects.js';
import { SEND_EFFECT, type SendOutcome } from './dispatcher.js';

/**
 * The sink for runs without providers configured: every send succeeds at once and is
 * recorded as sent by "recorded". Nothing leaves the process.
 */
export class RecordingSink implements EffectHandler {
  readonly kind = SEND_EFFECT;
  readonly #clock: Clock;
  sent = 0;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  async run(effect: Effect): Promise<SendOutcome> {
    this.sent++;
    return { final: 'sent', attempts: [{ provider: 'recorded', status: 'sent', providerMessageId: `rec-${effect.id}`, error: null, ts: this.#clock.now() }] };
  }
}
