import { createHash, timingSafeEqual } from 'node:crypto';
import { HttpError, HttpErrorCodes } from './errors.js';

/**
 * Bearer-token check for the protected endpoints.
 *
 * Without a token the protected API is *not served* (every protected request gets 503
 * `auth_not_configured`) unless the caller passes `insecure: true`: a missing secret
 * must never silently open the API, yet health, readiness and metrics keep working so
 * that probes and scrapes do not take the replica down over an HTTP setting.
 */
export class BearerAuth {
  readonly mode: 'token' | 'insecure' | 'disabled';
  // Only a digest is kept: both sides are hashed to the same length, so the comparison
  // is constant-time and does not leak the token's length either.
  readonly #digest: Buffer | undefined;

  constructor(token: string | undefined, insecure: boolean) {
    if (token !== undefined && token !== '') {
      this.mode = 'token';
      this.#digest = digest(token);
    } else {
      this.mode = insecure ? 'insecure' : 'disabled';
      this.#digest = undefined;
    }
  }

  /**
   * Undefined when the request may proceed, else the error to answer. `queryToken` is
   * accepted only where a client cannot set headers (WebSocket from a browser, provider
   * webhooks configured by URL); the caller decides by passing it or not.
   */
  check(authorization: string, queryToken?: string): HttpError | undefined {
    if (this.mode === 'insecure') return undefined;
    if (this.mode === 'disabled' || this.#digest === undefined) {
      return new HttpError(503, HttpErrorCodes.AUTH_NOT_CONFIGURED, 'http.token is not configured: the protected API is disabled');
    }
    const presented = bearerToken(authorization) ?? (queryToken !== undefined && queryToken !== '' ? queryToken : undefined);
    if (presented === undefined) {
      return new HttpError(401, HttpErrorCodes.UNAUTHORIZED, 'missing bearer token', { headers: { 'WWW-Authenticate': 'Bearer realm="nudge"' } });
    }
    if (!timingSafeEqual(digest(presented), this.#digest)) {
      return new HttpError(401, HttpErrorCodes.UNAUTHORIZED, 'invalid bearer token', {
        headers: { 'WWW-Authenticate': 'Bearer realm="nudge", error="invalid_token"' },
      });
    }
    return undefined;
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive, RFC 7235). */
export function bearerToken(header: string): string | undefined {
  const match = /^\s*bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}
