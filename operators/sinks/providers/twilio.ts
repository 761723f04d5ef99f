import type { Dispatcher } from 'undici';
import { ConfigError } from '../../../errors/index.js';
import type { SendIntent } from '../dispatcher.js';
import { header, isRecord, post, splitBaseUrl, tryJson, type HttpReply } from './http.js';
import { expiredResult, failed, parseRetryAfter, retry, sent, type ProviderAdapter, type ProviderResult } from './provider.js';
import { smsNumber } from './targets.js';

export interface TwilioOptions {
  /** @defaultValue 'twilio' */
  name?: string;
  /** @defaultValue 'https://api.twilio.com' */
  baseUrl?: string;
  accountSid: string;
  authToken: string;
  /** Sender number or alphanumeric ID; else the intent's senderId. Ignored when messagingServiceSid is set. */
  from?: string;
  /** Lets Twilio pick the sender from a pool (and apply its own queueing). */
  messagingServiceSid?: string;
  /** Where Twilio posts status callbacks (the `/v1/receipts/twilio` webhook). */
  statusCallbackUrl?: string;
  dispatcher: Dispatcher;
  /** Epoch ms: ValidityPeriod is computed from the intent's expiresAt. */
  now: () => number;
  /** @defaultValue 10000 */
  timeoutMs?: number;
}

/** Twilio accepts ValidityPeriod of 1–36,000 s (error 90007 outside). */
const MAX_VALIDITY_S = 36_000;

/**
 * Twilio's documented error classes (notes/messaging.md). Used for synchronous API errors and
 * for the ErrorCode of status callbacks, where 30001 and 30036 usually appear.
 */
export function classifyTwilioError(httpStatus: number, code: number | undefined, message: string, retryAfterMs?: number): ProviderResult {
  const c = code === undefined ? `http_${httpStatus}` : String(code);
  if (httpStatus === 429 || code === 20429) return retry(c, message, { throttled: true, retryAfterMs });
  // 30001: Twilio's queue for the sender overflowed: a throughput signal, like a 429.
  if (code === 30001) return retry(c, message, { throttled: true, retryAfterMs });
  if (code === 21610) return failed(c, message, 'withdraw_consent');
  if (code === 21211 || code === 21614) return failed(c, message, 'invalid_number');
  if (code === 30036) return failed(c, message);
  if (httpStatus >= 500) return retry(c, message, { retryAfterMs });
  // 401 (20003): our credentials are refused for every message: a provider outage for the
  // breaker and failover, not a reason to drop this message.
  if (httpStatus === 401 || httpStatus === 403) return retry(c, message);
  return failed(c, message);
}

/** Twilio's JSON error body `{code, message, more_info, status}`. */
function fromReply(reply: HttpReply, nowMs: number): ProviderResult {
  const json = tryJson(reply.text);
  const retryAfterMs = parseRetryAfter(header(reply.headers, 'retry-after'), nowMs);
  if (reply.status === 201 || reply.status === 200) {
    if (isRecord(json) && typeof json['sid'] === 'string') return sent(json['sid']);
    return retry('bad_reply', `Twilio answered ${reply.status} without a sid`, { ambiguous: true });
  }
  const code = isRecord(json) && typeof json['code'] === 'number' ? json['code'] : undefined;
  const message = isRecord(json) && typeof json['message'] === 'string' ? json['message'] : `HTTP ${reply.status}`;
  return classifyTwilioError(reply.status, code, message, retryAfterMs);
}

/** Programmable Messaging: `POST /2010-04-01/Accounts/{sid}/Messages.json`, form-encoded, Basic auth. */
export function createTwilioAdapter(opts: TwilioOptions): ProviderAdapter {
  if (!/^AC[0-9a-fA-F]{32}$/.test(opts.accountSid)) throw new ConfigError('providers.twilio.accountSid', 'not an Account SID', 'AC followed by 32 hex digits');
  if (opts.authToken === '') throw new ConfigError('providers.twilio.authToken', 'empty', 'the account auth token');
  const { origin, prefix } = splitBaseUrl(opts.baseUrl ?? 'https://api.twilio.com');
  const path = `${prefix}/2010-04-01/Accounts/${opts.accountSid}/Messages.json`;
  const authorization = `Basic ${Buffer.from(`${opts.accountSid}:${opts.authToken}`).toString('base64')}`;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  // Checked once here: each send adds its ids to this URL (callbackFor), and a bad one would fail every send.
  const callback = opts.statusCallbackUrl;
  if (callback !== undefined && !(URL.canParse(callback) && /^https?:$/.test(new URL(callback).protocol))) {
    throw new ConfigError('providers.twilio.statusCallbackUrl', 'not an http(s) URL', 'an absolute http:// or https:// URL of the receipts webhook');
  }

  return {
    name: opts.name ?? 'twilio',
    channel: 'sms',
    async send(intent: SendIntent, signal?: AbortSignal): Promise<ProviderResult> {
      if (intent.sms === undefined) throw new TypeError(`intent ${intent.sendId} has no sms content`);
      const now = opts.now();
      const expired = expiredResult(intent, now);
      if (expired !== undefined) return expired;
      const to = smsNumber(intent);
      if (to === undefined) return failed('no_address', 'the intent has no phone number');
      const form = new URLSearchParams({ To: to });
      if (opts.messagingServiceSid !== undefined) form.set('MessagingServiceSid', opts.messagingServiceSid);
      else {
        const from = opts.from ?? intent.sms.senderId;
        if (from === undefined) return failed('no_sender', 'no From number or sender ID for Twilio');
        form.set('From', from);
      }
      form.set('Body', intent.sms.body);
      // Per message, the callback URL names the send and its user: Twilio's callback carries only
      // its own MessageSid, and nudge's receipts are keyed by user (http/receipts.ts).
      if (opts.statusCallbackUrl !== undefined) form.set('StatusCallback', callbackFor(opts.statusCallbackUrl, intent));
      // Twilio drops (30036) what it cannot hand to the carrier before the window closes.
      form.set('ValidityPeriod', String(Math.min(MAX_VALIDITY_S, Math.max(1, Math.floor((intent.expiresAt - now) / 1000)))));
      const out = await post(opts.dispatcher, {
        origin,
        path,
        headers: { authorization, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
        signal,
        timeoutMs,
      });
      return out.ok ? fromReply(out.reply, opts.now()) : out.result;
    },
  };
}

/** A Twilio status callback (form POST): the delivery outcome of an accepted message. */
export interface TwilioStatus {
  messageSid: string;
  status: 'queued' | 'sent' | 'delivered' | 'undelivered' | 'failed' | 'accepted' | 'sending' | 'canceled';
  errorCode: number | undefined;
  /** For undelivered/failed: what the runtime should do, classified like API errors. */
  outcome: ProviderResult | undefined;
}

/** Parses the form fields Twilio posts to the StatusCallback URL. */
export function parseTwilioStatusCallback(form: URLSearchParams): TwilioStatus | undefined {
  const messageSid = form.get('MessageSid');
  const status = form.get('MessageStatus');
  if (messageSid === null || status === null) return undefined;
  const ec = form.get('ErrorCode');
  const errorCode = ec === null || ec === '' ? undefined : Number(ec);
  const terminalFailure = status === 'failed' || status === 'undelivered';
  return {
    messageSid,
    status: status as TwilioStatus['status'],
    errorCode,
    outcome: terminalFailure ? classifyTwilioError(400, errorCode, `delivery ${status}`) : undefined,
  };
}

/** The status callback URL with the send's ids in its query, after any the operator configured. */
export function callbackFor(base: string, intent: Pick<SendIntent, 'sendId' | 'userId' | 'campaignId'>): string {
  const url = new URL(base);
  url.searchParams.set('sendId', intent.sendId);
  url.searchParams.set('userId', intent.userId);
  url.searchParams.set('campaignId', intent.campaignId);
  return url.toString();
}
