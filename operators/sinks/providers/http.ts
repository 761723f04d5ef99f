import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { retry, type ProviderRetry } from './provider.js';

export interface HttpReply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

export interface PostRequest {
  /** `https://api.twilio.com`: scheme, host and port only. */
  origin: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  signal?: AbortSignal | undefined;
  /** Time allowed for the response headers, and then between body chunks. */
  timeoutMs: number;
  /**
   * Let undici run this POST concurrently with others on one HTTP/2 session. undici dispatches
   * a non-idempotent request only when nothing else is in flight (client-h2 `busy`), which
   * turns APNs' many streams into one at a time; marking it idempotent lifts that. undici itself
   * never retries it (only its RetryAgent would), so no duplicate comes from this.
   */
  multiplex?: boolean;
}

/** A reply, or the transport failure already turned into a retry result. */
export type PostOutcome = { ok: true; reply: HttpReply } | { ok: false; result: ProviderRetry };

/**
 * Errors raised before a byte of the request could have reached the provider: retrying them,
 * here or at another provider, cannot duplicate a message.
 */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN']);

function errorCode(err: unknown): string {
  let e: unknown = err;
  // undici wraps connect errors; the errno code is on the error or its cause.
  for (let depth = 0; depth < 3 && typeof e === 'object' && e !== null; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return 'UNKNOWN';
}

/**
 * One POST through the caller's dispatcher. Never reads a clock: the timeout is undici's own
 * per-request header/body timer. An abort by the caller's signal is rethrown (the runtime is
 * shutting down or the partition was revoked), every other transport error becomes a retry.
 */
export async function post(dispatcher: Dispatcher, req: PostRequest): Promise<PostOutcome> {
  try {
    const res = await dispatcher.request({
      origin: req.origin,
      path: req.path,
      method: 'POST',
      headers: req.headers,
      body: req.body,
      signal: req.signal ?? null,
      headersTimeout: req.timeoutMs,
      bodyTimeout: req.timeoutMs,
      ...(req.multiplex === true ? { idempotent: true } : {}),
    });
    const text = await res.body.text();
    return { ok: true, reply: { status: res.statusCode, headers: res.headers, text } };
  } catch (err) {
    if (req.signal?.aborted === true) throw err;
    const code = errorCode(err);
    const message = err instanceof Error ? err.message : String(err);
    if (NOT_SENT.has(code)) return { ok: false, result: retry(`transport:${code}`, message) };
    // Timeouts and resets after the request was written: the provider may have accepted it.
    return { ok: false, result: retry(`transport:${code}`, message, { ambiguous: true }) };
  }
}

/** First value of a header. */
export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Parses JSON without throwing: providers answer HTML error pages from their load balancers. */
export function tryJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `origin` of a base URL, and its path prefix without a trailing slash (a proxy may mount the API under a path). */
export function splitBaseUrl(baseUrl: string): { origin: string; prefix: string } {
  const u = new URL(baseUrl);
  return { origin: u.origin, prefix: u.pathname.replace(/\/+$/, '') };
}
