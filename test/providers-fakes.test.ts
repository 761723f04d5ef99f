import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'undici';
import { pushIntent, smsIntent, startFakeProviders } from '../bench/fakes/index.js';
import { createProviderAdapter } from '../operators/sinks/providers/factory.js';
import { createTwilioAdapter } from '../operators/sinks/providers/twilio.js';

const fakes = await startFakeProviders();
const agent = new Agent();
after(async () => {
  await agent.close();
  await fakes.close();
});

async function control(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await agent.request({ origin: base, path, method: method as 'GET', headers: { 'content-type': 'application/json' }, body: body === undefined ? null : JSON.stringify(body) });
  return { status: res.statusCode, json: (await res.body.json()) as unknown };
}

test('fakes: every adapter type builds from config and sends through its fake', async () => {
  const deps = { now: Date.now, dispatcher: agent };
  const adapters = Object.values(fakes.configs).map((c) => createProviderAdapter(c, deps));
  assert.deepEqual(adapters.map((a) => [a.name, a.channel]), [['twilio', 'sms'], ['gupshup', 'sms'], ['msg91', 'sms'], ['fcm', 'push'], ['apns', 'push']]);
  const [twilio, gupshup, msg91, fcm, apns] = adapters;
  assert.equal((await twilio?.send(smsIntent('+15550003000')))?.status, 'sent');
  assert.equal((await gupshup?.send(smsIntent('+919800003000')))?.status, 'sent');
  assert.equal((await msg91?.send(smsIntent('+919800003001')))?.status, 'sent');
  assert.equal((await fcm?.send(pushIntent('fcm', 'fcm-tok')))?.status, 'sent');
  assert.equal((await apns?.send(pushIntent('apns', 'ab'.repeat(32))))?.status, 'sent');
  for (const a of adapters) await a.close?.();
  assert.equal(fakes.twilio.countFor('+15550003000') + fakes.gupshup.countFor('919800003000') + fakes.msg91.countFor('919800003001') + fakes.fcm.countFor('fcm-tok') + fakes.apns.countFor('ab'.repeat(32)), 5);
});

test('fakes: the control API sets faults, fails recipients and reports state', async () => {
  const base = fakes.twilio.url;
  assert.equal((await control(base, 'PUT', '/__fake/faults', { latencyMs: 5, errorRates: { server_error: 0 } })).status, 200);
  assert.equal(fakes.twilio.faults.latencyMs, 5);
  const bad = await control(base, 'PATCH', '/__fake/faults', { latencyMS: 5 });
  assert.equal(bad.status, 400);
  assert.match(JSON.stringify(bad.json), /unknown fault latencyMS/);
  assert.equal((await control(base, 'PATCH', '/__fake/faults', { errorRates: { nope: 0.1 } })).status, 400);
  assert.equal((await control(base, 'POST', '/__fake/recipients', { recipient: '+15550003001', error: 'unsubscribed' })).status, 200);
  const adapter = createProviderAdapter(fakes.configs.twilio, { now: Date.now, dispatcher: agent });
  const r = await adapter.send(smsIntent('+15550003001'));
  assert.deepEqual(r.status === 'failed' && r.action, 'withdraw_consent');
  const state = (await control(base, 'GET', '/__fake/state')).json as { provider: string; stats: { rejected: number; sends: number }; errorClasses: string[] };
  assert.equal(state.provider, 'twilio');
  assert.ok(state.errorClasses.includes('throttled'));
  // A refused port cannot take the "recover" call: the outage ends by itself.
  assert.equal((await control(base, 'POST', '/__fake/outage', { mode: 'refuse', forMs: 300 })).status, 200);
  const down = await createTwilioAdapter({ baseUrl: base, accountSid: `AC${'0f'.repeat(16)}`, authToken: 'fake-twilio-token', from: '+1', dispatcher: new Agent({ pipelining: 0 }), now: Date.now }).send(smsIntent('+15550003002'));
  assert.deepEqual(down.status === 'retry' && [down.code, down.ambiguous], ['transport:ECONNREFUSED', undefined]);
  await new Promise((res) => setTimeout(res, 400));
  assert.equal((await adapter.send(smsIntent('+15550003003'))).status, 'sent');
  assert.equal((await control(base, 'POST', '/__fake/reset')).status, 200);
  assert.equal(fakes.twilio.stats.sends, 0);
});

test('fakes: a hung request times out as an ambiguous retry; throttling caps accepted sends per second', async () => {
  const adapter = createTwilioAdapter({ baseUrl: fakes.twilio.url, accountSid: `AC${'0f'.repeat(16)}`, authToken: 'fake-twilio-token', from: '+15005550006', dispatcher: agent, now: Date.now, timeoutMs: 200 });
  fakes.twilio.setFaults({ hangRate: 1 });
  const r = await adapter.send(smsIntent('+15550003010'));
  fakes.twilio.resetFaults();
  assert.deepEqual(r.status === 'retry' && [r.code, r.ambiguous], ['transport:UND_ERR_HEADERS_TIMEOUT', true]);
  fakes.twilio.setFaults({ maxPerSecond: 50 });
  // The default timeout here: 100 concurrent sends on a loaded machine can take over 200 ms.
  const patient = createProviderAdapter(fakes.configs.twilio, { now: Date.now, dispatcher: agent });
  const started = performance.now();
  const results = await Promise.all(Array.from({ length: 100 }, (_, i) => patient.send(smsIntent(`+1555000310${i}`))));
  const seconds = (performance.now() - started) / 1000;
  fakes.twilio.resetFaults();
  const accepted = results.filter((x) => x.status === 'sent').length;
  assert.equal(results.length - accepted, results.filter((x) => x.status === 'retry' && x.throttled === true).length, JSON.stringify(results.filter((x) => x.status !== 'sent' && !(x.status === 'retry' && x.throttled === true))));
  // 50/s with a tenth of a second of burst (5): never more than that over the burst's duration.
  assert.ok(accepted <= 5 + Math.ceil(50 * seconds), `${accepted} accepted in ${seconds.toFixed(2)} s`);
});

test('fakes: a query string still reaches the control API, a body over 1 MB is answered 413 on a connection that goes on serving, and FCM ids are unique in FCM\'s form', async () => {
  const adapter = createProviderAdapter(fakes.configs.twilio, { now: Date.now, dispatcher: agent });
  for (const to of ['+15550003020', '+15550003021', '+15550003020']) assert.equal((await adapter.send(smsIntent(to))).status, 'sent');
  const mine = (await control(fakes.twilio.url, 'GET', '/__fake/messages?recipient=%2B15550003020')).json as Array<{ recipient: string }>;
  assert.deepEqual(mine.map((m) => m.recipient), ['+15550003020', '+15550003020'], 'filtered by the query, its escape decoded');

  // One connection, so that the next request must go over the one that sent the large body.
  const one = new Agent({ connections: 1, pipelining: 1 });
  const big = await one.request({ origin: fakes.twilio.url, path: `/2010-04-01/Accounts/AC${'0f'.repeat(16)}/Messages.json`, method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `Body=${'x'.repeat(1_100_000)}` });
  assert.equal(big.statusCode, 413);
  assert.equal(await big.body.text(), 'request body too large');
  const after = await one.request({ origin: fakes.twilio.url, path: '/__fake/state', method: 'GET' });
  assert.equal(after.statusCode, 200);
  await after.body.dump();
  await one.close();

  const fcm = createProviderAdapter(fakes.configs.fcm, { now: Date.now, dispatcher: agent });
  for (let i = 0; i < 3; i++) assert.equal((await fcm.send(pushIntent("fcm", `fcm-id-${i}`))).status, 'sent');
  const ids = fakes.fcm.messages.slice(-3).map((m) => m.id);
  assert.equal(new Set(ids).size, 3);
  for (const id of ids) assert.match(id, /^projects\/[^/]+\/messages\/0:\d+%[0-9a-f]{16}$/);
});
