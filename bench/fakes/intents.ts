import type { SendIntent } from '../../operators/sinks/dispatcher.js';
import { smsEncoding } from '../../operators/delivery/sms-encoding.js';

let seq = 0;

/** An SMS intent as the decision operator would emit it (DLT fields set, encoding computed). */
export function smsIntent(phone: string, body = 'Your OTP is 123456', over: Partial<SendIntent> = {}): SendIntent {
  const enc = smsEncoding(body);
  const id = `s${++seq}`;
  return {
    sendId: id,
    decisionId: `d-${id}`,
    userId: `u-${phone}`,
    campaignId: 'c1',
    channel: 'sms',
    kind: 'transactional',
    language: 'en',
    to: { phone },
    sms: { body, encoding: enc.encoding, senderId: 'SHPPLS', dltEntityId: '1101000000000000001', dltTemplateId: '1107000000000000001' },
    segments: enc.segments,
    cost: 0,
    expiresAt: Date.now() + 3_600_000,
    ...over,
  };
}

/** A push intent for one device. */
export function pushIntent(platform: 'fcm' | 'apns' | 'web', token: string, over: Partial<SendIntent> = {}): SendIntent {
  const id = `p${++seq}`;
  return {
    sendId: id,
    decisionId: `d-${id}`,
    userId: `u-${token.slice(0, 8)}`,
    campaignId: 'c1',
    channel: 'push',
    kind: 'promotional',
    language: 'en',
    to: { tokens: [{ platform, token }] },
    push: { title: 'Sale', body: '40% off till midnight', deepLink: 'shop://sale', collapseKey: 'sale-1', highPriority: true },
    segments: 1,
    cost: 0,
    expiresAt: Date.now() + 3_600_000,
    ...over,
  };
}
