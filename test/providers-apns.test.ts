import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './support/wait.js';
import { generateKeyPairSync } from 'node:crypto';
import { startApnsFake } from '../bench/fakes/index.js';
import { pushIntent } from '../bench/fakes/intents.js';
import { ConfigError } from '../errors/index.js';
import { ApnsProviderToken } from '../operators/sinks/providers/apns-auth.js';
import { createApnsAdapter, createApnsClient } from '../operators/sinks/providers/apns.js';

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const p8 = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const KEY_ID = 'ABC123DEFG';
const TEAM = 'TEAM123456';
const MIN = 60_000;
let clock = Date.now();
/** The fake's clock may run ahead of ours (clock skew between us and Apple). */
let skew = 0;
const now = (): number => clock;
const apns = await startApnsFake({ teamId: TEAM, keyId: KEY_ID, publicKey, topics: ['com.example.shop'], now: () => clock + skew });
const client = createApnsClient(apns.server.url, { ca: apns.ca });
const token = new ApnsProviderToken({ keyId: KEY_ID, teamId: TEAM, privateKey: p8, now });
const adapter = createApnsAdapter({ baseUrl: apns.server.url, topic: 'com.example.shop', token, dispatcher: client, now });
const device = (n: number): string => n.toString(16).padStart(64, '0');

after(async () => {
  await client.close();
  await apns.server.close();
});

function decodeJwt(jwt: string): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  const [h, c] = jwt.split('.');
  return { header: JSON.parse(Buffer.from(h ?? '', 'base64url').toString()) as Record<string, unknown>, claims: JSON.parse(Buffer.from(c ?? '', 'base64url').toString()) as Record<string, unknown> };
}

test('apns: headers and payload, field by field, over HTTP/2', async () => {
  const intent = pushIntent('apns', device(1), { expiresAt: clock + 3_600_000, push: { title: 'Sale', body: '40% off', image: 'https://img.example/s.png', deepLink: 'shop://sale', collapseKey: 'sale-1', highPriority: true } });
  const r = await adapter.send(intent);
  assert.equal(r.status, 'sent');
  assert.match(r.status === 'sent' ? r.providerMessageId : '', /^[0-9a-f-]{36}$/, 'apns-id');
  assert.deepEqual(apns.server.messages.at(-1)?.fields, {
    payload: { aps: { alert: { title: 'Sale', body: '40% off' }, sound: 'default', 'mutable-content': 1 }, sendId: intent.sendId, deepLink: 'shop://sale', image: 'https://img.example/s.png' },
    topic: 'com.example.shop',
    pushType: 'alert',
    priority: '10',
    expiration: String(Math.floor(intent.expiresAt / 1000)),
    collapse: 'sale-1',
  });
  const jwt = decodeJwt(token.current());
  assert.deepEqual(jwt.header, { alg: 'ES256', typ: 'JWT', kid: KEY_ID });
  assert.deepEqual(Object.keys(jwt.claims).sort(), ['iat', 'iss']);
  assert.equal(jwt.claims['iss'], TEAM);
  const low = await adapter.send(pushIntent('apns', device(2), { expiresAt: clock + 3_600_000, push: { title: 't', body: 'b', highPriority: false } }));
  assert.equal(low.status, 'sent');
  assert.equal(apns.server.messages.at(-1)?.fields['priority'], '5');
  assert.equal(apns.server.messages.at(-1)?.fields['collapse'], undefined);
});

test('apns: one long-lived connection carries many concurrent streams', async () => {
  const before = apns.server.stats.connections;
  const maxBefore = apns.server.stats.maxInFlight;
  apns.server.setFaults({ latencyMs: 50 });
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) => adapter.send(pushIntent('apns', device(1000 + i), { expiresAt: clock + 3_600_000 }))));
  apns.server.resetFaults();
  assert.ok(results.every((r) => r.status === 'sent'));
  assert.equal(apns.server.stats.connections, before, 'no new connection');
  assert.ok(apns.server.stats.connections <= 1);
  // Multiplexed, the streams overlap at the server, on that one connection: counted there rather
  // than timed (a stalled machine once took 3.7 s for what takes 0.2 s; serially it is 10 s).
  assert.ok(apns.server.stats.maxInFlight >= 100 && apns.server.stats.maxInFlight > maxBefore, `at most ${apns.server.stats.maxInFlight} streams in flight at once`);
  await waitFor(() => apns.server.inFlight === 0, 'every stream answered and closed at the server');
});

test('apns: the provider token is reused within its lifetime and refreshed after (never too often)', async () => {
  const issued0 = token.issued;
  const updates0 = apns.tokenUpdates();
  for (let i = 0; i < 10; i++) assert.equal((await adapter.send(pushIntent('apns', device(3), { expiresAt: clock + 7_200_000 }))).status, 'sent');
  clock += 39 * MIN;
  assert.equal((await adapter.send(pushIntent('apns', device(3), { expiresAt: clock + 7_200_000 }))).status, 'sent');
  assert.equal(token.issued, issued0, 'same JWT for 39 minutes');
  clock += 1 * MIN;
  assert.equal((await adapter.send(pushIntent('apns', device(3), { expiresAt: clock + 7_200_000 }))).status, 'sent');
  assert.equal(token.issued, issued0 + 1, 'new JWT at 40 minutes');
  assert.equal(apns.tokenUpdates(), updates0 + 1, 'APNs saw one update, and no TooManyProviderTokenUpdates');
});

test('apns: the refresh interval is held to APNs’ 20–60 minute window', () => {
  for (const refreshMs of [10 * MIN, 60 * MIN, 90 * MIN]) {
    assert.throws(() => new ApnsProviderToken({ keyId: KEY_ID, teamId: TEAM, privateKey: p8, now, refreshMs }), ConfigError);
  }
  assert.throws(() => new ApnsProviderToken({ keyId: KEY_ID, teamId: TEAM, privateKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, now }), ConfigError);
});

test('apns: ExpiredProviderToken (clock skew) gets one fresh token, never under 20 minutes', async () => {
  const slow = new ApnsProviderToken({ keyId: KEY_ID, teamId: TEAM, privateKey: p8, now, refreshMs: 59 * MIN });
  const a = createApnsAdapter({ baseUrl: apns.server.url, topic: 'com.example.shop', token: slow, dispatcher: client, now });
  // A new token 20+ minutes after the last update is allowed by the fake.
  clock += 21 * MIN;
  assert.equal((await a.send(pushIntent('apns', device(4), { expiresAt: clock + 7_200_000 }))).status, 'sent');
  clock += 58 * MIN;
  skew = 3 * MIN; // Apple's clock says our 58-minute-old token is 61 minutes old.
  const r = await a.send(pushIntent('apns', device(4), { expiresAt: clock + 7_200_000 }));
  skew = 0;
  assert.equal(r.status, 'sent');
  assert.equal(slow.issued, 2);
  // A token under 20 minutes old is not replaced even if APNs calls it expired.
  assert.equal(slow.expired(), false);
});

test('apns: every documented error class is handled as documented', async () => {
  clock += 41 * MIN;
  const cases: Array<[string, Record<string, unknown>]> = [
    ['unregistered', { status: 'failed', code: 'Unregistered', action: 'remove_token' }],
    ['bad_device_token', { status: 'failed', code: 'BadDeviceToken', action: undefined }],
    ['payload_too_large', { status: 'failed', code: 'PayloadTooLarge' }],
    ['too_many_requests', { status: 'retry', code: 'TooManyRequests', throttled: true }],
    ['internal', { status: 'retry', code: 'InternalServerError' }],
    ['unavailable', { status: 'retry', code: 'ServiceUnavailable' }],
  ];
  let n = 500;
  for (const [cls, expected] of cases) {
    const d = device(n++);
    apns.server.failRecipient(d, cls);
    const r = await adapter.send(pushIntent('apns', d, { expiresAt: clock + 3_600_000 }));
    for (const [k, v] of Object.entries(expected)) assert.equal((r as unknown as Record<string, unknown>)[k], v, `${cls}.${k}`);
    assert.equal(apns.server.countFor(d), 0);
  }
  // The fake validates the token format itself, as APNs does.
  const r = await adapter.send(pushIntent('apns', 'not-a-token', { expiresAt: clock + 3_600_000 }));
  assert.deepEqual(r.status === 'failed' && r.code, 'BadDeviceToken');
});

test('apns: a payload over 4 KB fails locally', async () => {
  const before = apns.server.stats.requests;
  const r = await adapter.send(pushIntent('apns', device(7), { expiresAt: clock + 3_600_000, push: { title: 't', body: 'x'.repeat(4100), highPriority: true } }));
  assert.deepEqual(r.status === 'failed' && r.code, 'PayloadTooLarge');
  assert.equal(apns.server.stats.requests, before);
});
