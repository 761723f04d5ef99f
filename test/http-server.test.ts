import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ApiError } from '../http/replica-api.js';
import { auth, liveClient, rawJson, rawRequest, startTestServer, TEST_TOKEN, type TestServer } from './support/http-client.js';

type ErrorJson = { error: { code: string; message: string } };

async function json(res: Response): Promise<unknown> {
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  return (await res.json()) as unknown;
}

describe('http server: health, readiness, metrics (no auth)', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  test('GET /healthz is 200 while alive, 503 when not', async () => {
    const ok = await fetch(`${s.base}/healthz`);
    assert.equal(ok.status, 200);
    assert.deepEqual(await json(ok), { status: 'ok', replica: 'stub-replica' });
    s.api.isAlive = false;
    const down = await fetch(`${s.base}/healthz`);
    assert.equal(down.status, 503);
    assert.equal(((await json(down)) as ErrorJson).error.code, 'NUDGE_ERR_NOT_ALIVE');
    s.api.isAlive = true;
  });

  test('GET /readyz is 200 when ready, else 503 with a JSON body naming the partitions', async () => {
    const ok = await fetch(`${s.base}/readyz`);
    assert.equal(ok.status, 200);
    assert.deepEqual(await json(ok), { ready: true, replica: 'stub-replica' });
    s.api.isReady = false;
    const no = await fetch(`${s.base}/readyz`);
    assert.equal(no.status, 503);
    const body = (await json(no)) as ErrorJson & { ready: boolean; partitionsNotReady: number[] };
    assert.equal(body.ready, false);
    assert.deepEqual(body.partitionsNotReady, [1]);
    assert.equal(body.error.code, 'NUDGE_ERR_NOT_READY');
    s.api.isReady = true;
  });

  test('GET /metrics is the replica\'s Prometheus text with its content type', async () => {
    const res = await fetch(`${s.base}/metrics`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    assert.match(await res.text(), /^nudge_records_in_total\{topic="events",partition="0"\} 42$/m);
  });

  test('a failing metrics call is a JSON 500 that leaks nothing, and the server carries on', async () => {
    s.api.failWith.metrics = new Error('secret internals');
    const res = await fetch(`${s.base}/metrics`);
    s.api.failWith.metrics = undefined;
    assert.equal(res.status, 500);
    const body = (await json(res)) as ErrorJson;
    assert.deepEqual(body, { error: { code: 'NUDGE_ERR_INTERNAL', message: 'internal error' } });
    assert.equal((await fetch(`${s.base}/healthz`)).status, 200);
  });
});

describe('http server: bearer auth', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  const protectedCalls: Array<{ name: string; path: string; init: RequestInit }> = [
    { name: 'POST /v1/eligibility', path: '/v1/eligibility', init: { method: 'POST', body: '{"userId":"u1","campaignId":"c1"}' } },
    { name: 'GET /v1/users/{id}', path: '/v1/users/u1', init: {} },
    { name: 'POST /v1/receipts/twilio', path: '/v1/receipts/twilio?userId=u1', init: { method: 'POST', body: 'MessageSid=SM1&MessageStatus=delivered', headers: { 'content-type': 'application/x-www-form-urlencoded' } } },
    { name: 'GET /v1/live (not an upgrade)', path: '/v1/live', init: {} },
  ];

  for (const call of protectedCalls) {
    test(`${call.name}: 401 without a token and with a wrong one`, async () => {
      const before = JSON.stringify(s.api.calls);
      const headersOf = (extra: Record<string, string>) => ({ ...((call.init.headers as Record<string, string> | undefined) ?? {}), ...extra });
      for (const [what, headers] of [
        ['none', headersOf({})],
        ['wrong', headersOf(auth('wrong-token'))],
        ['prefix of the right one', headersOf(auth(TEST_TOKEN.slice(0, -1)))],
        ['not bearer', headersOf({ authorization: `Basic ${Buffer.from(`x:${TEST_TOKEN}`).toString('base64')}` })],
      ] as const) {
        const res = await fetch(`${s.base}${call.path}`, { ...call.init, headers });
        assert.equal(res.status, 401, `${call.name} with ${what} token`);
        assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
        assert.equal(((await json(res)) as ErrorJson).error.code, 'NUDGE_ERR_UNAUTHORIZED');
      }
      assert.equal(JSON.stringify(s.api.calls), before, 'no call reached the replica');
    });
  }

  test('GET /v1/live upgrade: 401 without a token and with a wrong one, no subscription', async () => {
    for (const headers of [{}, auth('nope')]) {
      const c = liveClient(`ws://127.0.0.1:${s.port}/v1/live`, headers);
      await assert.rejects(c.opened);
    }
    const c = liveClient(`ws://127.0.0.1:${s.port}/v1/live?token=nope`);
    await assert.rejects(c.opened);
    const raw = await rawRequest(s.port, [`GET /v1/live HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`]);
    assert.equal(raw.status, 401);
    assert.match(raw.text, /WWW-Authenticate: Bearer/i);
    assert.equal((rawJson(raw) as ErrorJson).error.code, 'NUDGE_ERR_UNAUTHORIZED');
    assert.equal(s.api.subscribers, 0);
  });

  test('the query token is not accepted on the JSON API, only the header', async () => {
    const res = await fetch(`${s.base}/v1/users/u1?token=${TEST_TOKEN}`);
    assert.equal(res.status, 401);
  });

  test('the scheme is case-insensitive', async () => {
    const res = await fetch(`${s.base}/v1/users/u1`, { headers: { authorization: `bearer ${TEST_TOKEN}` } });
    assert.equal(res.status, 404);
  });
});

describe('http server: no token configured', () => {
  test('the protected API answers 503 auth_not_configured; health and metrics still work', async () => {
    const s = await startTestServer({ token: undefined });
    try {
      assert.equal((await fetch(`${s.base}/healthz`)).status, 200);
      assert.equal((await fetch(`${s.base}/metrics`)).status, 200);
      for (const token of [undefined, 'anything']) {
        const res = await fetch(`${s.base}/v1/users/u1`, { headers: token === undefined ? {} : auth(token) });
        assert.equal(res.status, 503);
        assert.equal(((await json(res)) as ErrorJson).error.code, 'NUDGE_ERR_AUTH_NOT_CONFIGURED');
      }
      assert.deepEqual(s.api.calls.user, []);
    } finally {
      s.close();
    }
  });

  test('an empty token counts as none', async () => {
    const s = await startTestServer({ token: '' });
    try {
      assert.equal((await fetch(`${s.base}/v1/users/u1`, { headers: { authorization: 'Bearer ' } })).status, 503);
    } finally {
      s.close();
    }
  });

  test('insecure: true serves the protected API without a token', async () => {
    const s = await startTestServer({ token: undefined, insecure: true });
    try {
      const res = await fetch(`${s.base}/v1/eligibility`, { method: 'POST', body: '{"userId":"u1","campaignId":"c1"}' });
      assert.equal(res.status, 200);
    } finally {
      s.close();
    }
  });
});

describe('http server: the JSON API', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ requestTimeoutMs: 300 });
  });
  after(() => s.close());

  const post = (body: string | undefined, headers: Record<string, string> = {}) =>
    fetch(`${s.base}/v1/eligibility`, { method: 'POST', body, headers: { ...auth(), 'content-type': 'application/json', ...headers } });

  test('POST /v1/eligibility forwards the request and answers the replica\'s answer', async () => {
    const res = await post('{"userId":"u42","campaignId":"c7"}');
    assert.equal(res.status, 200);
    const answer = (await json(res)) as { eligible: boolean; action: string; answeredBy: string };
    assert.equal(answer.eligible, true);
    assert.equal(answer.action, 'send');
    assert.equal(answer.answeredBy, 'stub-replica');
    assert.deepEqual(s.api.calls.eligibility.at(-1), { userId: 'u42', campaignId: 'c7' });
    const inline = await post('{"userId":"u42","campaign":{"campaignId":"x","kind":"promotional"}}');
    assert.equal(inline.status, 200);
    assert.deepEqual(s.api.calls.eligibility.at(-1), { userId: 'u42', campaign: { campaignId: 'x', kind: 'promotional' } });
  });

  test('malformed JSON is a 400 with {error:{code,message}}', async () => {
    for (const body of ['{"userId":', 'not json', '{"userId":"u1",}', '\u0000\u0001', '']) {
      const res = await post(body);
      assert.equal(res.status, 400, `body ${JSON.stringify(body)}`);
      const e = (await json(res)) as ErrorJson;
      assert.equal(e.error.code, 'NUDGE_ERR_MALFORMED_JSON');
      assert.equal(typeof e.error.message, 'string');
    }
    const bad = await fetch(`${s.base}/v1/eligibility`, { method: 'POST', body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), headers: auth() });
    assert.equal(bad.status, 400);
    assert.equal(((await json(bad)) as ErrorJson).error.code, 'NUDGE_ERR_INVALID_UTF8');
  });

  test('a well-formed but invalid request is a 400 naming the field', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['[]', 'NUDGE_ERR_NOT_AN_OBJECT', /object/],
      ['"u1"', 'NUDGE_ERR_NOT_AN_OBJECT', /object/],
      ['{"campaignId":"c1"}', 'NUDGE_ERR_MISSING_FIELD', /userId/],
      ['{"userId":42,"campaignId":"c1"}', 'NUDGE_ERR_INVALID_FIELD', /userId/],
      ['{"userId":"u1"}', 'NUDGE_ERR_MISSING_FIELD', /campaignId/],
      ['{"userId":"u1","campaignId":7}', 'NUDGE_ERR_INVALID_FIELD', /campaignId/],
      ['{"userId":"u1","campaignId":"c1","campaign":{}}', 'NUDGE_ERR_INVALID_FIELD', /campaign/],
      ['{"userId":"u1","campaign":[1]}', 'NUDGE_ERR_INVALID_FIELD', /campaign/],
    ];
    for (const [body, code, field] of cases) {
      const res = await post(body);
      assert.equal(res.status, 400, body);
      const e = (await json(res)) as ErrorJson;
      assert.equal(e.error.code, code, body);
      assert.match(e.error.message, field);
    }
  });

  test('an ApiError keeps its status and code; a timeout is a 504', async () => {
    s.api.failWith.eligibility = new ApiError(404, 'NUDGE_ERR_UNKNOWN_CAMPAIGN', 'no campaign c9');
    const res = await post('{"userId":"u1","campaignId":"c9"}');
    s.api.failWith.eligibility = undefined;
    assert.equal(res.status, 404);
    assert.deepEqual(await json(res), { error: { code: 'NUDGE_ERR_UNKNOWN_CAMPAIGN', message: 'no campaign c9' } });

    s.api.eligibilityDelayMs = 1_000;
    const slow = await post('{"userId":"u1","campaignId":"c1"}');
    s.api.eligibilityDelayMs = 0;
    assert.equal(slow.status, 504);
    assert.equal(((await json(slow)) as ErrorJson).error.code, 'NUDGE_ERR_TIMEOUT');
  });

  test('GET /v1/users/{id}: the view, 404 when unknown, percent-decoded ids', async () => {
    s.api.users.set('u 1/é', { userId: 'u 1/é', partition: 3, profile: null, capsUsed: [], pending: [], features: {} });
    const res = await fetch(`${s.base}/v1/users/${encodeURIComponent('u 1/é')}`, { headers: auth() });
    assert.equal(res.status, 200);
    assert.equal(((await json(res)) as { partition: number }).partition, 3);
    assert.equal(s.api.calls.user.at(-1), 'u 1/é');
    const missing = await fetch(`${s.base}/v1/users/nobody`, { headers: auth() });
    assert.equal(missing.status, 404);
    assert.equal(((await json(missing)) as ErrorJson).error.code, 'NUDGE_ERR_UNKNOWN_USER');
    const badEncoding = await fetch(`${s.base}/v1/users/%E0%A4%A`, { headers: auth() });
    assert.equal(badEncoding.status, 400);
  });

  test('x-nudge-forwarded tells the replica not to forward again', async () => {
    s.api.calls.forwarded.length = 0;
    await post('{"userId":"u1","campaignId":"c1"}');
    await post('{"userId":"u1","campaignId":"c1"}', { 'x-nudge-forwarded': 'replica-a' });
    await fetch(`${s.base}/v1/users/u1`, { headers: { ...auth(), 'x-nudge-forwarded': 'replica-a' } });
    assert.deepEqual(s.api.calls.forwarded, [false, true, true]);
  });

  test('wrong method is a JSON 405 with Allow; unknown path a JSON 404', async () => {
    const res = await fetch(`${s.base}/v1/eligibility`, { headers: auth() });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'POST');
    assert.equal(((await json(res)) as ErrorJson).error.code, 'NUDGE_ERR_METHOD_NOT_ALLOWED');
    const nf = await fetch(`${s.base}/nope/nothing`, { method: 'DELETE' });
    assert.equal(nf.status, 404);
    assert.equal(((await json(nf)) as ErrorJson).error.code, 'NUDGE_ERR_NOT_FOUND');
  });

  test('GET / answers 404 when no dashboard was given', async () => {
    const res = await fetch(`${s.base}/`);
    assert.equal(res.status, 404);
  });

  test('a client that goes away while the replica answers does not hurt the server', async () => {
    s.api.eligibilityDelayMs = 100;
    const gone = await rawRequest(s.port, [`POST /v1/eligibility HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TEST_TOKEN}\r\nContent-Length: 34\r\n\r\n{"userId":"u1","campaignId":"c1"}\n`], { destroyAfterWrite: true });
    assert.equal(gone.status, undefined);
    await new Promise((r) => setTimeout(r, 200));
    s.api.eligibilityDelayMs = 0;
    assert.equal((await fetch(`${s.base}/healthz`)).status, 200);
  });
});
