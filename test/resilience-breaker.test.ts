import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'undici';
import { startTwilioFake } from '../bench/fakes/index.js';
import { smsIntent } from '../bench/fakes/intents.js';
import { createTwilioAdapter } from '../operators/sinks/providers/twilio.js';
import { failed, retry, sent } from '../operators/sinks/providers/provider.js';
import { CircuitBreaker, withBreaker, type BreakerState, type Permit } from '../operators/sinks/resilience/circuit-breaker.js';
import { realTimers, VirtualTimers } from '../operators/sinks/resilience/timers.js';

const down = retry('20503', 'Service Unavailable');

/** A permit that must be granted. */
function permit(b: CircuitBreaker): Permit {
  const p = b.acquire();
  assert.ok(p !== undefined, 'breaker refused the call');
  return p;
}

test('breaker: consecutive failures open it; cool-down, probes, close', () => {
  const timers = new VirtualTimers(0);
  const states: BreakerState[] = [];
  const b = new CircuitBreaker({ timers, consecutiveFailures: 3, coolDownMs: 1000, halfOpenProbes: 2, onStateChange: (s) => states.push(s) });
  for (let i = 0; i < 3; i++) b.record(permit(b), down, 5);
  assert.equal(b.state, 'open');
  assert.equal(b.acquire(), undefined);
  assert.equal(b.retryInMs, 1000);
  timers.advance(1000);
  assert.equal(b.state, 'half_open');
  const p1 = permit(b);
  const p2 = permit(b);
  assert.deepEqual([p1.kind, p2.kind, b.acquire()], ['probe', 'probe', undefined], 'two probes at most');
  b.record(p1, sent('x'), 5);
  b.record(p2, sent('y'), 5);
  assert.equal(b.state, 'closed');
  assert.deepEqual(states, ['open', 'half_open', 'closed']);
});

test('breaker: a failing probe reopens it', () => {
  const timers = new VirtualTimers(0);
  const b = new CircuitBreaker({ timers, consecutiveFailures: 1, coolDownMs: 500 });
  b.record(permit(b), down, 1);
  timers.advance(500);
  const probe = permit(b);
  const stale = permit(b);
  assert.equal(probe.kind, 'probe');
  b.record(probe, down, 1);
  assert.equal(b.state, 'open');
  assert.equal(b.retryInMs, 500);
  // The other probe of that cycle answers late, in the next half-open: it does not vote.
  timers.advance(500);
  assert.equal(b.state, 'half_open');
  b.record(stale, sent('late'), 1);
  b.record(stale, sent('late'), 1);
  b.record(stale, sent('late'), 1);
  assert.equal(b.state, 'half_open');
});

test('breaker: the failure rate over the window opens it; throttling and permanent failures do not count', () => {
  const timers = new VirtualTimers(0);
  const b = new CircuitBreaker({ timers, windowMs: 10_000, minCalls: 20, failureRate: 0.5, consecutiveFailures: 100 });
  for (let i = 0; i < 50; i++) {
    b.record(permit(b), retry('20429', 'throttled', { throttled: true }), 1);
    b.record(permit(b), failed('21211', 'invalid number', 'invalid_number'), 1);
  }
  assert.equal(b.state, 'closed');
  // Alternating: never 2 in a row, but half of the calls.
  for (let i = 0; i < 4; i++) {
    b.record(permit(b), down, 1);
    b.record(permit(b), sent('x'), 1);
  }
  assert.equal(b.state, 'closed', 'under the failure share: 4 of 108');
  timers.advance(11_000);
  for (let i = 0; i < 10; i++) {
    b.record(permit(b), down, 1);
    assert.equal(b.state, 'closed');
    b.record(permit(b), sent('x'), 1);
  }
  assert.equal(b.state, 'open', 'old calls slid out of the window; 10 of 20 failed');
});

test('breaker: slow calls count as failures', () => {
  const timers = new VirtualTimers(0);
  const b = new CircuitBreaker({ timers, slowCallMs: 1000, consecutiveFailures: 3 });
  for (let i = 0; i < 3; i++) b.record(permit(b), sent('x'), 2500);
  assert.equal(b.state, 'open');
});

for (const mode of ['refuse', 'unavailable'] as const) {
  test(`breaker: opens on a real outage (${mode}), half-opens and closes when the fake recovers`, async () => {
    const SID = `AC${'c3'.repeat(16)}`;
    const fake = await startTwilioFake({ accountSid: SID, authToken: 'tok' });
    const agent = new Agent();
    try {
      const adapter = createTwilioAdapter({ baseUrl: fake.url, accountSid: SID, authToken: 'tok', from: '+15005550006', dispatcher: agent, now: Date.now, timeoutMs: 2000 });
      const breaker = new CircuitBreaker({ timers: realTimers, consecutiveFailures: 5, coolDownMs: 300, halfOpenProbes: 2 });
      const send = withBreaker((i, s) => adapter.send(i, s), breaker, realTimers);
      assert.equal((await send(smsIntent('+15550002000'))).status, 'sent');
      fake.outage(mode);
      const codes: string[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await send(smsIntent(`+1555000210${i}`));
        codes.push(r.status === 'retry' ? r.code : r.status);
      }
      assert.equal(breaker.state, 'open', codes.join(','));
      const requests = fake.stats.requests;
      const r = await send(smsIntent('+15550002200'));
      assert.deepEqual(r.status === 'retry' && r.code, 'circuit_open');
      assert.equal(fake.stats.requests, requests, 'an open breaker sends nothing');
      // Still down when it half-opens: the probe fails and it opens again.
      await new Promise((res) => setTimeout(res, 320));
      assert.equal(breaker.state, 'half_open');
      await send(smsIntent('+15550002201'));
      assert.equal(breaker.state, 'open');
      fake.recover();
      await new Promise((res) => setTimeout(res, 320));
      assert.equal(breaker.state, 'half_open');
      assert.equal((await send(smsIntent('+15550002202'))).status, 'sent');
      assert.equal((await send(smsIntent('+15550002203'))).status, 'sent');
      assert.equal(breaker.state, 'closed');
      assert.equal(fake.countFor('+15550002202'), 1);
    } finally {
      await agent.close();
      await fake.close();
    }
  });
}
