import { randomBytes, type KeyObject } from 'node:crypto';
import { verifyJwt } from './jwt-verify.js';
import { FakeServer, type FakeContext, type FakeRequest, type FakeResponse, type FakeServerOptions, type FakeSpec } from './server.js';

export interface FcmFakeOptions extends FakeServerOptions {
  projectId: string;
  /** The service account the tokens are granted to, and its public key. */
  clientEmail: string;
  publicKey: KeyObject;
  /** @defaultValue '/token' */
  tokenPath?: string;
  /** `expires_in` of granted tokens. @defaultValue 3599 */
  tokenLifetimeS?: number;
}

const SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
const json = (status: number, v: unknown, headers: Record<string, string> = {}): FakeResponse => ({ status, headers: { 'content-type': 'application/json; charset=UTF-8', ...headers }, body: JSON.stringify(v) });

/** google.rpc.Status with the FcmError detail, as FCM v1 answers. */
function fcmError(code: number, status: string, message: string, errorCode?: string, headers: Record<string, string> = {}): FakeResponse {
  const details = errorCode === undefined ? [] : [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode }];
  return json(code, { error: { code, message, status, details } }, headers);
}

const oauthError = (error: string, description: string): FakeResponse => json(400, { error, error_description: description });

const KNOWN: Record<string, readonly string[]> = {
  message: ['name', 'data', 'notification', 'android', 'webpush', 'apns', 'fcm_options', 'token', 'topic', 'condition'],
  notification: ['title', 'body', 'image'],
  android: ['collapse_key', 'priority', 'ttl', 'restricted_package_name', 'data', 'notification', 'fcm_options', 'direct_boot_ok'],
  apns: ['headers', 'payload', 'fcm_options', 'live_activity_token'],
  webpush: ['headers', 'data', 'notification', 'fcm_options'],
};

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** What FCM's proto parsing and validation would refuse, as INVALID_ARGUMENT text, or undefined. */
function invalid(m: Record<string, unknown>): string | undefined {
  for (const [obj, keys] of Object.entries(KNOWN)) {
    const v = obj === 'message' ? m : m[obj];
    if (v === undefined) continue;
    if (!isObj(v)) return `Invalid value at 'message.${obj}'`;
    for (const k of Object.keys(v)) if (!keys.includes(k)) return `Invalid JSON payload received. Unknown name "${k}" at 'message${obj === 'message' ? '' : `.${obj}`}': Cannot find field.`;
  }
  const targets = ['token', 'topic', 'condition'].filter((k) => m[k] !== undefined);
  if (targets.length !== 1) return 'Exactly one of token, topic or condition must be set';
  if (typeof m['token'] !== 'string' || m['token'] === '') return 'The registration token is not a valid FCM registration token';
  const n = m['notification'];
  if (isObj(n)) for (const [k, v] of Object.entries(n)) if (typeof v !== 'string') return `Invalid value at 'message.notification.${k}'`;
  if (isObj(n) && typeof n['image'] === 'string' && !/^https?:\/\//.test(n['image'])) return 'Invalid image URL';
  const d = m['data'];
  if (d !== undefined) {
    if (!isObj(d)) return "Invalid value at 'message.data'";
    for (const [k, v] of Object.entries(d)) if (typeof v !== 'string') return `Invalid value at 'message.data[${k}].value' (TYPE_STRING)`;
  }
  const a = m['android'];
  if (isObj(a)) {
    if (a['priority'] !== undefined && a['priority'] !== 'HIGH' && a['priority'] !== 'NORMAL') return `Invalid value at 'message.android.priority'`;
    if (a['ttl'] !== undefined && !(typeof a['ttl'] === 'string' && /^\d+(\.\d{1,9})?s$/.test(a['ttl']))) return `Invalid value at 'message.android.ttl' (Duration)`;
    if (a['collapse_key'] !== undefined && typeof a['collapse_key'] !== 'string') return `Invalid value at 'message.android.collapse_key'`;
  }
  const ap = m['apns'];
  if (isObj(ap) && ap['headers'] !== undefined) {
    if (!isObj(ap['headers'])) return `Invalid value at 'message.apns.headers'`;
    for (const [k, v] of Object.entries(ap['headers'])) if (typeof v !== 'string') return `Invalid value at 'message.apns.headers[${k}]'`;
  }
  if (Buffer.byteLength(JSON.stringify({ notification: m['notification'], data: m['data'] })) > 4096) return 'Message is too big';
  return undefined;
}

/** A fake of FCM HTTP v1 and of Google's OAuth2 token endpoint (JWT-bearer grant). */
export function fcmSpec(opts: FcmFakeOptions): FakeSpec & { grants(): number; revokeTokens(): void } {
  const tokenPath = opts.tokenPath ?? '/token';
  const sendPath = `/v1/projects/${opts.projectId}/messages:send`;
  const issued = new Map<string, number>();
  let grants = 0;
  // Message ids as FCM's look (0:<time>%<16 hex>), unique by a counter behind a random prefix:
  // random bytes for each message were a tenth of this fake's CPU in the demo.
  const idPrefix = randomBytes(4).toString('hex');
  let sent = 0;
  const errors = {
    unregistered: () => fcmError(404, 'NOT_FOUND', 'Requested entity was not found.', 'UNREGISTERED'),
    invalid_argument: () => fcmError(400, 'INVALID_ARGUMENT', 'Request contains an invalid argument.', 'INVALID_ARGUMENT'),
    sender_id_mismatch: () => fcmError(403, 'PERMISSION_DENIED', 'SenderId mismatch', 'SENDER_ID_MISMATCH'),
    quota_exceeded: () => fcmError(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded.', 'QUOTA_EXCEEDED'),
    unavailable: () => fcmError(503, 'UNAVAILABLE', 'The service is currently unavailable.', 'UNAVAILABLE', { 'retry-after': '2' }),
    internal: () => fcmError(500, 'INTERNAL', 'Internal error encountered.', 'INTERNAL'),
  };

  function token(req: FakeRequest, ctx: FakeContext): FakeResponse {
    if (req.method !== 'POST' || !(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) return oauthError('invalid_request', 'Invalid request');
    const form = new URLSearchParams(req.body.toString('utf8'));
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return oauthError('unsupported_grant_type', 'Invalid grant_type');
    const jwt = verifyJwt(form.get('assertion') ?? '', 'RS256', opts.publicKey);
    if (jwt === undefined) return oauthError('invalid_grant', 'Invalid JWT Signature.');
    const c = jwt.claims;
    const now = Math.floor(ctx.now() / 1000);
    const aud = `http://${req.headers.host ?? ''}${tokenPath}`;
    if (c['iss'] !== opts.clientEmail) return oauthError('invalid_grant', 'Invalid issuer');
    if (c['aud'] !== aud) return oauthError('invalid_grant', 'Invalid JWT audience');
    if (typeof c['scope'] !== 'string' || !c['scope'].split(' ').includes(SCOPE)) return oauthError('invalid_scope', 'Invalid OAuth scope');
    if (typeof c['iat'] !== 'number' || typeof c['exp'] !== 'number' || c['exp'] - c['iat'] > 3600 || c['iat'] > now + 300 || c['exp'] < now) {
      return oauthError('invalid_grant', 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.');
    }
    grants++;
    const access = `ya29.${randomBytes(24).toString('base64url')}`;
    const lifetime = opts.tokenLifetimeS ?? 3599;
    issued.set(access, ctx.now() + lifetime * 1000);
    return json(200, { access_token: access, expires_in: lifetime, token_type: 'Bearer' });
  }

  return {
    name: 'fcm',
    errors,
    grants: () => grants,
    // Google revokes tokens when a key is disabled: the next send gets 401 UNAUTHENTICATED.
    revokeTokens: () => issued.clear(),
    isSend: (req) => req.path === sendPath,
    throttled: errors.quota_exceeded,
    unavailable: errors.unavailable,
    handle(req: FakeRequest, ctx: FakeContext): FakeResponse {
      if (req.path === tokenPath) return token(req, ctx);
      if (req.path !== sendPath) return fcmError(404, 'NOT_FOUND', 'Requested entity was not found.');
      if (req.method !== 'POST') return fcmError(405, 'INVALID_ARGUMENT', 'Method not allowed');
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const expires = bearer === undefined ? undefined : issued.get(bearer);
      if (expires === undefined || expires <= ctx.now()) return fcmError(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials. Expected OAuth 2 access token.');
      let body: unknown;
      try {
        body = JSON.parse(req.body.toString('utf8'));
      } catch {
        return fcmError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.');
      }
      if (!isObj(body) || !isObj(body['message'])) return fcmError(400, 'INVALID_ARGUMENT', "Invalid JSON payload received. 'message' is required.");
      for (const k of Object.keys(body)) if (k !== 'message' && k !== 'validate_only') return fcmError(400, 'INVALID_ARGUMENT', `Invalid JSON payload received. Unknown name "${k}": Cannot find field.`);
      const m = body['message'];
      const problem = invalid(m);
      if (problem !== undefined) return fcmError(400, 'INVALID_ARGUMENT', problem, 'INVALID_ARGUMENT');
      const to = m['token'] as string;
      const injected = ctx.errorFor(to);
      if (injected !== undefined) return injected;
      const name = `projects/${opts.projectId}/messages/0:${Date.now()}%${idPrefix}${(++sent).toString(16).padStart(8, '0')}`;
      ctx.accept(to, name, m);
      return json(200, { name });
    },
  };
}

export async function startFcmFake(opts: FcmFakeOptions): Promise<{ server: FakeServer; grants: () => number; revokeTokens: () => void; tokenUrl: string }> {
  const spec = fcmSpec(opts);
  const server = await FakeServer.start(spec, opts);
  return { server, grants: spec.grants, revokeTokens: spec.revokeTokens, tokenUrl: `${server.url}${opts.tokenPath ?? '/token'}` };
}
