import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from '../http/replica-api.js';
import { liveClient, rawRequest, startTestServer, TEST_TOKEN } from './support/http-client.js';
import { fuzzCase, Rng } from './support/http-fuzz.js';

const REQUESTS = 2_000;
const IN_FLIGHT = 64;

test('2,000 hostile requests never crash the server, and every error it sends is JSON', { timeout: 120_000 }, async () => {
  const seed = Number(process.env['NUDGE_FUZZ_SEED'] ?? Date.now() % 1_000_000);
  // Printed so a failure can be replayed: NUDGE_FUZZ_SEED=<seed>.
  console.log(`fuzz seed ${seed}`);
  const rng = new Rng(seed);
  const crashes: unknown[] = [];
  const onCrash = (err: unknown) => crashes.push(err);
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);

  const s = await startTestServer({ maxBodyBytes: 2048, requestTimeoutMs: 200 });
  // The replica misbehaves too: slow, failing with ApiErrors, with plain errors, with non-errors.
  let n = 0;
  const realEligibility = s.api.eligibility.bind(s.api);
  s.api.eligibility = async (request) => {
    const roll = n++ % 5;
    if (roll === 1) throw new ApiError(409, 'conflict', 'nope');
    if (roll === 2) throw 'a string, not an Error';
    if (roll === 3) await new Promise((r) => setTimeout(r, 250));
    return realEligibility(request);
  };
  // A live subscriber keeps events flowing through the hub during the storm.
  const live = liveClient(`ws://127.0.0.1:${s.port}/v1/live`, { authorization: `Bearer ${TEST_TOKEN}` });
  await live.opened;
  const ticker = setInterval(() => s.api.emit({ type: 'decision', ts: Date.now(), campaignId: 'c1', action: 'skip', reasons: ['cap_global'], channel: null }), 5);

  const statuses = new Map<number | 'none', number>();
  const nonJsonErrors: string[] = [];
  try {
    let next = 0;
    const worker = async () => {
      while (next < REQUESTS) {
        const c = fuzzCase(rng, TEST_TOKEN);
        next++;
        const res = await rawRequest(s.port, c.parts, { gapMs: c.gapMs, destroyAfterWrite: c.destroyAfterWrite, timeoutMs: 400 });
        const key = res.status ?? 'none';
        statuses.set(key, (statuses.get(key) ?? 0) + 1);
        if (res.status !== undefined && res.status >= 400) {
          const head = res.text.slice(0, res.text.indexOf('\r\n\r\n'));
          if (!/content-type: application\/json/i.test(head)) nonJsonErrors.push(`${c.kind}: ${head.split('\r\n')[0] ?? ''}`);
        }
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  } finally {
    clearInterval(ticker);
  }
  console.log(`responses by status: ${JSON.stringify(Object.fromEntries(statuses))}`);

  // Still alive and answering, over HTTP and the live stream.
  const health = await fetch(`${s.base}/healthz`);
  assert.equal(health.status, 200);
  const ok = await fetch(`${s.base}/v1/users/u1`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
  assert.equal(ok.status, 404);
  const before = live.messages.length;
  s.api.emit({ type: 'decision', ts: Date.now(), campaignId: 'c2', action: 'send', reasons: [], channel: 'sms' });
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(live.messages.length > before, 'the live stream still flows');
  live.close();
  s.close();
  process.off('uncaughtException', onCrash);
  process.off('unhandledRejection', onCrash);

  assert.deepEqual(crashes, [], 'no uncaught exception or unhandled rejection');
  assert.deepEqual(nonJsonErrors, [], 'every error response is JSON');
  assert.ok((statuses.get(401) ?? 0) > 0 && (statuses.get(200) ?? 0) > 0 && (statuses.get(404) ?? 0) > 0, 'the mix reached real handlers');
});
