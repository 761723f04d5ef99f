import type { Dispatcher } from 'undici';
import type { KeyObject } from 'node:crypto';
import { ConfigError } from '../../../errors/index.js';
import { isRecord, post, tryJson } from './http.js';
import { privateKeyFromPem, signJwt } from './jwt.js';
import type { ProviderRetry } from './provider.js';

export const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';

/** The fields of a Google service-account JSON key file that the token exchange uses. */
export interface ServiceAccount {
  client_email: string;
  private_key: string | KeyObject;
  private_key_id?: string;
  token_uri?: string;
}

export interface FcmAuthOptions {
  serviceAccount: ServiceAccount;
  dispatcher: Dispatcher;
  /** Epoch ms. */
  now: () => number;
  /** Token endpoint; default the key file's `token_uri`, else Google's. Also the JWT `aud`. */
  tokenUrl?: string;
  /**
   * Refresh this long before `expires_in` runs out, so an in-flight send never carries a token
   * that expires on the way. @defaultValue 300000 (5 min of a 60-min token)
   */
  refreshMarginMs?: number;
  /** @defaultValue 10000 */
  timeoutMs?: number;
}

/** The token endpoint answered, but not with a token: credentials are wrong or the request failed. */
export type TokenOutcome = { ok: true; token: string } | { ok: false; result: ProviderRetry };

/**
 * OAuth2 access tokens for FCM HTTP v1 from a service-account JWT (RFC 7523 grant), cached
 * until `refreshMarginMs` before expiry. Concurrent sends share one exchange in flight.
 */
export class FcmAccessTokens {
  readonly #opts: Required<Omit<FcmAuthOptions, 'serviceAccount'>> & { email: string; keyId: string | undefined };
  readonly #key: KeyObject;
  #token: { value: string; refreshAt: number } | undefined;
  #inflight: Promise<TokenOutcome> | undefined;
  /** Token exchanges made: the cache test and metrics read it. */
  exchanges = 0;

  constructor(opts: FcmAuthOptions) {
    const sa = opts.serviceAccount;
    if (typeof sa.client_email !== 'string' || sa.client_email === '') {
      throw new ConfigError('providers.fcm.serviceAccount.client_email', 'missing', 'the client_email of a service-account key');
    }
    try {
      this.#key = privateKeyFromPem(sa.private_key);
    } catch (err) {
      // Never quote the key in the message.
      throw new ConfigError('providers.fcm.serviceAccount.private_key', 'not a readable PEM private key', 'the private_key of a service-account key', { cause: err });
    }
    this.#opts = {
      dispatcher: opts.dispatcher,
      now: opts.now,
      tokenUrl: opts.tokenUrl ?? sa.token_uri ?? GOOGLE_TOKEN_URL,
      refreshMarginMs: opts.refreshMarginMs ?? 300_000,
      timeoutMs: opts.timeoutMs ?? 10_000,
      email: sa.client_email,
      keyId: sa.private_key_id,
    };
  }

  /**
   * A valid token, from cache or a fresh exchange. The shared exchange takes no caller's signal:
   * one sender aborting must not fail the others waiting on it; its own timeout bounds it.
   */
  async get(): Promise<TokenOutcome> {
    const t = this.#token;
    if (t !== undefined && this.#opts.now() < t.refreshAt) return { ok: true, token: t.value };
    this.#inflight ??= this.#exchange().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  /** Drops the cached token: FCM answered 401 with it (revoked, or clock skew). */
  invalidate(): void {
    this.#token = undefined;
  }

  async #exchange(): Promise<TokenOutcome> {
    const o = this.#opts;
    const iat = Math.floor(o.now() / 1000);
    // Google accepts at most one hour between iat and exp.
    const assertion = signJwt('RS256', this.#key, { iss: o.email, scope: FCM_SCOPE, aud: o.tokenUrl, iat, exp: iat + 3600 }, o.keyId === undefined ? {} : { kid: o.keyId });
    const url = new URL(o.tokenUrl);
    this.exchanges++;
    const out = await post(o.dispatcher, {
      origin: url.origin,
      path: url.pathname + url.search,
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }).toString(),
      timeoutMs: o.timeoutMs,
    });
    if (!out.ok) return { ok: false, result: { ...out.result, code: `oauth_${out.result.code}` } };
    const { status, text } = out.reply;
    const json = tryJson(text);
    if (status === 200 && isRecord(json) && typeof json['access_token'] === 'string' && typeof json['expires_in'] === 'number') {
      const now = o.now();
      this.#token = { value: json['access_token'], refreshAt: now + Math.max(0, json['expires_in'] * 1000 - o.refreshMarginMs) };
      return { ok: true, token: json['access_token'] };
    }
    const error = isRecord(json) && typeof json['error'] === 'string' ? json['error'] : `http_${status}`;
    // A rejected grant (bad key, disabled account) makes FCM unusable for every message: it is a
    // provider-level failure for the breaker and failover, not a reason to drop this message.
    return { ok: false, result: { status: 'retry', code: `oauth_${error}`, message: `token endpoint answered ${status}` } };
  }
}
