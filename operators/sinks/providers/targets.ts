import type { SendIntent } from '../dispatcher.js';

export type PushPlatform = 'fcm' | 'apns' | 'web';

/**
 * The E.164 number of an SMS intent, or undefined when the profile had none: a data problem
 * reported as a permanent failure, not a crash of the partition.
 */
export function smsNumber(intent: SendIntent): string | undefined {
  const p = intent.to.phone?.trim();
  if (p === undefined || p === '') return undefined;
  return p.startsWith('+') ? p : `+${p}`;
}

/** Indian gateways (Gupshup, MSG91) take the number with its country code and no `+`. */
export function digitsOnly(e164: string): string {
  return e164.replace(/^\+/, '');
}

/**
 * The one device token of an intent for these platforms. A push send is one device: FCM v1
 * and APNs both address a single token per request, and the runtime needs to know which
 * token a `remove_token` result is about. Intents for several devices go through `perDevice`
 * first; passing one here is a programming error.
 */
export function pushToken(intent: SendIntent, platforms: readonly PushPlatform[]): { platform: PushPlatform; token: string } | undefined {
  const tokens = (intent.to.tokens ?? []).filter((t) => platforms.includes(t.platform));
  if (tokens.length > 1) throw new TypeError(`push intent ${intent.sendId} has ${tokens.length} device tokens; split it with perDevice() first`);
  return tokens[0];
}

/** One intent per device token, each with a `sendId` suffixed by the device index so receipts stay distinct. */
export function perDevice(intent: SendIntent): SendIntent[] {
  const tokens = intent.to.tokens ?? [];
  if (tokens.length <= 1) return [intent];
  return tokens.map((t, i) => ({ ...intent, sendId: `${intent.sendId}.${i}`, to: { tokens: [t] } }));
}
