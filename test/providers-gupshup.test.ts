import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { startGupshupFake } from '../bench/fakes/index.js';
import { smsIntent } from '../bench/fakes/intents.js';
import { createGupshupAdapter, parseGupshupDlr, type GupshupDlr } from '../operators/sinks/providers/gupshup.js';

const agent = new Agent();
const dlrs: GupshupDlr[] = [];
const receiver = createServer((req, res) => {
  const d = parseGupshupDlr(new URL(req.url ?? '/', 'http://x').searchParams);
  if (d !== undefined) dlrs.push(d);
  res.end();
});
await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
const fake = await startGupshupFake({ userid: '2000123456', password: 'pw-secret', dlrUrl: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/v1/receipts/gupshup` });
const gupshup = createGupshupAdapter({ baseUrl: fake.url, userid: '2000123456', password: 'pw-secret', dispatcher: agent, now: () => Date.now() });

after(async () => {
  await fake.close();
  await agent.close();
  receiver.closeAllConnections();
  await new Promise<void>((r) => receiver.close(() => r()));
});

test('gupshup: form fields per the enterprise API, TEXT for GSM-7', async () => {
  const r = await gupshup.send(smsIntent('+919812345670', 'Sale: 40% off till midnight'));
  assert.equal(r.status, 'sent');
  const f = fake.messages.at(-1)?.fields ?? {};
  assert.deepEqual(f, {
    method: 'sendMessage',
    send_to: '919812345670',
    msg: 'Sale: 40% off till midnight',
    msg_type: 'TEXT',
    userid: '2000123456',
    password: 'pw-secret',
    auth_scheme: 'plain',
    v: '1.1',
    format: 'text',
    principalEntityId: '1101000000000000001',
    dltTemplateId: '1107000000000000001',
    mask: 'SHPPLS',
  });
  assert.equal(r.status === 'sent' && r.providerMessageId, fake.messages.at(-1)?.id, 'the id of "success | phone | id"');
});

test('gupshup: UCS-2 text (Hindi, ₹) goes as UNICODE_TEXT', async () => {
  for (const body of ['आपका ऑर्डर भेज दिया गया है', 'Flat ₹499 today']) {
    const r = await gupshup.send(smsIntent('+919812345671', body));
    assert.equal(r.status, 'sent', body);
    assert.equal(fake.messages.at(-1)?.fields['msg_type'], 'UNICODE_TEXT');
    assert.equal(fake.messages.at(-1)?.fields['msg'], body);
  }
});

test('gupshup: DLT fields missing are refused before sending', async () => {
  const before = fake.stats.requests;
  const intent = smsIntent('+919812345672');
  const r = await gupshup.send({ ...intent, sms: { body: 'x', encoding: 'GSM-7' } });
  assert.deepEqual(r.status === 'failed' && r.code, 'dlt_missing');
  assert.equal(fake.stats.requests, before);
});

test('gupshup: error replies are classified', async () => {
  const cases: Array<[string, string, Record<string, unknown>]> = [
    ['invalid_number', '919812345680', { status: 'failed', code: '103', action: 'invalid_number' }],
    ['dlt_mismatch', '919812345681', { status: 'failed', code: '106' }],
    ['service_disabled', '919812345682', { status: 'failed', code: '175' }],
    ['internal', '919812345683', { status: 'retry', code: '100' }],
    ['auth', '919812345684', { status: 'retry', code: '102' }],
    ['throttled', '919812345685', { status: 'retry', code: 'http_429', throttled: true }],
    ['unavailable', '919812345686', { status: 'retry', code: 'http_503' }],
  ];
  for (const [cls, phone, expected] of cases) {
    fake.failRecipient(phone, cls);
    const r = await gupshup.send(smsIntent(`+${phone}`));
    for (const [k, v] of Object.entries(expected)) assert.equal((r as unknown as Record<string, unknown>)[k], v, `${cls}.${k}`);
    assert.equal(fake.countFor(phone), 0);
  }
  const wrong = createGupshupAdapter({ baseUrl: fake.url, userid: '2000123456', password: 'nope', dispatcher: agent, now: () => Date.now() });
  const r = await wrong.send(smsIntent('+919812345690'));
  assert.deepEqual(r.status === 'retry' && r.code, '102', 'bad credentials: provider-level, failover material');
});

test('gupshup: the DLR reaches the configured URL with the message id', async () => {
  dlrs.length = 0;
  const r = await gupshup.send(smsIntent('+919812345699'));
  const deadline = Date.now() + 5000;
  while (dlrs.length === 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
  assert.equal(dlrs[0]?.externalId, r.status === 'sent' ? r.providerMessageId : '');
  assert.equal(dlrs[0]?.status, 'SUCCESS');
  assert.equal(dlrs[0]?.phoneNo, '919812345699');
});
