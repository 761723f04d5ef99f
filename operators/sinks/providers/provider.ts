import type { SendIntent } from '../dispatcher.js';

/**
 * What the runtime must do about the recipient after a permanent failure:
 * - `withdraw_consent`: the recipient unsubscribed at the provider (Twilio 21610); suppress the user.
 * - `remove_token`: the device token is dead (FCM UNREGISTERED, APNs 410); purge it (gorush#109, #386).
 * - `invalid_number`: the number cannot receive SMS (Twilio 21211/21614); stop trying it.
 */
export type ProviderAction = 'withdraw_consent' | 'remove_token' | 'invalid_number';

export interface ProviderSent {
  status: 'sent';
  providerMessageId: string;
}

/** The provider refused this message for good: retrying it anywhere is pointless or harmful. */
export interface ProviderFailed {
  status: 'failed';
  permanent: true;
  /** The provider's own code (`21610`, `UNREGISTERED`, `BadDeviceToken`) or one of ours (`expired`, `payload_too_large`). */
  code: string;
  message: string;
  action?: ProviderAction;
}

/** Not sent, may succeed later (or through another provider, unless `ambiguous`). */
export interface ProviderRetry {
  status: 'retry';
  code: string;
  message: string;
  /** The provider asked for this wait (Retry-After, FCM quota ≥ 60 s). Retry loops never wait less. */
  retryAfterMs?: number;
  /** The provider is up but over its rate (429, Twilio 20429/30001): adapt the rate, do not open breakers. */
  throttled?: boolean;
  /**
   * The request may have reached the provider (timeout or reset after it was written), so
   * sending again may duplicate it. Retry and failover skip these unless told otherwise
   * (DESIGN.md send ledger: promotional SMS at most once).
   */
  ambiguous?: boolean;
}

export type ProviderResult = ProviderSent | ProviderFailed | ProviderRetry;

/** One provider endpoint with its credentials and connection, speaking the provider's real wire format. */
export interface ProviderAdapter {
  /** Stable name used in `nudge.sends.provider`, metrics and routing (e.g. `twilio-us`, `gupshup-in`). */
  readonly name: string;
  readonly channel: 'sms' | 'push';
  /**
   * Sends one message. Provider answers become results, never exceptions; it throws only on
   * programming errors (wrong channel, a multi-device push intent) and when `signal` aborts.
   */
  send(intent: SendIntent, signal?: AbortSignal): Promise<ProviderResult>;
  /** Releases what the adapter owns (not the dispatcher it was given). Idempotent. */
  close?(): Promise<void>;
}

/** The send function every resilience wrapper takes and returns. */
export type Send = (intent: SendIntent, signal?: AbortSignal) => Promise<ProviderResult>;

export function sent(providerMessageId: string): ProviderSent {
  return { status: 'sent', providerMessageId };
}

export function failed(code: string, message: string, action?: ProviderAction): ProviderFailed {
  return action === undefined ? { status: 'failed', permanent: true, code, message } : { status: 'failed', permanent: true, code, message, action };
}

export function retry(code: string, message: string, extra: { retryAfterMs?: number | undefined; throttled?: boolean; ambiguous?: boolean } = {}): ProviderRetry {
  const r: ProviderRetry = { status: 'retry', code, message };
  if (extra.retryAfterMs !== undefined) r.retryAfterMs = extra.retryAfterMs;
  if (extra.throttled === true) r.throttled = true;
  if (extra.ambiguous === true) r.ambiguous = true;
  return r;
}

/** Intents past their window are not sent: the campaign no longer wants them (and Twilio would fail them with 30036). */
export function expiredResult(intent: SendIntent, nowMs: number): ProviderFailed | undefined {
  return intent.expiresAt <= nowMs ? failed('expired', 'the intent expired before it was sent') : undefined;
}

/**
 * Retry-After as milliseconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3). `nowMs` is
 * the caller's clock, needed only for the date form.
 */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}
