import type { Dispatcher } from 'undici';
import { ConfigError } from '../../../errors/index.js';
import type { SendIntent } from '../dispatcher.js';
import { header, post, splitBaseUrl, type HttpReply } from './http.js';
import { expiredResult, failed, parseRetryAfter, retry, sent, type ProviderAdapter, type ProviderResult } from './provider.js';
import { digitsOnly, smsNumber } from './targets.js';

export interface GupshupOptions {
  /** @defaultValue 'gupshup' */
  name?: string;
  /** @defaultValue 'https://enterprise.smsgupshup.com' */
  baseUrl?: string;
  userid: string;
  password: string;
  /** DLT principal entity, used when the intent carries none. */
  principalEntityId?: string;
  /** Sender header (`mask`), used when the intent carries none. */
  mask?: string;
  dispatcher: Dispatcher;
  now: () => number;
  /** @defaultValue 10000 */
  timeoutMs?: number;
}

/**
 * Gupshup enterprise error codes as they appear in `error | <code> | <message>`.
 * notes/messaging.md documents the reply format but no error classes; these follow Gupshup's
 * enterprise API error table as far as public pages show it (175: service disabled) and are
 * otherwise our reading. Unknown codes are permanent: resending an SMS the gateway refused for
 * an unknown reason risks a duplicate, and the breaker must not open for a content error.
 */
export const GUPSHUP_ERRORS: Readonly<Record<string, 'retry' | 'auth' | 'invalid_number' | 'permanent'>> = {
  '100': 'retry', // unknown/internal gateway error
  '101': 'permanent', // invalid or missing parameter
  '102': 'auth', // authentication failed
  '103': 'invalid_number', // invalid or missing phone number
  '106': 'permanent', // message does not match the DLT template / invalid message
  '175': 'permanent', // service not enabled for the account (e.g. INTERNATIONAL_PHONE)
};

export function classifyGupshupError(code: string, message: string): ProviderResult {
  switch (GUPSHUP_ERRORS[code]) {
    case 'retry':
      return retry(code, message);
    // Credentials refused: the provider is unusable for every message (breaker, failover).
    case 'auth':
      return retry(code, message);
    case 'invalid_number':
      return failed(code, message, 'invalid_number');
    default:
      return failed(code, message);
  }
}

/** `success | <phone> | <id>` or `error | <code> | <message>`, HTTP 200 either way. */
function fromReply(reply: HttpReply, nowMs: number): ProviderResult {
  const retryAfterMs = parseRetryAfter(header(reply.headers, 'retry-after'), nowMs);
  const parts = reply.text.trim().split('|').map((s) => s.trim());
  if (reply.status === 429) return retry('http_429', parts.slice(2).join(' | ') || 'throttled', { throttled: true, retryAfterMs });
  if (reply.status >= 500) return retry(`http_${reply.status}`, 'gateway error', { retryAfterMs });
  if (parts[0] === 'success' && parts[2] !== undefined && parts[2] !== '') return sent(parts[2]);
  if (parts[0] === 'error' && parts[1] !== undefined) return classifyGupshupError(parts[1], parts.slice(2).join(' | '));
  if (reply.status === 401 || reply.status === 403) return retry(`http_${reply.status}`, 'authentication refused');
  // 200 with an unparseable body: we cannot tell whether it was queued.
  if (reply.status === 200) return retry('bad_reply', 'unrecognised Gupshup reply', { ambiguous: true });
  return failed(`http_${reply.status}`, 'unrecognised Gupshup reply');
}

/** Gupshup enterprise `POST /GatewayAPI/rest`, form-encoded, credentials in the form (auth_scheme=plain). */
export function createGupshupAdapter(opts: GupshupOptions): ProviderAdapter {
  if (opts.userid === '' || opts.password === '') throw new ConfigError('providers.gupshup.userid', 'userid and password are required', 'the enterprise account credentials');
  const { origin, prefix } = splitBaseUrl(opts.baseUrl ?? 'https://enterprise.smsgupshup.com');
  const path = `${prefix}/GatewayAPI/rest`;
  const timeoutMs = opts.timeoutMs ?? 10_000;

  return {
    name: opts.name ?? 'gupshup',
    channel: 'sms',
    async send(intent: SendIntent, signal?: AbortSignal): Promise<ProviderResult> {
      const sms = intent.sms;
      if (sms === undefined) throw new TypeError(`intent ${intent.sendId} has no sms content`);
      const expired = expiredResult(intent, opts.now());
      if (expired !== undefined) return expired;
      const to = smsNumber(intent);
      if (to === undefined) return failed('no_address', 'the intent has no phone number');
      const entity = sms.dltEntityId ?? opts.principalEntityId;
      const mask = sms.senderId ?? opts.mask;
      // TRAI DLT: operators drop commercial SMS without entity, template and header; refuse here, it costs nothing.
      if (entity === undefined || sms.dltTemplateId === undefined || mask === undefined) return failed('dlt_missing', 'DLT entity, template or sender header missing');
      const form = new URLSearchParams({
        method: 'sendMessage',
        send_to: digitsOnly(to),
        msg: sms.body,
        // UCS-2 text must be declared, or the gateway sends it as GSM-7 and it arrives as '?'.
        msg_type: sms.encoding === 'UCS-2' ? 'UNICODE_TEXT' : 'TEXT',
        userid: opts.userid,
        password: opts.password,
        auth_scheme: 'plain',
        v: '1.1',
        format: 'text',
        principalEntityId: entity,
        dltTemplateId: sms.dltTemplateId,
        mask,
      });
      const out = await post(opts.dispatcher, {
        origin,
        path,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
        signal,
        timeoutMs,
      });
      return out.ok ? fromReply(out.reply, opts.now()) : out.result;
    },
  };
}

/** A Gupshup DLR (GET/POST to the configured URL): externalId is the id `send` returned. */
export interface GupshupDlr {
  externalId: string;
  status: string;
  phoneNo: string | undefined;
  cause: string | undefined;
  errCode: string | undefined;
  deliveredTs: number | undefined;
}

export function parseGupshupDlr(params: URLSearchParams): GupshupDlr | undefined {
  const externalId = params.get('externalId');
  const status = params.get('status');
  if (externalId === null || status === null) return undefined;
  const ts = params.get('deliveredTS');
  return {
    externalId,
    status,
    phoneNo: params.get('phoneNo') ?? undefined,
    cause: params.get('cause') ?? undefined,
    errCode: params.get('errCode') ?? undefined,
    deliveredTs: ts === null ? undefined : Number(ts),
  };
}
