import type { Dispatcher } from 'undici';
import { ConfigError } from '../../../errors/index.js';
import type { SendIntent } from '../dispatcher.js';
import type { FcmAccessTokens } from './fcm-auth.js';
import { header, isRecord, post, splitBaseUrl, tryJson, type HttpReply } from './http.js';
import { expiredResult, failed, parseRetryAfter, retry, sent, type ProviderAdapter, type ProviderResult } from './provider.js';
import { pushToken, type PushPlatform } from './targets.js';

export interface FcmOptions {
  /** @defaultValue 'fcm' */
  name?: string;
  /** @defaultValue 'https://fcm.googleapis.com' */
  baseUrl?: string;
  projectId: string;
  auth: FcmAccessTokens;
  dispatcher: Dispatcher;
  now: () => number;
  /** Token platforms this project serves. @defaultValue ['fcm', 'web'] */
  platforms?: readonly PushPlatform[];
  /** @defaultValue 10000 */
  timeoutMs?: number;
}

/** FCM's limit on the notification + data payload. */
export const FCM_MAX_PAYLOAD_BYTES = 4096;
/** FCM asks for at least a minute of back-off on QUOTA_EXCEEDED (notes/messaging.md). */
export const FCM_QUOTA_BACKOFF_MS = 60_000;

/** The FcmError code inside `error.details`, else the google.rpc status. */
function fcmErrorCode(json: unknown): { code: string; message: string } {
  const err = isRecord(json) && isRecord(json['error']) ? json['error'] : undefined;
  const message = err !== undefined && typeof err['message'] === 'string' ? err['message'] : 'FCM error';
  const details = err !== undefined && Array.isArray(err['details']) ? (err['details'] as unknown[]) : [];
  for (const d of details) if (isRecord(d) && typeof d['errorCode'] === 'string') return { code: d['errorCode'], message };
  const status = err !== undefined && typeof err['status'] === 'string' ? err['status'] : 'UNKNOWN';
  return { code: status, message };
}

/** FCM v1 error classes as notes/messaging.md documents them. */
export function classifyFcmError(httpStatus: number, code: string, message: string, retryAfterMs: number | undefined): ProviderResult {
  if (httpStatus === 404 || code === 'UNREGISTERED') return failed(code, message, 'remove_token');
  if (code === 'SENDER_ID_MISMATCH' || code === 'INVALID_ARGUMENT') return failed(code, message);
  if (httpStatus === 429 || code === 'QUOTA_EXCEEDED') return retry(code, message, { throttled: true, retryAfterMs: Math.max(FCM_QUOTA_BACKOFF_MS, retryAfterMs ?? 0) });
  if (httpStatus >= 500) return retry(code, message, { retryAfterMs });
  // 401: our access token or the APNs credentials uploaded to Firebase (THIRD_PARTY_AUTH_ERROR)
  // were refused: every message would fail the same way, so it is a provider outage, not this message's fault.
  if (httpStatus === 401 || httpStatus === 403) return retry(code, message);
  return failed(code, message);
}

function fromReply(reply: HttpReply, nowMs: number): ProviderResult {
  const json = tryJson(reply.text);
  if (reply.status === 200) {
    if (isRecord(json) && typeof json['name'] === 'string') return sent(json['name']);
    return retry('bad_reply', 'FCM answered 200 without a message name', { ambiguous: true });
  }
  const { code, message } = fcmErrorCode(json);
  return classifyFcmError(reply.status, code, message, parseRetryAfter(header(reply.headers, 'retry-after'), nowMs));
}

/** The v1 `message` for one device. Data values must be strings in FCM's schema. */
export function fcmMessage(intent: SendIntent, token: string, platform: PushPlatform, nowMs: number): Record<string, unknown> {
  const p = intent.push;
  if (p === undefined) throw new TypeError(`intent ${intent.sendId} has no push content`);
  const ttlS = Math.max(0, Math.floor((intent.expiresAt - nowMs) / 1000));
  const notification: Record<string, string> = { title: p.title, body: p.body };
  if (p.image !== undefined) notification['image'] = p.image;
  const data: Record<string, string> = { sendId: intent.sendId };
  if (p.deepLink !== undefined) data['deepLink'] = p.deepLink;
  const android: Record<string, unknown> = { priority: p.highPriority ? 'HIGH' : 'NORMAL', ttl: `${ttlS}s` };
  if (p.collapseKey !== undefined) android['collapse_key'] = p.collapseKey;
  // iOS devices registered through FCM get these APNs headers from FCM.
  const apnsHeaders: Record<string, string> = { 'apns-priority': p.highPriority ? '10' : '5', 'apns-expiration': String(Math.floor(intent.expiresAt / 1000)) };
  if (p.collapseKey !== undefined) apnsHeaders['apns-collapse-id'] = p.collapseKey;
  const message: Record<string, unknown> = { token, notification, data, android, apns: { headers: apnsHeaders } };
  if (platform === 'web') message['webpush'] = { headers: { TTL: String(ttlS), Urgency: p.highPriority ? 'high' : 'normal' } };
  return message;
}

/** Bytes FCM counts against its 4 KB limit: the notification and data the device receives. */
export function fcmPayloadBytes(message: Record<string, unknown>): number {
  return Buffer.byteLength(JSON.stringify({ notification: message['notification'], data: message['data'] }));
}

/** FCM HTTP v1 `POST /v1/projects/{project}/messages:send` with an OAuth2 bearer token. */
export function createFcmAdapter(opts: FcmOptions): ProviderAdapter {
  if (!/^[a-z0-9-]{1,64}$/i.test(opts.projectId)) throw new ConfigError('providers.fcm.projectId', `"${opts.projectId}" is not a Firebase project id`, 'letters, digits and hyphens');
  const { origin, prefix } = splitBaseUrl(opts.baseUrl ?? 'https://fcm.googleapis.com');
  const path = `${prefix}/v1/projects/${opts.projectId}/messages:send`;
  const platforms = opts.platforms ?? ['fcm', 'web'];
  const timeoutMs = opts.timeoutMs ?? 10_000;

  async function once(body: string, signal: AbortSignal | undefined): Promise<ProviderResult | 'unauthenticated'> {
    const token = await opts.auth.get();
    if (!token.ok) return token.result;
    const out = await post(opts.dispatcher, {
      origin,
      path,
      headers: { authorization: `Bearer ${token.token}`, 'content-type': 'application/json; charset=utf-8' },
      body,
      signal,
      timeoutMs,
    });
    if (!out.ok) return out.result;
    if (out.reply.status === 401 && fcmErrorCode(tryJson(out.reply.text)).code === 'UNAUTHENTICATED') return 'unauthenticated';
    return fromReply(out.reply, opts.now());
  }

  return {
    name: opts.name ?? 'fcm',
    channel: 'push',
    async send(intent: SendIntent, signal?: AbortSignal): Promise<ProviderResult> {
      const now = opts.now();
      const expired = expiredResult(intent, now);
      if (expired !== undefined) return expired;
      const target = pushToken(intent, platforms);
      if (target === undefined) return failed('no_address', 'the intent has no FCM or web push token');
      const message = fcmMessage(intent, target.token, target.platform, now);
      if (fcmPayloadBytes(message) > FCM_MAX_PAYLOAD_BYTES) return failed('payload_too_large', `payload over ${FCM_MAX_PAYLOAD_BYTES} bytes`);
      const body = JSON.stringify({ message });
      const first = await once(body, signal);
      if (first !== 'unauthenticated') return first;
      // The cached token was refused before its expiry (revoked, clock skew): one fresh exchange, then give up.
      opts.auth.invalidate();
      const second = await once(body, signal);
      return second === 'unauthenticated' ? retry('UNAUTHENTICATED', 'FCM refused a fresh access token') : second;
    },
  };
}
