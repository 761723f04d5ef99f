import { randomUUID, type KeyObject } from 'node:crypto';
import { verifyJwt } from './jwt-verify.js';
import { selfSignedCertificate, type SelfSigned } from './self-signed.js';
import { FakeServer, type FakeContext, type FakeRequest, type FakeResponse, type FakeServerOptions, type FakeSpec } from './server.js';

export interface ApnsFakeOptions extends Omit<FakeServerOptions, 'tls'> {
  teamId: string;
  keyId: string;
  publicKey: KeyObject;
  /** Bundle ids this key may push to. */
  topics: readonly string[];
  /** @defaultValue a fresh self-signed certificate */
  tls?: SelfSigned;
}

const MINUTE = 60_000;
const PUSH_TYPES = ['alert', 'background', 'voip', 'complication', 'fileprovider', 'mdm', 'liveactivity', 'location', 'pushtotalk'];

function reason(status: number, r: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): FakeResponse {
  return { status, headers: { 'content-type': 'application/json', 'apns-id': randomUUID(), ...headers }, body: JSON.stringify({ reason: r, ...extra }) };
}

/** A fake of APNs `POST /3/device/{token}` over HTTP/2 with provider-token (JWT) authentication. */
export function apnsSpec(opts: ApnsFakeOptions): FakeSpec & { tokenUpdates(): number } {
  // APNs tracks the provider token in use; a different one within 20 minutes is "too many updates".
  let current: { jwt: string; since: number } | undefined;
  let updates = 0;
  const errors = {
    unregistered: () => reason(410, 'Unregistered', { timestamp: Date.now() }),
    bad_device_token: () => reason(400, 'BadDeviceToken'),
    payload_too_large: () => reason(413, 'PayloadTooLarge'),
    too_many_requests: () => reason(429, 'TooManyRequests'),
    internal: () => reason(500, 'InternalServerError'),
    unavailable: () => reason(503, 'ServiceUnavailable'),
  };

  function auth(req: FakeRequest, ctx: FakeContext): FakeResponse | undefined {
    const m = /^bearer (.+)$/i.exec(String(req.headers.authorization ?? ''));
    if (m === null || m[1] === undefined) return reason(403, 'MissingProviderToken');
    const jwt = verifyJwt(m[1], 'ES256', opts.publicKey);
    if (jwt === undefined || jwt.header['kid'] !== opts.keyId || jwt.claims['iss'] !== opts.teamId || typeof jwt.claims['iat'] !== 'number') return reason(403, 'InvalidProviderToken');
    const now = ctx.now();
    if (jwt.claims['iat'] * 1000 < now - 60 * MINUTE) return reason(403, 'ExpiredProviderToken');
    if (current === undefined || current.jwt !== m[1]) {
      if (current !== undefined && now - current.since < 20 * MINUTE) return reason(429, 'TooManyProviderTokenUpdates');
      current = { jwt: m[1], since: now };
      updates++;
    }
    return undefined;
  }

  return {
    name: 'apns',
    errors,
    tokenUpdates: () => updates,
    isSend: (req) => req.path.startsWith('/3/device/'),
    throttled: errors.too_many_requests,
    unavailable: errors.unavailable,
    handle(req: FakeRequest, ctx: FakeContext): FakeResponse {
      if (req.httpVersion !== '2.0') return reason(400, 'BadProtocol');
      if (!req.path.startsWith('/3/device/')) return reason(404, 'BadPath');
      if (req.method !== 'POST') return reason(405, 'MethodNotAllowed');
      const device = decodeURIComponent(req.path.slice('/3/device/'.length));
      const denied = auth(req, ctx);
      if (denied !== undefined) return denied;
      if (!/^[0-9a-f]{64,200}$/i.test(device)) return errors.bad_device_token();
      const h = (k: string): string | undefined => {
        const v = req.headers[k];
        return Array.isArray(v) ? v[0] : v;
      };
      const topic = h('apns-topic');
      if (topic === undefined) return reason(400, 'MissingTopic');
      if (!opts.topics.includes(topic)) return reason(400, 'TopicDisallowed');
      const pushType = h('apns-push-type');
      if (pushType !== undefined && !PUSH_TYPES.includes(pushType)) return reason(400, 'InvalidPushType');
      const priority = h('apns-priority');
      if (priority !== undefined && !['10', '5', '1'].includes(priority)) return reason(400, 'BadPriority');
      const expiration = h('apns-expiration');
      if (expiration !== undefined && !/^\d+$/.test(expiration)) return reason(400, 'BadExpirationDate');
      const collapse = h('apns-collapse-id');
      if (collapse !== undefined && Buffer.byteLength(collapse) > 64) return reason(400, 'BadCollapseId');
      if (req.body.length === 0) return reason(400, 'PayloadEmpty');
      if (req.body.length > 4096) return errors.payload_too_large();
      let payload: unknown;
      try {
        payload = JSON.parse(req.body.toString('utf8'));
      } catch {
        // Not one of Apple's reasons: a fake-only guard, the adapter treats any 400 as permanent.
        return reason(400, 'BadPayload');
      }
      const injected = ctx.errorFor(device);
      if (injected !== undefined) return injected;
      const id = h('apns-id') ?? randomUUID();
      ctx.accept(device, id, { payload, topic, pushType, priority, expiration, collapse });
      return { status: 200, headers: { 'apns-id': id } };
    },
  };
}

/** Starts the fake over TLS HTTP/2; the returned `ca` is what the client must trust. */
export async function startApnsFake(opts: ApnsFakeOptions): Promise<{ server: FakeServer; ca: string; tokenUpdates: () => number }> {
  const tls = opts.tls ?? selfSignedCertificate();
  const spec = apnsSpec(opts);
  const server = await FakeServer.start(spec, { ...opts, tls });
  return { server, ca: tls.cert, tokenUpdates: spec.tokenUpdates };
}
