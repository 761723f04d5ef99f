import { verify, type KeyObject } from 'node:crypto';

export interface VerifiedJwt {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
}

function part(s: string | undefined): Record<string, unknown> | undefined {
  if (s === undefined) return undefined;
  try {
    const v = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Checks a compact JWS the way Google and Apple do: the algorithm we expect, and the signature. */
export function verifyJwt(jwt: string, alg: 'RS256' | 'ES256', key: KeyObject): VerifiedJwt | undefined {
  const [h, c, s, extra] = jwt.split('.');
  if (extra !== undefined || s === undefined) return undefined;
  const header = part(h);
  const claims = part(c);
  if (header === undefined || claims === undefined || header['alg'] !== alg) return undefined;
  const input = Buffer.from(`${h}.${c}`);
  const sig = Buffer.from(s, 'base64url');
  // ES256 signatures are raw r‖s (64 bytes); a DER signature here is the classic JWT bug.
  if (alg === 'ES256' && sig.length !== 64) return undefined;
  const ok = alg === 'ES256' ? verify('sha256', input, { key, dsaEncoding: 'ieee-p1363' }, sig) : verify('sha256', input, key, sig);
  return ok ? { header, claims } : undefined;
}
