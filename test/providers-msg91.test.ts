import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'undici';
import { startMsg91Fake } from '../bench/fakes/index.js';
import { smsIntent } from '../bench/fakes/intents.js';
import { createMsg91Adapter } from '../operators/sinks/providers/msg91.js';
import { compileDltTemplate, msg91Variables } from '../operators/sinks/providers/msg91-variables.js';

const agent = new Agent();
const fake = await startMsg91Fake({ authkey: 'msg91-key', flows: { 'flow-promo': 2, 'flow-any': 1 } });
const DLT_ID = '1107000000000000001';
const msg91 = createMsg91Adapter({
  baseUrl: fake.url,
  authkey: 'msg91-key',
  templates: { [DLT_ID]: { flowId: 'flow-promo', dltTemplate: '{#var#}, 40% off {#var#} till midnight' }, '1107000000000000002': { flowId: 'flow-any' } },
  dispatcher: agent,
  now: () => Date.now(),
});

after(async () => {
  await fake.close();
  await agent.close();
});

test('msg91: variables are recovered from the body in template order (VAR1..n)', () => {
  const t = compileDltTemplate('Hi {#var#}, your order {#var#} ships {#var#}.');
  assert.deepEqual(msg91Variables('Hi Asha, your order #42 (2 items) ships today.', t), { VAR1: 'Asha', VAR2: '#42 (2 items)', VAR3: 'today' });
  assert.equal(msg91Variables('Hello Asha', t), undefined);
  assert.deepEqual(msg91Variables('anything at all', undefined), { VAR1: 'anything at all' });
  // Regex metacharacters in the template are literal.
  assert.deepEqual(msg91Variables('Pay ₹(99)+tax now', compileDltTemplate('Pay ₹({#var#})+tax now')), { VAR1: '99' });
});

test('msg91: the flow request, field by field', async () => {
  const r = await msg91.send(smsIntent('+919812340001', 'Asha, 40% off shoes till midnight'));
  assert.equal(r.status, 'sent');
  const m = fake.messages.at(-1);
  assert.deepEqual(m?.fields, { template_id: 'flow-promo', short_url: '0', mobiles: '919812340001', VAR1: 'Asha', VAR2: 'shoes' });
  assert.equal(r.status === 'sent' && r.providerMessageId, m?.id);
});

test('msg91: a template without text sends the body as VAR1', async () => {
  const intent = smsIntent('+919812340002', 'Your OTP is 1234');
  const r = await msg91.send({ ...intent, sms: { ...(intent.sms as NonNullable<typeof intent.sms>), dltTemplateId: '1107000000000000002' } });
  assert.equal(r.status, 'sent');
  assert.deepEqual(fake.messages.at(-1)?.fields, { template_id: 'flow-any', short_url: '0', mobiles: '919812340002', VAR1: 'Your OTP is 1234' });
});

test('msg91: a body that does not fit its template, or an unmapped template, is refused locally', async () => {
  const before = fake.stats.requests;
  const r1 = await msg91.send(smsIntent('+919812340003', 'Something else entirely'));
  assert.deepEqual(r1.status === 'failed' && r1.code, 'template_mismatch');
  const i = smsIntent('+919812340003');
  const r2 = await msg91.send({ ...i, sms: { ...(i.sms as NonNullable<typeof i.sms>), dltTemplateId: '999' } });
  assert.deepEqual(r2.status === 'failed' && r2.code, 'no_template');
  assert.equal(fake.stats.requests, before);
});

test('msg91: error replies are classified', async () => {
  const cases: Array<[string, string, Record<string, unknown>]> = [
    ['invalid_mobile', '919812340010', { status: 'failed', action: 'invalid_number' }],
    ['template', '919812340011', { status: 'failed', code: 'http_400' }],
    ['throttled', '919812340012', { status: 'retry', throttled: true }],
    ['server_error', '919812340013', { status: 'retry', code: 'http_500' }],
    ['unavailable', '919812340014', { status: 'retry', code: 'http_503' }],
    ['auth', '919812340015', { status: 'retry', code: 'http_401' }],
  ];
  for (const [cls, phone, expected] of cases) {
    fake.failRecipient(phone, cls);
    const r = await msg91.send(smsIntent(`+${phone}`, 'Asha, 40% off shoes till midnight'));
    for (const [k, v] of Object.entries(expected)) assert.equal((r as unknown as Record<string, unknown>)[k], v, `${cls}.${k}`);
    assert.equal(fake.countFor(phone), 0);
  }
  const wrong = createMsg91Adapter({ baseUrl: fake.url, authkey: 'bad', templates: { [DLT_ID]: { flowId: 'flow-promo' } }, dispatcher: agent, now: () => Date.now() });
  const r = await wrong.send(smsIntent('+919812340020'));
  assert.deepEqual(r.status === 'retry' && r.code, 'http_401');
});
