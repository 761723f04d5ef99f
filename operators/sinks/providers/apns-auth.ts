import type { KeyObject } from 'node:crypto';
import { ConfigError } from '../../../errors/index.js';
import { privateKeyFromPem, signJwt } from './jwt.js';

const MINUTE = 60_000;
/** APNs refuses tokens older than an hour and answers 429 TooManyProviderTokenUpdates to refreshes under 20 minutes. */
export const APNS_MIN_REFRESH_MS = 20 * MINUTE;
export const APNS_MAX_REFRESH_MS = 60 * MINUTE;

export interface ApnsTokenOptions {
  /** The 10-character Key ID of the .p8 signing key (JWT header `kid`). */
  keyId: string;
  /** The 10-character Team ID (JWT claim `iss`). */
  teamId: string;
  /** The .p8 (PKCS#8 PEM, P-256) key. */
  privateKey: string | KeyObject;
  /** Epoch ms. */
  now: () => number;
  /** @defaultValue 2400000 (40 min): inside APNs' 20–60 min window with margin on both sides. */
  refreshMs?: number;
}

/** The APNs provider token (ES256 JWT, kid + iss + iat), reused for `refreshMs` and never regenerated sooner. */
export class ApnsProviderToken {
  readonly #key: KeyObject;
  readonly #keyId: string;
  readonly #teamId: string;
  readonly #now: () => number;
  readonly #refreshMs: number;
  #current: { jwt: string; issuedAt: number } | undefined;
  /** Tokens signed so far: the reuse test and metrics read it. */
  issued = 0;

  constructor(opts: ApnsTokenOptions) {
    if (!/^[A-Z0-9]{10}$/.test(opts.keyId)) throw new ConfigError('providers.apns.keyId', 'not an APNs key id', '10 upper-case letters or digits');
    if (!/^[A-Z0-9]{10}$/.test(opts.teamId)) throw new ConfigError('providers.apns.teamId', 'not an Apple team id', '10 upper-case letters or digits');
    const refreshMs = opts.refreshMs ?? 40 * MINUTE;
    if (!(refreshMs >= APNS_MIN_REFRESH_MS && refreshMs < APNS_MAX_REFRESH_MS)) {
      throw new ConfigError('providers.apns.tokenRefreshMs', `${refreshMs} is outside APNs' token window`, `${APNS_MIN_REFRESH_MS}–${APNS_MAX_REFRESH_MS - 1} ms (20 to under 60 minutes)`);
    }
    try {
      this.#key = privateKeyFromPem(opts.privateKey);
    } catch (err) {
      throw new ConfigError('providers.apns.privateKey', 'not a readable PEM private key', 'the .p8 key file content', { cause: err });
    }
    if (this.#key.asymmetricKeyType !== 'ec') throw new ConfigError('providers.apns.privateKey', 'not an EC key', 'a P-256 (.p8) signing key');
    this.#keyId = opts.keyId;
    this.#teamId = opts.teamId;
    this.#now = opts.now;
    this.#refreshMs = refreshMs;
  }

  /** The bearer token to send now. */
  current(): string {
    const now = this.#now();
    if (this.#current === undefined || now - this.#current.issuedAt >= this.#refreshMs) this.#sign(now);
    return (this.#current as { jwt: string }).jwt;
  }

  /**
   * APNs answered 403 ExpiredProviderToken (our clock or theirs drifted): sign anew, but only
   * if the current token is at least 20 minutes old, or APNs would answer 429 instead.
   * Returns whether a new token was made.
   */
  expired(): boolean {
    const now = this.#now();
    if (this.#current !== undefined && now - this.#current.issuedAt < APNS_MIN_REFRESH_MS) return false;
    this.#sign(now);
    return true;
  }

  #sign(now: number): void {
    const jwt = signJwt('ES256', this.#key, { iss: this.#teamId, iat: Math.floor(now / 1000) }, { kid: this.#keyId });
    this.#current = { jwt, issuedAt: now };
    this.issued++;
  }
}
