import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { Agent } from 'undici';
import { startFcmFake } from '../bench/fakes/index.js';
import { pushIntent } from '../bench/fakes/intents.js';
import { FcmAccessTokens } from '../operators/sinks/providers/fcm-auth.js';
import { createFcmAdapter } from '../operators/sinks/providers/fcm.js';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const EMAIL = 'nudge-sender@nudge-test.iam.gserviceaccount.com';
const agent = new Agent();
// One virtual clock for the adapter and the fake: token lifetimes can be crossed without waiting.
let clock = Date.now();
const now = (): number => clock;
const fcm = await startFcmFake({ projectId: 'nudge-test', clientEmail: EMAIL, publicKey, now });
const serviceAccount = { client_email: EMAIL, private_key: pem, private_key_id: 'key-1', token_uri: fcm.tokenUrl };
const auth = new FcmAccessTokens({ serviceAccount, dispatcher: agent, now });
const adapter = createFcmAdapter({ baseUrl: fcm.server.url, projectId: 'nudge-test', auth, dispatcher: agent, now });
const TOKEN = 'fcm-device-token-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';

after(async () => {
  await fcm.server.close();
  await agent.close();
});

test('fcm: the v1 message, field by field', async () => {
  const intent = pushIntent('fcm', TOKEN, { expiresAt: clock + 3_600_000, push: { title: 'Sale', body: '40% off', image: 'https://img.example/s.png', deepLink: 'shop://sale', collapseKey: 'sale-1', highPriority: true } });
  const r = await adapter.send(intent);
  assert.equal(r.status, 'sent');
  assert.match(r.status === 'sent' ? r.providerMessageId : '', /^projects\/nudge-test\/messages\//);
  const m = fcm.server.messages.at(-1)?.fields;
  assert.deepEqual(m, {
    token: TOKEN,
    notification: { title: 'Sale', body: '40% off', image: 'https://img.example/s.png' },
    data: { sendId: intent.sendId, deepLink: 'shop://sale' },
    android: { priority: 'HIGH', ttl: '3600s', collapse_key: 'sale-1' },
    apns: { headers: { 'apns-priority': '10', 'apns-expiration': String(Math.floor(intent.expiresAt / 1000)), 'apns-collapse-id': 'sale-1' } },
  });
});

test('fcm: normal priority, and web tokens get webpush headers', async () => {
  const intent = pushIntent('web', 'web-token-1', { expiresAt: clock + 60_000 });
  const r = await adapter.send({ ...intent, push: { title: 't', body: 'b', highPriority: false } });
  assert.equal(r.status, 'sent');
  const m = fcm.server.messages.at(-1)?.fields as Record<string, Record<string, unknown>>;
  assert.deepEqual(m['android'], { priority: 'NORMAL', ttl: '60s' });
  assert.deepEqual(m['webpush'], { headers: { TTL: '60', Urgency: 'normal' } });
});

test('fcm: the access token is cached and refreshed before it expires', async () => {
  const grants0 = fcm.grants();
  for (let i = 0; i < 5; i++) assert.equal((await adapter.send(pushIntent('fcm', TOKEN, { expiresAt: clock + 3_600_000 }))).status, 'sent');
  assert.equal(fcm.grants(), grants0, 'no new exchange while cached');
  // Tokens last 3599 s; we refresh 300 s early: at +3200 s still cached, at +3300 s a new one.
  clock += 3_200_000;
  assert.equal((await adapter.send(pushIntent('fcm', TOKEN, { expiresAt: clock + 3_600_000 }))).status, 'sent');
  assert.equal(fcm.grants(), grants0);
  clock += 100_000;
  assert.equal((await adapter.send(pushIntent('fcm', TOKEN, { expiresAt: clock + 3_600_000 }))).status, 'sent');
  assert.equal(fcm.grants(), grants0 + 1, 'refreshed before expiry, never sent with an expired token');
  // Concurrent sends after expiry share one exchange.
  clock += 3_400_000;
  const results = await Promise.all(Array.from({ length: 20 }, () => adapter.send(pushIntent('fcm', TOKEN, { expiresAt: clock + 3_600_000 }))));
  assert.ok(results.every((r) => r.status === 'sent'));
  assert.equal(fcm.grants(), grants0 + 2);
});

test('fcm: a revoked token (401) is exchanged once and the send retried', async () => {
  const grants0 = fcm.grants();
  fcm.revokeTokens();
  const r = await adapter.send(pushIntent('fcm', TOKEN, { expiresAt: clock + 3_600_000 }));
  assert.equal(r.status, 'sent');
  assert.equal(fcm.grants(), grants0 + 1);
});

test('fcm: a bad service-account key is a provider-level retry (breaker, failover), not a dropped message', async () => {
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const badAuth = new FcmAccessTokens({ serviceAccount: { ...serviceAccount, private_key: other }, dispatcher: agent, now });
  const bad = createFcmAdapter({ baseUrl: fcm.server.url, projectId: 'nudge-test', auth: badAuth, dispatcher: agent, now });
  const r = await bad.send(pushIntent('fcm', TOKEN, { expiresAt: clock + 3_600_000 }));
  assert.deepEqual(r.status === 'retry' && r.code, 'oauth_invalid_grant');
});

test('fcm: every documented error class is handled as documented', async () => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ['unregistered', { status: 'failed', code: 'UNREGISTERED', action: 'remove_token' }],
    ['invalid_argument', { status: 'failed', code: 'INVALID_ARGUMENT', action: undefined }],
    ['sender_id_mismatch', { status: 'failed', code: 'SENDER_ID_MISMATCH', action: undefined }],
    ['quota_exceeded', { status: 'retry', code: 'QUOTA_EXCEEDED', throttled: true, retryAfterMs: 60_000 }],
    ['unavailable', { status: 'retry', code: 'UNAVAILABLE', retryAfterMs: 2000 }],
    ['internal', { status: 'retry', code: 'INTERNAL' }],
  ];
  for (const [cls, expected] of cases) {
    const token = `tok-${cls}`;
    fcm.server.failRecipient(token, cls);
    const r = await adapter.send(pushIntent('fcm', token, { expiresAt: clock + 3_600_000 }));
    for (const [k, v] of Object.entries(expected)) assert.equal((r as unknown as Record<string, unknown>)[k], v, `${cls}.${k}`);
    assert.equal(fcm.server.countFor(token), 0);
  }
});

test('fcm: payloads over 4096 bytes fail permanently without a request', async () => {
  const before = fcm.server.stats.requests;
  const r = await adapter.send(pushIntent('fcm', TOKEN, { expiresAt: clock + 3_600_000, push: { title: 'x', body: 'é'.repeat(2100), highPriority: true } }));
  assert.deepEqual(r.status === 'failed' && r.code, 'payload_too_large');
  assert.equal(fcm.server.stats.requests, before);
});

test('fcm: the fake refuses what FCM refuses (unknown fields, non-string data, no token)', async () => {
  const token = await auth.get();
  assert.ok(token.ok);
  const send = async (message: unknown): Promise<{ status: number; body: string }> => {
    const res = await agent.request({ origin: fcm.server.url, path: '/v1/projects/nudge-test/messages:send', method: 'POST', headers: { authorization: `Bearer ${token.ok ? token.token : ''}`, 'content-type': 'application/json' }, body: JSON.stringify({ message }) });
    return { status: res.statusCode, body: await res.body.text() };
  };
  for (const bad of [{ token: 't', notification: { title: 'x', colour: 'red' } }, { token: 't', data: { n: 1 } }, { notification: { title: 'x' } }, { token: 't', android: { priority: 'URGENT' } }, { token: 't', android: { ttl: 3600 } }]) {
    const r = await send(bad);
    assert.equal(r.status, 400, JSON.stringify(bad));
    assert.equal((JSON.parse(r.body) as { error: { status: string } }).error.status, 'INVALID_ARGUMENT');
  }
});
