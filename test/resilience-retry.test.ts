import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { Agent } from 'undici';
import { startFcmFake } from '../bench/fakes/index.js';
import { pushIntent, smsIntent } from '../bench/fakes/intents.js';
import { FcmAccessTokens } from '../operators/sinks/providers/fcm-auth.js';
import { createFcmAdapter } from '../operators/sinks/providers/fcm.js';
import { failed, retry, sent, type ProviderResult, type Send } from '../operators/sinks/providers/provider.js';
import { backoffDelay, withRetry } from '../operators/sinks/resilience/retry.js';
import { realTimers, VirtualTimers } from '../operators/sinks/resilience/timers.js';

/** A send that answers from a script and counts its calls. */
function scripted(results: ProviderResult[]): Send & { calls: number } {
  const f = Object.assign(
    async (): Promise<ProviderResult> => {
      f.calls++;
      return results[Math.min(f.calls - 1, results.length - 1)] as ProviderResult;
    },
    { calls: 0 },
  );
  return f;
}

/** Runs a send on virtual time, advancing it until the send settles; returns the result and the time taken. */
async function onVirtualTime(timers: VirtualTimers, run: () => Promise<ProviderResult>): Promise<{ result: ProviderResult; elapsed: number }> {
  const start = timers.now();
  let done: ProviderResult | undefined;
  const p = run().then((r) => (done = r));
  for (let i = 0; i < 10_000 && done === undefined; i++) {
    await new Promise((r) => setImmediate(r));
    if (done === undefined && timers.pending > 0) timers.advance(1);
  }
  return { result: await p, elapsed: timers.now() - start };
}

test('retry: full jitter stays within [0, min(max, base·2^(n-1))], Retry-After is a floor', () => {
  const o = { baseDelayMs: 100, maxDelayMs: 1000 };
  assert.equal(backoffDelay(1, undefined, { ...o, random: () => 0.999 }), 99);
  assert.equal(backoffDelay(3, undefined, { ...o, random: () => 0.999 }), 399);
  assert.equal(backoffDelay(10, undefined, { ...o, random: () => 0.999 }), 999, 'capped');
  assert.equal(backoffDelay(1, undefined, { ...o, random: () => 0 }), 0, 'full jitter can be 0');
  assert.equal(backoffDelay(1, 5000, { ...o, random: () => 0.5 }), 5000, 'the provider asked for 5 s');
});

test('retry: retries retry results until sent, waiting the backoff', async () => {
  const timers = new VirtualTimers();
  const send = scripted([retry('20500', 'boom'), retry('20500', 'boom'), sent('SM1')]);
  const delays: Array<number | undefined> = [];
  const wrapped = withRetry(send, { timers, baseDelayMs: 100, random: () => 0.5, onAttempt: (a) => delays.push(a.nextDelayMs) });
  const { result, elapsed } = await onVirtualTime(timers, () => wrapped(smsIntent('+15550001111')));
  assert.deepEqual(result, sent('SM1'));
  assert.equal(send.calls, 3);
  assert.deepEqual(delays, [50, 100, undefined]);
  assert.equal(elapsed, 150);
});

test('retry: never on permanent failures or programming errors', async () => {
  const timers = new VirtualTimers();
  const perm = scripted([failed('21610', 'unsubscribed', 'withdraw_consent')]);
  assert.equal((await withRetry(perm, { timers })(smsIntent('+15550001112'))).status, 'failed');
  assert.equal(perm.calls, 1);
  let calls = 0;
  const buggy: Send = async () => {
    calls++;
    throw new TypeError('intent has no sms content');
  };
  await assert.rejects(withRetry(buggy, { timers })(smsIntent('+15550001113')), TypeError);
  assert.equal(calls, 1);
});

test('retry: stops at maxAttempts, past the window, beyond maxWaitMs, and on ambiguous results', async () => {
  const timers = new VirtualTimers();
  const always = scripted([retry('503', 'down')]);
  const r = await onVirtualTime(timers, () => withRetry(always, { timers, maxAttempts: 3, random: () => 0 })(smsIntent('+15550001114')));
  assert.equal(r.result.status, 'retry');
  assert.equal(always.calls, 3);

  const quota = scripted([retry('QUOTA_EXCEEDED', 'quota', { throttled: true, retryAfterMs: 60_000 })]);
  const q = await withRetry(quota, { timers, maxWaitMs: 30_000 })(pushIntent('fcm', 't'));
  assert.equal(q.status === 'retry' && q.retryAfterMs, 60_000, 'handed back for a durable timer');
  assert.equal(quota.calls, 1);

  const late = scripted([retry('503', 'down', { retryAfterMs: 5000 })]);
  await withRetry(late, { timers })(smsIntent('+15550001115', 'x', { expiresAt: timers.now() + 1000 }));
  assert.equal(late.calls, 1, 'the wait would outlive the intent');

  const amb = scripted([retry('transport:UND_ERR_HEADERS_TIMEOUT', 'timeout', { ambiguous: true }), sent('x')]);
  assert.equal((await withRetry(amb, { timers })(smsIntent('+15550001116'))).status, 'retry');
  assert.equal(amb.calls, 1, 'may already be delivered: not resent by default');
  const ambOk = scripted([retry('transport:UND_ERR_HEADERS_TIMEOUT', 'timeout', { ambiguous: true }), sent('x')]);
  const ok = await onVirtualTime(timers, () => withRetry(ambOk, { timers, retryAmbiguous: true, random: () => 0 })(smsIntent('+15550001117')));
  assert.equal(ok.result.status, 'sent');
});

test('retry: honours Retry-After from a real 503 (FCM UNAVAILABLE, Retry-After: 2)', async () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const email = 'sa@p.iam.gserviceaccount.com';
  const fcm = await startFcmFake({ projectId: 'p', clientEmail: email, publicKey });
  const agent = new Agent();
  try {
    const auth = new FcmAccessTokens({ serviceAccount: { client_email: email, private_key: privateKey, token_uri: fcm.tokenUrl }, dispatcher: agent, now: Date.now });
    const adapter = createFcmAdapter({ baseUrl: fcm.server.url, projectId: 'p', auth, dispatcher: agent, now: Date.now });
    fcm.server.failRecipient('tok', 'unavailable');
    const attempts: Array<{ at: number; status: string }> = [];
    const send = withRetry((i, s) => adapter.send(i, s), {
      timers: realTimers,
      baseDelayMs: 10,
      onAttempt: (a) => {
        attempts.push({ at: Date.now(), status: a.result.status });
        // The provider recovers after the first answer.
        fcm.server.failRecipient('tok', null);
      },
    });
    const r = await send(pushIntent('fcm', 'tok'));
    assert.equal(r.status, 'sent');
    assert.equal(attempts.length, 2);
    const waited = (attempts[1]?.at ?? 0) - (attempts[0]?.at ?? 0);
    assert.ok(waited >= 2000, `waited ${waited} ms, Retry-After said 2 s (the 10 ms backoff alone would not)`);
    assert.equal(fcm.server.stats.sends, 2);
    assert.equal(fcm.server.countFor('tok'), 1);
  } finally {
    await fcm.server.close();
    await agent.close();
  }
});
