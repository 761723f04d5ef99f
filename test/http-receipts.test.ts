import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HttpError } from '../http/errors.js';
import { parseGupshup, parseTwilio, webhookParser, type WebhookFields } from '../http/receipts.js';
import { auth, startTestServer, TEST_TOKEN, type TestServer } from './support/http-client.js';

const NOW = 1_763_712_345_000;
const fields = (query: string, body = ''): WebhookFields => ({ query: new URLSearchParams(query), body: new URLSearchParams(body) });

describe('webhook parsing: Twilio status callback', () => {
  const body = 'MessageSid=SM0123456789abcdef&MessageStatus=delivered&To=%2B14155550100&From=%2B14155550199&AccountSid=AC1&ApiVersion=2010-04-01';

  test('field by field: sendId from ?sendId, userId and campaignId from the query, no phone number', () => {
    const [r, ...rest] = parseTwilio('twilio', fields('sendId=s-1&userId=u42&campaignId=c7', body), NOW);
    assert.equal(rest.length, 0);
    assert.deepEqual(r, { sendId: 's-1', userId: 'u42', campaignId: 'c7', provider: 'twilio', status: 'delivered', code: null, ts: NOW });
    assert.ok(!JSON.stringify(r).includes('4155550100'), 'the To number is not copied');
  });

  test('sendId falls back to MessageSid; campaignId is left out when absent', () => {
    const [r] = parseTwilio('twilio-us', fields('userId=u42', body), NOW);
    assert.equal(r?.sendId, 'SM0123456789abcdef');
    assert.equal(r?.provider, 'twilio-us');
    assert.ok(r !== undefined && !('campaignId' in r));
  });

  test('statuses: queued/sent→accepted, delivered, undelivered, failed; ErrorCode is the code', () => {
    const cases: Array<[string, string]> = [
      ['queued', 'accepted'],
      ['sent', 'accepted'],
      ['accepted', 'accepted'],
      ['sending', 'accepted'],
      ['delivered', 'delivered'],
      ['undelivered', 'undelivered'],
      ['failed', 'failed'],
      ['canceled', 'failed'],
    ];
    for (const [twilio, ours] of cases) {
      const [r] = parseTwilio('twilio', fields('userId=u1', `MessageSid=SM1&MessageStatus=${twilio}&ErrorCode=30003`), NOW);
      assert.equal(r?.status, ours, twilio);
      assert.equal(r?.code, '30003');
    }
  });

  test('inbound statuses are not receipts; unknown statuses and missing fields are 400s naming the field', () => {
    assert.deepEqual(parseTwilio('twilio', fields('userId=u1', 'MessageSid=SM1&MessageStatus=received'), NOW), []);
    const expect400 = (query: string, body: string, field: RegExp) =>
      assert.throws(() => parseTwilio('twilio', fields(query, body), NOW), (e: unknown) => e instanceof HttpError && e.status === 400 && field.test(e.message));
    expect400('userId=u1', 'MessageSid=SM1&MessageStatus=exploded', /MessageStatus/);
    expect400('userId=u1', 'MessageSid=SM1', /MessageStatus/);
    expect400('userId=u1', 'MessageStatus=sent', /MessageSid/);
  });

  test('a callback URL without ?userId= still gives a receipt, without a user: the binding reads it from the sendId or dead-letters it', () => {
    const [twilio] = parseTwilio('twilio', fields('', 'MessageSid=SM1&MessageStatus=delivered'), NOW);
    assert.equal(twilio?.sendId, 'SM1');
    assert.equal(twilio !== undefined && 'userId' in twilio, false);
    const [gupshup] = parseGupshup('gupshup', fields('', 'externalId=d-abc.1.dTE&status=SUCCESS&deliveredTS=1763712000000'), NOW);
    assert.equal(gupshup?.sendId, 'd-abc.1.dTE');
    assert.equal(gupshup?.status, 'delivered');
    assert.equal(gupshup !== undefined && 'userId' in gupshup, false);
  });
});

describe('webhook parsing: Gupshup DLR', () => {
  test('field by field from query parameters (the GET form Gupshup uses)', () => {
    const q = 'userId=u42&campaignId=c7&externalId=3562707498794989059-328736121207676738&deliveredTS=1526347800000&status=SUCCESS&cause=SUCCESS&phoneNo=919892488888&errCode=000&noOfFrags=1';
    const [r] = parseGupshup('gupshup-in', fields(q), NOW);
    assert.deepEqual(r, { sendId: '3562707498794989059-328736121207676738', userId: 'u42', campaignId: 'c7', provider: 'gupshup-in', status: 'delivered', code: null, ts: 1526347800000 });
    assert.ok(!JSON.stringify(r).includes('9892488888'));
  });

  test('from form fields, with ?sendId winning over externalId and the cause as the code', () => {
    const [r] = parseGupshup('gupshup', fields('sendId=s-9&userId=u1', 'externalId=E1&deliveredTS=1526347800&status=FAIL&cause=UNKNOWN_SUBSCRIBER&errCode=003'), NOW);
    assert.equal(r?.sendId, 's-9');
    assert.equal(r?.status, 'failed');
    assert.equal(r?.code, 'UNKNOWN_SUBSCRIBER');
    assert.equal(r?.ts, 1526347800000, 'seconds are scaled to ms');
  });

  test('statuses and fallbacks', () => {
    const status = (s: string, extra = '') => parseGupshup('gupshup', fields(`userId=u1&externalId=E1&status=${s}${extra}`), NOW)[0];
    assert.equal(status('SUCCESS')?.status, 'delivered');
    assert.equal(status('FAILURE')?.status, 'failed');
    assert.equal(status('FAIL')?.status, 'failed');
    assert.equal(status('UNKNOWN')?.status, 'undelivered');
    assert.equal(status('UNDELIV')?.status, 'undelivered');
    assert.equal(status('SENT')?.status, 'accepted');
    assert.equal(status('FAIL', '&errCode=21')?.code, '21', 'errCode when there is no cause');
    assert.equal(status('SUCCESS', '&deliveredTS=garbage')?.ts, NOW, 'an unreadable time is now');
    assert.throws(() => status('WHATEVER'), /status/);
    assert.throws(() => parseGupshup('gupshup', fields('userId=u1&status=SUCCESS'), NOW), /externalId/);
  });

  test('a batch in the `response` field (Gupshup POST) becomes one receipt per event', () => {
    const batch = JSON.stringify([
      { externalId: 'E1', eventType: 'DELIVERED', eventTs: 1526347800000, destAddr: '919892488888', cause: 'SUCCESS', errCode: '000' },
      { externalId: 'E2', eventType: 'FAILED', eventTs: 1526347801000, destAddr: '91989237777', cause: 'UNKNOWN_SUBSCRIBER', errCode: '003' },
    ]);
    const rs = parseGupshup('gupshup', fields('userId=u1', new URLSearchParams({ response: batch }).toString()), NOW);
    assert.deepEqual(rs, [
      { sendId: 'E1', userId: 'u1', provider: 'gupshup', status: 'delivered', code: null, ts: 1526347800000 },
      { sendId: 'E2', userId: 'u1', provider: 'gupshup', status: 'failed', code: 'UNKNOWN_SUBSCRIBER', ts: 1526347801000 },
    ]);
    assert.throws(() => parseGupshup('gupshup', fields('userId=u1', 'response=%5Bnot'), NOW), /malformed JSON/);
  });

  test('provider names: twilio, gupshup and named instances; nothing else', () => {
    assert.equal(webhookParser('twilio'), parseTwilio);
    assert.equal(webhookParser('gupshup-in'), parseGupshup);
    assert.equal(webhookParser('sinch'), undefined);
    assert.equal(webhookParser('twilio/../x'), undefined);
    assert.equal(webhookParser('TWILIO'), undefined);
  });
});

describe('POST /v1/receipts/{provider} over HTTP', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());
  const form = { 'content-type': 'application/x-www-form-urlencoded' };

  test('Twilio form POST becomes a receipt handed to the replica', async () => {
    const res = await fetch(`${s.base}/v1/receipts/twilio?sendId=s-1&userId=u42&campaignId=c7`, {
      method: 'POST',
      headers: { ...auth(), ...form },
      body: 'MessageSid=SM1&MessageStatus=undelivered&ErrorCode=30005&To=%2B14155550100',
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { received: 1, accepted: 1 });
    const r = s.api.calls.receipts.at(-1);
    assert.equal(r?.['sendId'], 's-1');
    assert.equal(r?.['userId'], 'u42');
    assert.equal(r?.['campaignId'], 'c7');
    assert.equal(r?.['provider'], 'twilio');
    assert.equal(r?.['status'], 'undelivered');
    assert.equal(r?.['code'], '30005');
    assert.equal(typeof r?.['ts'], 'number');
  });

  test('Gupshup GET with the token in the query (providers can only be given a URL)', async () => {
    const res = await fetch(`${s.base}/v1/receipts/gupshup-in?token=${TEST_TOKEN}&userId=u7&externalId=E9&deliveredTS=1526347800000&status=SUCCESS&cause=SUCCESS&phoneNo=919800000000`);
    assert.equal(res.status, 200);
    assert.deepEqual(s.api.calls.receipts.at(-1), { sendId: 'E9', userId: 'u7', provider: 'gupshup-in', status: 'delivered', code: null, ts: 1526347800000 });
  });

  test("a DLR to an account-wide URL (no ?userId=) is answered 200 and handed on without a user, for the replica to key or dead-letter", async () => {
    const res = await fetch(`${s.base}/v1/receipts/gupshup-in?token=${TEST_TOKEN}&externalId=d-abc.1.dTE&deliveredTS=1526347800000&status=SUCCESS&cause=SUCCESS`);
    assert.equal(res.status, 200);
    assert.deepEqual(s.api.calls.receipts.at(-1), { sendId: 'd-abc.1.dTE', provider: 'gupshup-in', status: 'delivered', code: null, ts: 1526347800000 });
  });

  test('Gupshup JSON batch body', async () => {
    const res = await fetch(`${s.base}/v1/receipts/gupshup?userId=u8`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: JSON.stringify([{ externalId: 'A', eventType: 'DELIVERED', eventTs: 1526347800000 }, { externalId: 'B', eventType: 'FAILED', cause: 'DND_FAIL' }]),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { received: 2, accepted: 2 });
  });

  test('an unknown provider is 404; a bad webhook is 400 naming the field; a wrong query token is 401', async () => {
    const unknown = await fetch(`${s.base}/v1/receipts/sinch?userId=u1`, { method: 'POST', headers: { ...auth(), ...form }, body: 'a=b' });
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as { error: { code: string } }).error.code, 'NUDGE_ERR_UNKNOWN_PROVIDER');
    const bad = await fetch(`${s.base}/v1/receipts/twilio?userId=u1`, { method: 'POST', headers: { ...auth(), ...form }, body: 'MessageStatus=sent' });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: { message: string } }).error.message, /MessageSid/);
    const wrong = await fetch(`${s.base}/v1/receipts/gupshup?token=wrong&userId=u1&externalId=E&status=SUCCESS`);
    assert.equal(wrong.status, 401);
  });
});
