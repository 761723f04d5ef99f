import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchEligibility, benchEligibilityWithReference } from '../http/bench-eligibility.js';
import { startTestServer, TEST_TOKEN } from './support/http-client.js';

test('benchEligibility: a fixed rate from a second process, with the trivial reference in the same run', { timeout: 60_000 }, async () => {
  const s = await startTestServer({ maxBodyBytes: 4096 });
  try {
    let n = 0;
    const { target, reference } = await benchEligibilityWithReference({
      url: s.base,
      token: TEST_TOKEN,
      rate: 200,
      seconds: 2,
      bodies: () => JSON.stringify({ userId: `u${n++}`, campaignId: 'c7' }),
    });
    console.log(`target ${JSON.stringify(target)}\nreference ${JSON.stringify(reference)}`);
    // The rate is a cap: a stalled machine completes fewer (125/s for 200 once, p99 394 ms), never more.
    for (const r of [target, reference]) {
      assert.equal(r.errors, 0);
      assert.ok(r.rps > 60 && r.rps < 280, `rps ${r.rps} near the fixed rate`);
      assert.ok(r.p50 <= r.p90 && r.p90 <= r.p99);
    }
    // The bodies reached the replica, cycled from the pool: as many as the load generator completed.
    assert.ok(s.api.calls.eligibility.length >= Math.floor(target.rps * 2 * 0.9), `${s.api.calls.eligibility.length} calls at ${target.rps}/s for 2 s`);
    assert.match(s.api.calls.eligibility[0]?.userId ?? '', /^u\d+$/);
  } finally {
    s.close();
  }
});

test('benchEligibility counts refused requests as errors', { timeout: 30_000 }, async () => {
  const s = await startTestServer();
  try {
    const r = await benchEligibility({ url: `${s.base}/v1/eligibility`, token: 'wrong', rate: 50, seconds: 1, bodies: () => '{"userId":"u1","campaignId":"c1"}' });
    assert.ok(r.errors > 0);
    assert.equal(s.api.calls.eligibility.length, 0);
  } finally {
    s.close();
  }
});
