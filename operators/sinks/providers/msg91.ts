import type { Dispatcher } from 'undici';
import { ConfigError } from '../../../errors/index.js';
import type { SendIntent } from '../dispatcher.js';
import { header, isRecord, post, splitBaseUrl, tryJson, type HttpReply } from './http.js';
import { compileDltTemplate, msg91Variables } from './msg91-variables.js';
import { expiredResult, failed, parseRetryAfter, retry, sent, type ProviderAdapter, type ProviderResult } from './provider.js';
import { digitsOnly, smsNumber } from './targets.js';

export interface Msg91Template {
  /** MSG91 flow/template id (`template_id` in the request). */
  flowId: string;
  /** The DLT template text with `{#var#}` placeholders; absent: the whole body is VAR1. */
  dltTemplate?: string;
}

export interface Msg91Options {
  /** @defaultValue 'msg91' */
  name?: string;
  /** @defaultValue 'https://control.msg91.com' */
  baseUrl?: string;
  authkey: string;
  /** By the intent's dltTemplateId: MSG91 addresses templates by its own flow id. */
  templates: Readonly<Record<string, Msg91Template>>;
  /** Let MSG91 shorten links (`short_url: "1"`). @defaultValue false */
  shortUrl?: boolean;
  dispatcher: Dispatcher;
  now: () => number;
  /** @defaultValue 10000 */
  timeoutMs?: number;
}

/**
 * MSG91 answers `{type: "success", message: <request id>}` or `{type: "error", message}`.
 * notes/messaging.md documents no error classes for it: we classify by HTTP status (429
 * throttled, 5xx retry, 401 credentials) and treat `type: error` as a permanent refusal of the
 * message, with a number problem recognised from the message text.
 */
export function classifyMsg91Reply(status: number, json: unknown, retryAfterMs: number | undefined): ProviderResult {
  const type = isRecord(json) ? json['type'] : undefined;
  const message = isRecord(json) && typeof json['message'] === 'string' ? json['message'] : `HTTP ${status}`;
  const code = isRecord(json) && (typeof json['code'] === 'string' || typeof json['code'] === 'number') ? String(json['code']) : `http_${status}`;
  if (status === 429) return retry(code, message, { throttled: true, retryAfterMs });
  if (status >= 500) return retry(code, message, { retryAfterMs });
  if (status === 401 || status === 403) return retry(code, message);
  if (status >= 200 && status < 300 && type === 'success' && message !== '') return sent(message);
  if (type === 'error' || status >= 400) {
    if (/mobile|number/i.test(message) && /invalid/i.test(message)) return failed(code, message, 'invalid_number');
    return failed(code, message);
  }
  return retry('bad_reply', 'unrecognised MSG91 reply', { ambiguous: true });
}

function fromReply(reply: HttpReply, nowMs: number): ProviderResult {
  return classifyMsg91Reply(reply.status, tryJson(reply.text), parseRetryAfter(header(reply.headers, 'retry-after'), nowMs));
}

/** MSG91 `POST /api/v5/flow`, header `authkey`, one recipient per request. */
export function createMsg91Adapter(opts: Msg91Options): ProviderAdapter {
  if (opts.authkey === '') throw new ConfigError('providers.msg91.authkey', 'empty', 'the MSG91 auth key');
  const { origin, prefix } = splitBaseUrl(opts.baseUrl ?? 'https://control.msg91.com');
  const path = `${prefix}/api/v5/flow`;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const templates = new Map<string, { flowId: string; matcher: RegExp | undefined }>();
  for (const [dltId, t] of Object.entries(opts.templates)) {
    templates.set(dltId, { flowId: t.flowId, matcher: t.dltTemplate === undefined ? undefined : compileDltTemplate(t.dltTemplate) });
  }

  return {
    name: opts.name ?? 'msg91',
    channel: 'sms',
    async send(intent: SendIntent, signal?: AbortSignal): Promise<ProviderResult> {
      const sms = intent.sms;
      if (sms === undefined) throw new TypeError(`intent ${intent.sendId} has no sms content`);
      const expired = expiredResult(intent, opts.now());
      if (expired !== undefined) return expired;
      const to = smsNumber(intent);
      if (to === undefined) return failed('no_address', 'the intent has no phone number');
      const template = sms.dltTemplateId === undefined ? undefined : templates.get(sms.dltTemplateId);
      if (template === undefined) return failed('no_template', `no MSG91 flow configured for DLT template ${sms.dltTemplateId ?? '(none)'}`);
      const vars = msg91Variables(sms.body, template.matcher);
      if (vars === undefined) return failed('template_mismatch', 'the body does not match its DLT template');
      const body = JSON.stringify({ template_id: template.flowId, short_url: opts.shortUrl === true ? '1' : '0', recipients: [{ mobiles: digitsOnly(to), ...vars }] });
      const out = await post(opts.dispatcher, {
        origin,
        path,
        headers: { authkey: opts.authkey, 'content-type': 'application/json', accept: 'application/json' },
        body,
        signal,
        timeoutMs,
      });
      return out.ok ? fromReply(out.reply, opts.now()) : out.result;
    },
  };
}
