import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { startTwilioFake, twilioSignature } from '../bench/fakes/index.js';
import { smsIntent } from '../bench/fakes/intents.js';
import { classifyTwilioError, createTwilioAdapter, parseTwilioStatusCallback, type TwilioStatus } from '../operators/sinks/providers/twilio.js';
import { parseRetryAfter } from '../operators/sinks/providers/provider.js';

const SID = `AC${'a1'.repeat(16)}`;
const TOKEN = 'twilio-test-auth-token';
const agent = new Agent({ keepAliveTimeout: 10_000 });

// Status callbacks land here, as they would on the /v1/receipts/twilio webhook.
const received: Array<{ form: URLSearchParams; signature: string | undefined; url: string }> = [];
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString()));
  req.on('end', () => {
    const sig = req.headers['x-twilio-signature'];
    received.push({ form: new URLSearchParams(body), signature: Array.isArray(sig) ? sig[0] : sig, url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}${req.url ?? ''}` });
    res.end();
  });
});
await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
const callbackUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/v1/receipts/twilio`;

const fake = await startTwilioFake({ accountSid: SID, authToken: TOKEN, deliveryErrors: new Map([['+15550000030', 30036]]) });
const now = (): number => Date.now();
const twilio = createTwilioAdapter({ baseUrl: fake.url, accountSid: SID, authToken: TOKEN, from: '+15005550006', statusCallbackUrl: callbackUrl, dispatcher: agent, now });

after(async () => {
  await fake.close();
  await agent.close();
  receiver.closeAllConnections();
  await new Promise<void>((r) => receiver.close(() => r()));
});

test('twilio: the request is the real wire format, field by field', async () => {
  const intent = smsIntent('+15551230001', 'Your code is 4242', { expiresAt: Date.now() + 600_000 });
  const r = await twilio.send(intent);
  assert.equal(r.status, 'sent');
  assert.match(r.status === 'sent' ? r.providerMessageId : '', /^SM[0-9a-f]{32}$/);
  const m = fake.messages.at(-1);
  assert.ok(m);
  assert.deepEqual(Object.keys(m.fields).sort(), ['Body', 'From', 'StatusCallback', 'To', 'ValidityPeriod']);
  assert.equal(m.fields['To'], '+15551230001');
  assert.equal(m.fields['From'], '+15005550006');
  assert.equal(m.fields['Body'], 'Your code is 4242');
  // The configured URL, with the send's ids in its query: Twilio's callback carries only its own
  // MessageSid, and receipts are keyed by user.
  const callback = new URL(m.fields['StatusCallback'] ?? '');
  assert.equal(`${callback.origin}${callback.pathname}`, callbackUrl.replace(/\?.*$/, ''));
  assert.equal(callback.searchParams.get('sendId'), intent.sendId);
  assert.equal(callback.searchParams.get('userId'), intent.userId);
  assert.equal(callback.searchParams.get('campaignId'), intent.campaignId);
  // ValidityPeriod: seconds left in the window (600 s, minus the time the call took).
  const validity = Number(m.fields['ValidityPeriod']);
  assert.ok(validity >= 598 && validity <= 600, String(validity));
  assert.equal(fake.countFor('+15551230001'), 1);
});

test('twilio: a status callback URL that is not an http(s) URL is refused when the adapter is made, not at every send', () => {
  for (const statusCallbackUrl of ['receipts/twilio', 'ftp://example.com/r', 'http://']) {
    assert.throws(
      () => createTwilioAdapter({ baseUrl: fake.url, accountSid: SID, authToken: TOKEN, from: '+15005550006', statusCallbackUrl, dispatcher: agent, now }),
      (e: unknown) => e instanceof Error && e.message.includes('providers.twilio.statusCallbackUrl'),
      statusCallbackUrl,
    );
  }
});

test('twilio: MessagingServiceSid replaces From; ValidityPeriod is capped at 36000 s', async () => {
  const svc = createTwilioAdapter({ baseUrl: fake.url, accountSid: SID, authToken: TOKEN, messagingServiceSid: `MG${'0'.repeat(32)}`, dispatcher: agent, now });
  const r = await svc.send(smsIntent('+15551230002', 'hi', { expiresAt: Date.now() + 86_400_000 }));
  assert.equal(r.status, 'sent');
  const m = fake.messages.at(-1);
  assert.equal(m?.fields['MessagingServiceSid'], `MG${'0'.repeat(32)}`);
  assert.equal(m?.fields['From'], undefined);
  assert.equal(m?.fields['ValidityPeriod'], '36000');
});

test('twilio: the fake rejects malformed requests the way Twilio does', async () => {
  const bad = createTwilioAdapter({ baseUrl: fake.url, accountSid: SID, authToken: 'wrong', from: '+15005550006', dispatcher: agent, now });
  const r1 = await bad.send(smsIntent('+15551230003'));
  assert.equal(r1.status, 'retry', 'refused credentials are a provider-level failure, not the message');
  assert.equal(r1.status === 'retry' && r1.code, '20003');
  const r2 = await twilio.send(smsIntent('+05551230003'));
  assert.deepEqual(r2.status === 'failed' && [r2.code, r2.action], ['21211', 'invalid_number']);
  const r3 = await twilio.send(smsIntent('+15551230003', 'x'.repeat(1601)));
  assert.deepEqual(r3.status === 'failed' && r3.code, '21617');
});

test('twilio: every documented error class is handled as documented', async () => {
  const cases: Array<[string, string, Record<string, unknown>]> = [
    ['unsubscribed', '+15551230010', { status: 'failed', code: '21610', action: 'withdraw_consent' }],
    ['invalid_number', '+15551230011', { status: 'failed', code: '21211', action: 'invalid_number' }],
    ['not_sms_capable', '+15551230012', { status: 'failed', code: '21614', action: 'invalid_number' }],
    ['throttled', '+15551230013', { status: 'retry', code: '20429', throttled: true }],
    ['server_error', '+15551230014', { status: 'retry', code: '20500' }],
    ['unavailable', '+15551230015', { status: 'retry', code: '20503' }],
  ];
  for (const [cls, phone, expected] of cases) {
    fake.failRecipient(phone, cls);
    const r = await twilio.send(smsIntent(phone));
    for (const [k, v] of Object.entries(expected)) assert.equal((r as unknown as Record<string, unknown>)[k], v, `${cls}.${k}`);
    assert.equal(fake.countFor(phone), 0, `${cls}: nothing recorded`);
  }
  // 30001 (queue overflow) and 30036 (validity expired) arrive as ErrorCodes; same classifier.
  assert.deepEqual(classifyTwilioError(400, 30001, 'Queue overflow'), { status: 'retry', code: '30001', message: 'Queue overflow', throttled: true });
  assert.deepEqual(classifyTwilioError(400, 30036, 'Validity period expired'), { status: 'failed', permanent: true, code: '30036', message: 'Validity period expired' });
  assert.equal(classifyTwilioError(502, undefined, 'bad gateway').status, 'retry');
});

test('twilio: 429 honours Retry-After (seconds and HTTP date)', () => {
  const t0 = Date.parse('2025-01-01T00:00:00Z');
  assert.equal(parseRetryAfter('7', t0), 7000);
  assert.equal(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', t0), 30_000);
  const r = classifyTwilioError(429, 20429, 'Too Many Requests', 7000);
  assert.equal(r.status === 'retry' && r.retryAfterMs, 7000);
});

test('twilio: an expired intent is not sent', async () => {
  const before = fake.stats.requests;
  const r = await twilio.send(smsIntent('+15551230020', 'late', { expiresAt: Date.now() - 1 }));
  assert.deepEqual(r.status === 'failed' && r.code, 'expired');
  assert.equal(fake.stats.requests, before);
});

test('twilio: signed status callbacks, including the async 30036 failure', async () => {
  received.length = 0;
  const ok = await twilio.send(smsIntent('+15551230021'));
  const late = await twilio.send(smsIntent('+15550000030'));
  assert.equal(ok.status, 'sent');
  assert.equal(late.status, 'sent');
  const deadline = Date.now() + 5000;
  while (received.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(received.length, 4);
  for (const cb of received) assert.equal(cb.signature, twilioSignature(TOKEN, cb.url, cb.form), 'X-Twilio-Signature verifies');
  const finals = received.map((c) => parseTwilioStatusCallback(c.form)).filter((s): s is TwilioStatus => s !== undefined && s.status !== 'sent');
  const bySid = new Map(finals.map((s) => [s.messageSid, s]));
  assert.equal(bySid.get(ok.status === 'sent' ? ok.providerMessageId : '')?.status, 'delivered');
  const failedCb = bySid.get(late.status === 'sent' ? late.providerMessageId : '');
  assert.equal(failedCb?.errorCode, 30036);
  assert.deepEqual(failedCb?.outcome?.status === 'failed' && failedCb.outcome.code, '30036');
});
