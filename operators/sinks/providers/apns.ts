import { Client } from 'undici';
import type { Dispatcher } from 'undici';
import { ConfigError } from '../../../errors/index.js';
import type { SendIntent } from '../dispatcher.js';
import type { ApnsProviderToken } from './apns-auth.js';
import { header, isRecord, post, splitBaseUrl, tryJson, type HttpReply } from './http.js';
import { expiredResult, failed, parseRetryAfter, retry, sent, type ProviderAdapter, type ProviderResult } from './provider.js';
import { pushToken } from './targets.js';

export const APNS_PRODUCTION = 'https://api.push.apple.com';
export const APNS_SANDBOX = 'https://api.sandbox.push.apple.com';
export const APNS_MAX_PAYLOAD_BYTES = 4096;

export interface ApnsOptions {
  /** @defaultValue 'apns' */
  name?: string;
  /** @defaultValue APNS_PRODUCTION */
  baseUrl?: string;
  /** The app's bundle id (`apns-topic`). */
  topic: string;
  token: ApnsProviderToken;
  /** An HTTP/2 dispatcher to `baseUrl`: see `createApnsClient`. */
  dispatcher: Dispatcher;
  now: () => number;
  /** @defaultValue 10000 */
  timeoutMs?: number;
}

/**
 * One long-lived HTTP/2 connection to APNs carrying many concurrent streams (Apple asks
 * providers to keep connections open rather than reconnect per message). undici negotiates h2
 * over TLS by ALPN; `ca` lets tests trust the fake's throwaway certificate.
 */
export function createApnsClient(baseUrl: string, opts: { ca?: string; maxConcurrentStreams?: number } = {}): Client {
  const streams = opts.maxConcurrentStreams ?? 500;
  return new Client(baseUrl, {
    allowH2: true,
    maxConcurrentStreams: streams,
    // undici bounds in-flight requests per connection by pipelining, also for h2 streams.
    pipelining: streams,
    ...(opts.ca !== undefined ? { connect: { ca: opts.ca } } : {}),
  });
}

/** APNs error classes as notes/messaging.md documents them, plus the provider-token reasons. */
export function classifyApnsError(httpStatus: number, reason: string, retryAfterMs: number | undefined): ProviderResult {
  if (httpStatus === 410 || reason === 'Unregistered') return failed(reason, 'the device token is no longer active', 'remove_token');
  if (httpStatus === 413 || reason === 'PayloadTooLarge') return failed(reason, 'payload over 4 KB');
  // BadDeviceToken is permanent but not a purge: it is also what a sandbox token gets from production (our config).
  if (reason === 'BadDeviceToken') return failed(reason, 'the device token is malformed or for the other environment');
  if (httpStatus === 429) return retry(reason, 'APNs asked us to slow down', { throttled: true, retryAfterMs });
  if (httpStatus >= 500) return retry(reason, 'APNs is unavailable', { retryAfterMs });
  // 403 provider-token problems fail every message alike: provider-level, for the breaker.
  if (httpStatus === 403) return retry(reason, 'APNs refused the provider token');
  return failed(reason, `APNs refused the request (${httpStatus})`);
}

function fromReply(reply: HttpReply, nowMs: number): ProviderResult {
  if (reply.status === 200) return sent(header(reply.headers, 'apns-id') ?? '');
  const json = tryJson(reply.text);
  const reason = isRecord(json) && typeof json['reason'] === 'string' ? json['reason'] : `http_${reply.status}`;
  return classifyApnsError(reply.status, reason, parseRetryAfter(header(reply.headers, 'retry-after'), nowMs));
}

/** The JSON payload the device receives. */
export function apnsPayload(intent: SendIntent): string {
  const p = intent.push;
  if (p === undefined) throw new TypeError(`intent ${intent.sendId} has no push content`);
  // mutable-content lets the app's notification service extension fetch the image.
  const aps: Record<string, unknown> = { alert: { title: p.title, body: p.body }, sound: 'default', ...(p.image !== undefined ? { 'mutable-content': 1 } : {}) };
  const payload: Record<string, unknown> = { aps, sendId: intent.sendId };
  if (p.deepLink !== undefined) payload['deepLink'] = p.deepLink;
  if (p.image !== undefined) payload['image'] = p.image;
  return JSON.stringify(payload);
}

/** APNs `POST /3/device/{token}` over HTTP/2 with a provider (JWT) token. */
export function createApnsAdapter(opts: ApnsOptions): ProviderAdapter {
  if (opts.topic === '') throw new ConfigError('providers.apns.topic', 'empty', "the app's bundle id");
  const { origin, prefix } = splitBaseUrl(opts.baseUrl ?? APNS_PRODUCTION);
  const timeoutMs = opts.timeoutMs ?? 10_000;

  async function once(intent: SendIntent, token: string, body: string, signal: AbortSignal | undefined): Promise<ProviderResult> {
    const p = intent.push as NonNullable<SendIntent['push']>;
    const headers: Record<string, string> = {
      authorization: `bearer ${opts.token.current()}`,
      'apns-topic': opts.topic,
      'apns-push-type': 'alert',
      // 10 delivers at once; 5 lets iOS batch for battery, which promotions can afford.
      'apns-priority': p.highPriority ? '10' : '5',
      'apns-expiration': String(Math.floor(intent.expiresAt / 1000)),
      'content-type': 'application/json',
    };
    if (p.collapseKey !== undefined) headers['apns-collapse-id'] = p.collapseKey;
    const out = await post(opts.dispatcher, { origin, path: `${prefix}/3/device/${encodeURIComponent(token)}`, headers, body, signal, timeoutMs, multiplex: true });
    return out.ok ? fromReply(out.reply, opts.now()) : out.result;
  }

  return {
    name: opts.name ?? 'apns',
    channel: 'push',
    async send(intent: SendIntent, signal?: AbortSignal): Promise<ProviderResult> {
      if (intent.push === undefined) throw new TypeError(`intent ${intent.sendId} has no push content`);
      const expired = expiredResult(intent, opts.now());
      if (expired !== undefined) return expired;
      const target = pushToken(intent, ['apns']);
      if (target === undefined) return failed('no_address', 'the intent has no APNs token');
      const body = apnsPayload(intent);
      if (Buffer.byteLength(body) > APNS_MAX_PAYLOAD_BYTES) return failed('PayloadTooLarge', `payload over ${APNS_MAX_PAYLOAD_BYTES} bytes`);
      const result = await once(intent, target.token, body, signal);
      // Clock drift made APNs call our token expired: one retry with a new token, when allowed.
      if (result.status === 'retry' && result.code === 'ExpiredProviderToken' && opts.token.expired()) return once(intent, target.token, body, signal);
      return result;
    },
  };
}
