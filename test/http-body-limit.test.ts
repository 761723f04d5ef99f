import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { auth, rawJson, rawRequest, startTestServer, TEST_TOKEN, type TestServer } from './support/http-client.js';

type ErrorJson = { error: { code: string; message: string } };

/** maxBodyBytes is 1024 in these tests. */
describe('http server: request body limit (413)', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ maxBodyBytes: 1024 });
  });
  after(() => s.close());

  const validBody = (size: number) => {
    const base = '{"userId":"u1","campaignId":"c1","pad":""}';
    return base.replace('"pad":""', `"pad":"${'x'.repeat(size - base.length)}"`);
  };
  const head = (extra: string) => `POST /v1/eligibility HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TEST_TOKEN}\r\nContent-Type: application/json\r\n${extra}\r\n`;

  test('exactly maxBodyBytes is accepted; one byte more is 413 with a JSON error', async () => {
    const ok = await fetch(`${s.base}/v1/eligibility`, { method: 'POST', body: validBody(1024), headers: auth() });
    assert.equal(ok.status, 200);
    const calls = s.api.calls.eligibility.length;
    const res = await fetch(`${s.base}/v1/eligibility`, { method: 'POST', body: validBody(1025), headers: auth() });
    assert.equal(res.status, 413);
    assert.equal(((await res.json()) as ErrorJson).error.code, 'NUDGE_ERR_PAYLOAD_TOO_LARGE');
    assert.equal(s.api.calls.eligibility.length, calls, 'the oversize body never reached the replica');
  });

  test('a declared Content-Length over the limit is refused before the body is sent', async () => {
    const started = Date.now();
    // Headers only: the server must answer without waiting for 10 MB that never comes.
    const res = await rawRequest(s.port, [head('Content-Length: 10485760\r\n')], { timeoutMs: 3_000 });
    assert.equal(res.status, 413);
    assert.equal((rawJson(res) as ErrorJson).error.code, 'NUDGE_ERR_PAYLOAD_TOO_LARGE');
    assert.ok(res.closedByServer, 'the connection is closed after a 413');
    assert.ok(Date.now() - started < 2_000);
  });

  test('chunked bodies are counted as they stream: 413 once the limit is crossed, mid-stream', async () => {
    const chunk = 'x'.repeat(400);
    const frame = `${chunk.length.toString(16)}\r\n${chunk}\r\n`;
    // Five chunks with pauses: the 413 must come after the third, not after the client ends.
    const res = await rawRequest(s.port, [head('Transfer-Encoding: chunked\r\n'), frame, frame, frame, frame, frame, '0\r\n\r\n'], { gapMs: 150, timeoutMs: 3_000 });
    assert.equal(res.status, 413);
    assert.ok(res.closedByServer);
  });

  test('a chunked fetch body over the limit is 413', async () => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 8; i++) controller.enqueue(new TextEncoder().encode('y'.repeat(300)));
        controller.close();
      },
    });
    const res = await fetch(`${s.base}/v1/eligibility`, { method: 'POST', body, headers: auth(), duplex: 'half' } as RequestInit & { duplex: 'half' }).catch((err: unknown) => err);
    // The server may close before undici finishes sending; both outcomes leave nothing read past the limit.
    if (res instanceof Response) assert.equal(res.status, 413);
    else assert.ok(res instanceof Error);
  });

  test('a client lying with a small Content-Length: only the declared bytes are the body, the rest is refused', async () => {
    const calls = s.api.calls.eligibility.length;
    const flood = 'z'.repeat(64 * 1024);
    const res = await rawRequest(s.port, [head('Content-Length: 10\r\n'), '{"userId":', flood, flood], { timeoutMs: 2_000 });
    // The first ten bytes are a (truncated) JSON body: 400, if uWS gets to send it before
    // it parses the flood after them, which is not a request and ends the connection.
    assert.ok(res.status === undefined || res.status === 400, `got ${res.status}`);
    if (res.status === 400) assert.equal((rawJson(res) as ErrorJson).error.code, 'NUDGE_ERR_MALFORMED_JSON');
    assert.ok(res.closedByServer, 'the garbage after the declared body ends the connection');
    assert.equal(s.api.calls.eligibility.length, calls);
  });

  test('a client lying with a large Content-Length and a small body gets 413 at once', async () => {
    const res = await rawRequest(s.port, [head('Content-Length: 5000\r\n'), '{"userId":"u1","campaignId":"c1"}'], { timeoutMs: 2_000 });
    assert.equal(res.status, 413);
  });

  test('both Content-Length and chunked (a smuggling shape) never reach the replica', async () => {
    const calls = s.api.calls.eligibility.length;
    const big = 'x'.repeat(4000);
    const res = await rawRequest(s.port, [head(`Content-Length: 10\r\nTransfer-Encoding: chunked\r\n`), `${big.length.toString(16)}\r\n${big}\r\n0\r\n\r\n`], { timeoutMs: 2_000 });
    assert.ok(res.status === undefined || res.status === 400 || res.status === 413, `got ${res.status}`);
    assert.ok(res.closedByServer);
    assert.equal(s.api.calls.eligibility.length, calls);
  });

  test('a non-numeric Content-Length is a 400', async () => {
    const res = await rawRequest(s.port, [head('Content-Length: 12abc\r\n'), '{}'], { timeoutMs: 2_000 });
    assert.ok(res.status === undefined || res.status === 400, `got ${res.status}`);
  });

  test('the limit applies to webhooks too', async () => {
    const res = await fetch(`${s.base}/v1/receipts/twilio?userId=u1`, {
      method: 'POST',
      body: `MessageSid=SM1&MessageStatus=delivered&pad=${'p'.repeat(2000)}`,
      headers: { ...auth(), 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(res.status, 413);
  });

  test('after all that the server still answers', async () => {
    assert.equal((await fetch(`${s.base}/healthz`)).status, 200);
  });
});
