import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'undici';
import { startTwilioFake } from '../bench/fakes/index.js';
import { smsIntent } from '../bench/fakes/intents.js';
import type { SendIntent } from '../operators/sinks/dispatcher.js';
import { createTwilioAdapter } from '../operators/sinks/providers/twilio.js';
import { BoundedQueue } from '../operators/sinks/resilience/bounded-queue.js';

const SID = `AC${'d4'.repeat(16)}`;

test('bounded queue: a slow provider pauses the producer instead of growing memory', async () => {
  const fake = await startTwilioFake({ accountSid: SID, authToken: 'tok' });
  const agent = new Agent({ connections: 8 });
  try {
    // 100 ms per send and 8 at a time: 80/s, far slower than the producer.
    fake.setFaults({ latencyMs: 100 });
    const adapter = createTwilioAdapter({ baseUrl: fake.url, accountSid: SID, authToken: 'tok', from: '+15005550006', dispatcher: agent, now: Date.now });
    let sentCount = 0;
    const q = new BoundedQueue<SendIntent>({
      capacity: 50,
      concurrency: 8,
      lowWater: 10,
      worker: async (intent) => {
        if ((await adapter.send(intent)).status === 'sent') sentCount++;
      },
      onError: (err) => assert.fail(String(err)),
    });
    let fulls = 0;
    let drains = 0;
    let paused = false;
    let resume: (() => void) | undefined;
    q.onFull(() => {
      fulls++;
      paused = true;
    });
    q.onDrained(() => {
      drains++;
      paused = false;
      resume?.();
    });
    const heapBefore = process.memoryUsage().heapUsed;
    // The runtime's loop: push records until told to pause, wait for drained, go on.
    for (let i = 0; i < 240; i++) {
      if (paused) await new Promise<void>((r) => (resume = r));
      q.push(smsIntent(`+1555100${String(i).padStart(4, '0')}`));
      assert.ok(q.size <= 50);
    }
    assert.throws(() => {
      while (!q.isFull) q.push(smsIntent('+15551999999'));
      q.push(smsIntent('+15551999998'));
    }, RangeError, 'pushing past full is refused');
    await q.idle();
    assert.ok(fulls >= 3, `full fired ${fulls} times`);
    assert.ok(drains >= 3, `drained fired ${drains} times`);
    assert.equal(q.highWater, 50, 'never above capacity');
    assert.equal(sentCount, fake.stats.accepted);
    for (let i = 0; i < 240; i++) assert.equal(fake.countFor(`+1555100${String(i).padStart(4, '0')}`), 1);
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    assert.ok(heapGrowth < 64 * 1024 * 1024, `heap grew ${heapGrowth} bytes`);
  } finally {
    await agent.close();
    await fake.close();
  }
});

test('bounded queue: put() waits for room; concurrency is respected', async () => {
  let running = 0;
  let maxRunning = 0;
  const q = new BoundedQueue<number>({
    capacity: 5,
    concurrency: 2,
    worker: async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
    },
    onError: () => undefined,
  });
  for (let i = 0; i < 40; i++) await q.put(i);
  await q.close();
  assert.equal(maxRunning, 2);
  assert.equal(q.highWater, 5);
  assert.throws(() => q.push(1), /closed/);
});

test('bounded queue: a worker that throws reports to onError and frees its slot', async () => {
  const errors: unknown[] = [];
  const q = new BoundedQueue<number>({ capacity: 3, concurrency: 1, worker: async (n) => { if (n % 2 === 0) throw new Error(`bad ${n}`); }, onError: (e) => errors.push(e) });
  for (let i = 0; i < 10; i++) await q.put(i);
  await q.idle();
  assert.equal(errors.length, 5);
  assert.equal(q.size, 0);
});
