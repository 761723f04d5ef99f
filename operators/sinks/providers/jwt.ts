import { createPrivateKey, sign, type KeyObject } from 'node:crypto';

export type JwtAlgorithm = 'RS256' | 'ES256';

function b64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

/**
 * A compact JWS (RFC 7515) signed with node:crypto. ES256 needs the raw r‖s signature
 * (RFC 7518 §3.4), not the DER that OpenSSL produces by default: hence `ieee-p1363`.
 */
export function signJwt(alg: JwtAlgorithm, key: KeyObject, claims: Record<string, unknown>, headerExtra: Record<string, string> = {}): string {
  const head = b64url(JSON.stringify({ alg, typ: 'JWT', ...headerExtra }));
  const body = b64url(JSON.stringify(claims));
  const input = `${head}.${body}`;
  const signature =
    alg === 'ES256' ? sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }) : sign('sha256', Buffer.from(input), key);
  return `${input}.${b64url(signature)}`;
}

/** Loads a PEM private key once, at construction, so a bad key fails start-up rather than the first send. */
export function privateKeyFromPem(pem: string | KeyObject): KeyObject {
  return typeof pem === 'string' ? createPrivateKey(pem) : pem;
}
