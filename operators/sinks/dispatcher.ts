import type { Channel, Kind } from '../decisions/types.js';

/** A message ready to go: hydrated, encoded, costed. Carries the address, so it never goes to a log. */
export interface SendIntent {
  sendId: string;
  decisionId: string;
  userId: string;
  campaignId: string;
  channel: Channel;
  kind: Kind;
  language: string;
  /** Phone number (SMS) or device tokens (push): delivery only. */
  to: { phone?: string; tokens?: Array<{ platform: 'fcm' | 'apns' | 'web'; token: string }> };
  sms?: { body: string; senderId?: string; dltEntityId?: string; dltTemplateId?: string; encoding: 'GSM-7' | 'UCS-2' };
  push?: { title: string; body: string; image?: string; deepLink?: string; collapseKey?: string; highPriority: boolean };
  segments: number;
  cost: number;
  /** Deliver no later than this (campaign window end), epoch ms. */
  expiresAt: number;
}

/** The `nudge.sends` record of CONTRACT.md (no address in it). */
export interface SendRecord {
  sendId: string;
  decisionId: string;
  userId: string;
  campaignId: string;
  channel: Channel;
  provider: string;
  status: 'sent' | 'failed' | 'retrying' | 'dropped';
  attempt: number;
  providerMessageId: string | null;
  segments: number;
  /** The decision's estimate (the policy's prices), as budgets count it; 0 unless sent. */
  cost: number;
  /**
   * What the provider that took the message charges for it (its route's `pricePerSegment` ×
   * segments): on a `sent` record of a priced route only. It differs from `cost` when the
   * router chose a provider other than the one the policy prices by, on failover or by health.
   */
  providerCost?: number;
  error: { code: string; message: string } | null;
  ts: number;
}

/**
 * Send ids carry the user id (base64url), so a delivery report that names only the send
 * (Gupshup has one report URL per account) can still be keyed by user, as every
 * user-keyed topic must be.
 */
export function sendIdFor(decisionId: string, userId: string, n: number): string {
  return `${decisionId}.${n}.${Buffer.from(userId, 'utf8').toString('base64url')}`;
}

export function userIdFromSendId(sendId: string): string | undefined {
  // Per-device push sends append ".<device>" (providers/targets.ts): the user is always the third part.
  const parts = sendId.split('.');
  if (parts.length < 3 || !/^[A-Za-z0-9_-]+$/.test(parts[2] as string)) return undefined;
  const userId = Buffer.from(parts[2] as string, 'base64url').toString('utf8');
  return userId === '' ? undefined : userId;
}

/** The effect kind of a message send: the decision operator asks, a sink performs. */
export const SEND_EFFECT = 'send';

/** The signal kind of a delivery receipt, for the sinks' provider health. */
export const DELIVERY_SIGNAL = 'delivery';

/** What a delivery receipt tells routing: whether a message this provider accepted reached the phone. */
export interface DeliverySignal {
  provider: string;
  delivered: boolean;
}

/** One provider attempt, as the sink reports it; each becomes a `nudge.sends` record. */
export interface SendAttempt {
  provider: string;
  status: 'sent' | 'failed' | 'retrying' | 'dropped';
  providerMessageId?: string | null;
  /** What the provider charges for the message, on an attempt it accepted (SendRecord.providerCost). */
  providerCost?: number;
  error?: { code: string; message: string } | null;
  /** Epoch ms the attempt finished (the sink's clock). */
  ts: number;
}

/** What a sink reports for a send effect once it is done with it (after retries and failover). */
export interface SendOutcome {
  [key: string]: unknown;
  final: 'sent' | 'failed' | 'dropped';
  attempts: SendAttempt[];
  /** Feedback for the user's state: a permanent error that says something about the recipient. */
  action?: 'withdraw_consent' | 'remove_token' | 'invalid_number';
  /** The token a `remove_token` refers to. */
  token?: string;
}
