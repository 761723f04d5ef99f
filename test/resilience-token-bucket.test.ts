import { test } from 'node:test';
import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { TokenBucket } from '../operators/sinks/resilience/token-bucket.js';
import { realTimers, VirtualTimers } from '../operators/sinks/resilience/timers.js';
import { passesInOneOf } from './support/wait.js';

test('token bucket: virtual time, 10/s without burst, one token every 100 ms in FIFO order', async () => {
  const timers = new VirtualTimers(0);
  const b = new TokenBucket({ ratePerSec: 10, burst: 1, timers });
  const at: number[] = [];
  const order: number[] = [];
  const all = Array.from({ length: 20 }, (_, i) =>
    b.take().then(() => {
      at.push(timers.now());
      order.push(i);
    }),
  );
  for (let t = 0; t < 2000; t += 10) {
    await new Promise((r) => setImmediate(r));
    timers.advance(10);
  }
  await Promise.all(all);
  assert.deepEqual(at, Array.from({ length: 20 }, (_, i) => i * 100));
  assert.deepEqual(order, Array.from({ length: 20 }, (_, i) => i));
});

test('token bucket: burst lets idle capacity out at once, then the rate holds', () => {
  const timers = new VirtualTimers(0);
  const b = new TokenBucket({ ratePerSec: 100, burst: 5, timers });
  let n = 0;
  while (b.tryTake()) n++;
  assert.equal(n, 5);
  timers.advance(1000);
  n = 0;
  while (b.tryTake()) n++;
  assert.equal(n, 5, 'a second idle earns no more than the burst');
  timers.advance(30);
  n = 0;
  while (b.tryTake()) n++;
  assert.equal(n, 3);
});

test('token bucket: setRate applies from now; abort and maxWaiters reject', async () => {
  const timers = new VirtualTimers(0);
  const b = new TokenBucket({ ratePerSec: 1, burst: 1, timers, maxWaiters: 2 });
  assert.ok(b.tryTake());
  const ac = new AbortController();
  const w1 = b.take();
  const w2 = b.take(ac.signal);
  await assert.rejects(b.take(), RangeError);
  ac.abort(new Error('revoked'));
  await assert.rejects(w2, /revoked/);
  b.setRate(100);
  timers.advance(10);
  await w1;
  assert.equal(timers.now(), 10, 'served at the new rate');
});

for (const rate of [200, 2000]) {
  test(`token bucket: rate accuracy on real timers at ${rate}/s (±5%)`, async () => {
    // Real time on a shared machine: a stalled event loop loses the time it stalls (a bucket of
    // burst 1 does not catch up, by design), so up to five runs, each judged in full; a wrong
    // bucket fails them all, and every run's figure is reported (1807/s for 2000/s once).
    await passesInOneOf(5, async () => {
      const b = new TokenBucket({ ratePerSec: rate, burst: 1, timers: realTimers });
      b.tryTake();
      const n = rate * 2;
      const lag = monitorEventLoopDelay({ resolution: 10 });
      lag.enable();
      const start = performance.now();
      // Many concurrent takers, as sends are: the bucket, not the callers, sets the pace.
      await Promise.all(Array.from({ length: n }, () => b.take()));
      const seconds = (performance.now() - start) / 1000;
      lag.disable();
      const achieved = n / seconds;
      if (Math.abs(achieved - rate) / rate <= 0.05) return undefined;
      return `achieved ${achieved.toFixed(1)}/s for ${rate}/s (event-loop delay max ${(lag.max / 1e6).toFixed(0)} ms)`;
    });
  });
}
