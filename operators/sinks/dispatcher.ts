import type { OperatorContext } from '../../processor/operator.js';
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
  cost: number;
  error: { code: string; message: string } | null;
  ts: number;
}

/** Where the decision operator hands messages to: the sink layer. */
export interface Dispatcher {
  dispatch(intent: SendIntent, ctx: OperatorContext): Promise<void> | void;
}

/**
 * Records each intent on `nudge.sends` as sent, without calling a provider: the sink for
 * runs without providers configured. The intent is committed with the decision that made it.
 */
export class RecordingDispatcher implements Dispatcher {
  dispatch(intent: SendIntent, ctx: OperatorContext): void {
    const record: SendRecord = {
      sendId: intent.sendId,
      decisionId: intent.decisionId,
      userId: intent.userId,
      campaignId: intent.campaignId,
      channel: intent.channel,
      provider: 'recorded',
      status: 'sent',
      attempt: 1,
      providerMessageId: null,
      segments: intent.segments,
      cost: intent.cost,
      error: null,
      ts: ctx.clock.now(),
    };
    ctx.forward({ role: 'sends', key: intent.userId, value: record });
  }
}
